//! Reach's integrations: the plugins that consume the event outbox after commit — email
//! notifications through lettre and the communication-platform sync. The plugin trait, the
//! registry and both plugins arrive with their issues; the outbox they read is already written
//! by every state change (see `api::service::outbox`).
