//! Reach's integrations: the plugins that consume the event outbox after commit — email
//! notifications through lettre — and the connectors the communication-platform sync (in `api`)
//! talks to its platform through.
//!
//! [`PluginHost`] runs every plugin switched on in `[plugins]`: each receives the committed
//! events from its own place in the log (kept in `plugin_cursor`, so a restart resumes where it
//! stopped, and leased, so several processes never feed one plugin the same event at once), and
//! each may run background jobs. A plugin that fails retries its event with backoff without
//! holding up the others or the API.

pub mod email;
pub mod host;
pub mod log;
pub mod outbound;
pub mod platform;
pub mod settings;
pub mod trace_context;

pub use host::{JobContext, Plugin, PluginError, PluginHost, RunningPlugins, Wake};
pub use settings::{EmailSettings, PlatformSettings, PluginSettings, WebhookSettings};
