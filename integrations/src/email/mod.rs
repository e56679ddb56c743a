//! The email plugin (SPEC M6, E2): delivers the notifications a settings change queues, one
//! message per recipient, through a small pool of SMTP connections Reach opens itself with
//! `TCP_NODELAY` (`smtp`).
//!
//! Each worker task claims a few due deliveries (a lease in its own name), checks before each
//! send that the lease is still its own (the claim's lease while it clearly lasts, else in the
//! database, extending it), sends within `timeout_ms`, and settles each: `SENT` (the batch's
//! sends in one statement when the batch ends, so a process killed mid-batch re-sends at most
//! its batch, every message under its unchanged `Message-ID`);
//! `RETRYING` with exponential backoff and jitter after a temporary failure (4xx) until
//! `max_attempts`; `FAILED` with the server's answer after a permanent one (5xx for the
//! message). A server that cannot be reached, times out or refuses the session (auth, 421) is
//! not the message's fault: the row goes back to `RETRYING` without spending a try, and the
//! worker pauses with a growing backoff, so an outage of any length loses nothing. Every try of a delivery carries the same `Message-ID`, so a
//! message sent twice (the process died between the server's answer and the settle) is one
//! message to the receiving side. Without an SMTP URL the plugin sends nothing and the rows stay
//! `PENDING` until one is configured.
//!
//! A delivery task's loop is in `worker`, and one delivery (render, send, outcome) in `deliver`.

mod deliver;
pub mod observe;
pub mod queue;
pub mod render;
pub mod send;
pub mod smtp;
mod worker;

use std::sync::Arc;

use entity::event::{Event, Logged};
use lettre::message::Mailbox;
use tokio::sync::watch;

use crate::{
    host::{Job, JobContext, Plugin, PluginError},
    settings::EmailSettings,
};
use observe::EmailObserver;
use render::Templates;
use send::Transport;
use worker::Worker;

/// The email plugin.
pub struct EmailPlugin {
    settings: EmailSettings,
    from: Mailbox,
    domain: String,
    templates: Templates,
    /// `None`: no SMTP URL, mail stays queued.
    transport: Option<(Transport, String)>,
    /// Raised when an event says there is mail to send.
    kick: watch::Sender<u64>,
    /// Told of every SMTP send (`api`'s metrics); observes nothing unless [`Self::observed`].
    observer: Arc<dyn EmailObserver>,
}

/// A bad `[plugins.email]` setting: its key and what is wrong.
pub type Invalid = (String, String);

impl EmailPlugin {
    /// Builds the plugin, checking what needs more than a glance: the sender, the templates and
    /// the SMTP URL (`smtp_url`, shown in the summary without its credentials).
    pub fn build(settings: &EmailSettings, smtp_url: Option<&str>) -> Result<Self, Invalid> {
        let bad = |key: &str, reason: String| (key.to_owned(), reason);
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| bad("plugins.email.from", format!("not an address: {e}")))?;
        let templates =
            Templates::load(settings.templates_dir.as_deref()).map_err(|e| bad("plugins.email.templates_dir", e))?;
        let transport = match smtp_url {
            Some(url) => Some((
                send::transport(url, settings).map_err(|e| bad("smtp_url", e))?,
                redact(url),
            )),
            None => None,
        };
        Ok(Self {
            settings: settings.clone(),
            domain: send::message_id_domain(&from),
            from,
            templates,
            transport,
            kick: watch::channel(0).0,
            observer: Arc::new(observe::Unobserved),
        })
    }

    /// The plugin, telling `observer` of every SMTP send it makes.
    #[must_use]
    pub fn observed(mut self, observer: Arc<dyn EmailObserver>) -> Self {
        self.observer = observer;
        self
    }
}

/// The URL without its user and password.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit_once('@').map_or(rest, |(_, host)| host)),
        None => url.to_owned(),
    }
}

#[async_trait::async_trait]
impl Plugin for EmailPlugin {
    fn name(&self) -> &'static str {
        "email"
    }

    fn summary(&self) -> String {
        match &self.transport {
            Some((_, url)) => format!(
                "sending through {url} (tls {:?}, {} workers, timeout {} ms)",
                self.settings.tls_mode(url),
                self.settings.workers,
                self.settings.timeout_ms
            ),
            None => "holding mail as PENDING: REACH_SMTP_URL is not set".into(),
        }
    }

    async fn handle(&self, event: &Logged) -> Result<(), PluginError> {
        // Mail is queued by these two; every other event sends nothing.
        if matches!(
            event.event,
            Event::MobilityNotificationQueued(_) | Event::NotificationRetryRequested(_)
        ) {
            self.kick.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(())
    }

    fn jobs(self: Arc<Self>, ctx: JobContext) -> Vec<Job> {
        if self.transport.is_none() {
            return Vec::new();
        }
        (0..self.settings.workers)
            .map(|i| {
                // Each task leases in its own name, so no task can settle or free another's claim.
                let owner = format!("{}/email-{i}", ctx.owner);
                let worker = Worker {
                    plugin: self.clone(),
                    ctx: ctx.clone(),
                    owner,
                };
                Box::pin(worker.run()) as Job
            })
            .collect()
    }
}
