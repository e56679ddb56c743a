//! Events and what follows them: the outbox, the typed event model, plugins and live
//! subscriptions.

mod events;
mod outbox;
mod plugins;
mod subscriptions;
mod subscriptions_process;
