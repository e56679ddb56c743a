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

pub mod queue;
pub mod render;
pub mod send;
pub mod smtp;

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entity::{
    event::{Event, Logged},
    notification_delivery,
};
use lettre::message::Mailbox;
use sea_orm::DbErr;
use tokio::sync::watch;

use crate::{
    host::{Job, JobContext, Plugin, PluginError},
    settings::EmailSettings,
};
use queue::Outcome;
use render::{ChangeLine, SettingsChanged, Templates};
use send::{Failure, Transport};

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
        })
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

/// One delivery task.
struct Worker {
    plugin: Arc<EmailPlugin>,
    ctx: JobContext,
    owner: String,
}

impl Worker {
    async fn run(self) {
        let s = &self.plugin.settings;
        let poll = self.ctx.poll;
        // Woken by the plugin's feed when an event says mail is queued (not by every commit:
        // a claim is a write), and by the poll for retries coming due.
        let mut kicked = self.plugin.kick.subscribe();
        let mut unreachable: u32 = 0;
        loop {
            kicked.borrow_and_update();
            let pause = match self.round().await {
                Ok(Round::Worked) => {
                    unreachable = 0;
                    continue;
                }
                Ok(Round::Idle) => {
                    if let Some((transport, _)) = &self.plugin.transport {
                        transport.close_idle().await;
                    }
                    poll
                }
                Ok(Round::Unreachable) => {
                    unreachable = unreachable.saturating_add(1);
                    backoff(s, unreachable)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "email: cannot read the delivery queue");
                    poll
                }
            };
            tokio::select! {
                () = self.ctx.stop.cancelled() => break,
                _ = kicked.changed() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims a batch and sends it; stops early when the server cannot be reached.
    async fn round(&self) -> Result<Round, DbErr> {
        let s = &self.plugin.settings;
        let db = &self.ctx.db;
        let owner = &self.owner;
        let lease = Duration::from_secs(s.lease_seconds);
        let budget = Duration::from_millis(s.timeout_ms);
        let rows = queue::claim(db, owner, s.batch_size, lease).await?;
        if rows.is_empty() {
            return Ok(Round::Idle);
        }
        let context = queue::context(db, &rows).await?;
        // The batch's sends, recorded together when it ends (or stops early): a crash before
        // that re-sends them, each under its own unchanged Message-ID.
        let mut sent: Vec<(uuid::Uuid, String)> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if self.ctx.stop.is_cancelled() {
                self.settle_sent(&sent).await?;
                queue::release(db, owner, rows[i..].iter().map(|r| r.id).collect()).await?;
                return Ok(Round::Worked);
            }
            // Still ours? (A stalled round may have outlived its lease; then another worker
            // has the row and this one must not send it too.) While the claim's own lease
            // outlasts the send's budget with half a lease to spare for the settle, nobody can
            // have taken the row (a claim needs an expired lease), so the check is a statement
            // per mail saved; past that the lease is checked and extended in the database.
            if !queue::covers(row, budget, lease) && !queue::touch(db, owner, row.id, lease).await? {
                tracing::warn!(delivery = %row.id, "email: lease lost before sending; left to its new holder");
                continue;
            }
            let message_id = row
                .message_id
                .clone()
                .unwrap_or_else(|| format!("{}@{}", row.id.simple(), self.plugin.domain));
            let (outcome, unreachable) = self.deliver(row, &context, &message_id).await;
            log(row, &outcome);
            match outcome {
                Outcome::Sent => sent.push((row.id, message_id)),
                other => self.settle(row, &message_id, other).await?,
            }
            if unreachable {
                self.settle_sent(&sent).await?;
                queue::release(db, owner, rows[i + 1..].iter().map(|r| r.id).collect()).await?;
                return Ok(Round::Unreachable);
            }
        }
        self.settle_sent(&sent).await?;
        Ok(Round::Worked)
    }

    /// Records a batch's sends, trying a few times as [`Self::settle`] does.
    async fn settle_sent(&self, sent: &[(uuid::Uuid, String)]) -> Result<(), DbErr> {
        let done = retrying(|| queue::settle_sent(&self.ctx.db, &self.owner, sent)).await?;
        for (id, _) in sent.iter().filter(|(id, _)| !done.contains(id)) {
            tracing::warn!(delivery = %id, "email: lease lost before the outcome was recorded");
        }
        Ok(())
    }

    /// Records an outcome, trying a few times: after a send, a lost settle means a second copy.
    async fn settle(
        &self,
        row: &notification_delivery::Model,
        message_id: &str,
        outcome: Outcome,
    ) -> Result<(), DbErr> {
        let kept = retrying(|| queue::settle(&self.ctx.db, &self.owner, row, message_id, outcome.clone())).await?;
        if !kept {
            tracing::warn!(delivery = %row.id, "email: lease lost before the outcome was recorded");
        }
        Ok(())
    }

    /// Renders and sends one delivery: its outcome, and whether the server was unreachable.
    async fn deliver(
        &self,
        row: &notification_delivery::Model,
        context: &queue::Context,
        message_id: &str,
    ) -> (Outcome, bool) {
        let p = &self.plugin;
        let (Some((transport, _)), Some(notification)) =
            (&p.transport, context.notifications.get(&row.notification_id))
        else {
            return (failed("the notification is gone"), false);
        };
        let Some(address) = row.email.as_deref().and_then(|a| a.parse().ok()) else {
            return (failed("the recipient has no valid address"), false);
        };
        let name = context.users.get(&row.user_id).cloned().unwrap_or_default();
        let mail = SettingsChanged {
            product: p.settings.product_name.clone(),
            account: context
                .accounts
                .get(&notification.account_id)
                .cloned()
                .unwrap_or_default(),
            recipient: name.clone(),
            changed_by: actor_name(&notification.created_by, context),
            changed_at: notification.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            changes: change_lines(&notification.changes),
        };
        let message = p
            .templates
            .render(&mail)
            .and_then(|r| send::message(&p.from, Mailbox::new(Some(name), address), message_id, &r));
        let message = match message {
            Ok(m) => m,
            Err(e) => return (failed(&e), false),
        };
        match send::send(transport, message, Duration::from_millis(p.settings.timeout_ms)).await {
            Ok(()) => (Outcome::Sent, false),
            Err(Failure::Permanent(e)) => (failed(&e), false),
            Err(Failure::Temporary(e)) => (self.retry(row, e), false),
            Err(Failure::Unreachable(error)) => {
                // Not this message's fault: it keeps its tries; the worker pauses.
                let at = Utc::now() + backoff(&p.settings, 1);
                (Outcome::Deferred { error, at }, true)
            }
        }
    }

    fn retry(&self, row: &notification_delivery::Model, error: String) -> Outcome {
        let s = &self.plugin.settings;
        let attempt = row.attempts.saturating_add(1);
        if attempt >= s.max_attempts {
            return Outcome::Failed {
                error: format!("gave up after {attempt} tries: {error}"),
            };
        }
        let wait = backoff(s, u32::try_from(attempt).unwrap_or(u32::MAX));
        Outcome::Retry {
            error,
            at: Utc::now() + wait,
        }
    }
}

/// Runs a settle, trying up to five times with a growing pause: the mail went out, so giving up
/// on recording it means sending it again later.
async fn retrying<T, F: std::future::Future<Output = Result<T, DbErr>>>(
    mut settle: impl FnMut() -> F,
) -> Result<T, DbErr> {
    let mut tries = 0;
    loop {
        match settle().await {
            Err(_) if tries < 4 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            done => return done,
        }
    }
}

enum Round {
    /// Sent (or settled) a batch; look for more at once.
    Worked,
    /// Nothing due.
    Idle,
    /// The server could not be reached; wait before the next batch.
    Unreachable,
}

/// Logs a failed try: only the kind of failure, as a server's full answer may quote the address.
fn log(row: &notification_delivery::Model, outcome: &Outcome) {
    match outcome {
        Outcome::Failed { error } => {
            tracing::warn!(delivery = %row.id, attempt = row.attempts + 1, error = gist(error), "email: delivery failed for good");
        }
        Outcome::Retry { error, at } | Outcome::Deferred { error, at } => {
            tracing::info!(delivery = %row.id, error = gist(error), retry_at = %at, "email: delivery will be retried");
        }
        Outcome::Sent => {}
    }
}

/// The head of an error (`permanent error (550)`, `Connection error`), without the server's text.
fn gist(error: &str) -> &str {
    error.split(':').next().unwrap_or_default()
}

fn failed(error: &str) -> Outcome {
    Outcome::Failed {
        error: error.to_owned(),
    }
}

/// The wait before try `n + 1`: `backoff_initial_ms` doubling per try, up to `backoff_max_ms`,
/// plus up to as much again of jitter.
fn backoff(s: &EmailSettings, n: u32) -> Duration {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(s.backoff_initial_ms))
        .with_max_delay(Duration::from_millis(s.backoff_max_ms))
        .with_jitter()
        .without_max_times()
        .build()
        .nth(n.saturating_sub(1) as usize)
        .unwrap_or(Duration::from_millis(s.backoff_max_ms))
}

/// `Support (name)` for Support, the user's name for a user, else "an administrator".
fn actor_name(actor: &str, context: &queue::Context) -> String {
    if let Some(name) = actor.strip_prefix("support:") {
        return format!("Support ({name})");
    }
    actor
        .strip_prefix("user:")
        .and_then(|id| id.parse().ok())
        .and_then(|id| context.users.get(&id).cloned())
        .unwrap_or_else(|| "an administrator".into())
}

fn change_lines(changes: &serde_json::Value) -> Vec<ChangeLine> {
    let value = |v: &serde_json::Value| v.as_str().map_or_else(|| "(none)".to_owned(), str::to_owned);
    changes
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| ChangeLine {
            label: render::label(c["field"].as_str().unwrap_or_default()).to_owned(),
            old: value(&c["old"]),
            new: value(&c["new"]),
        })
        .collect()
}
