//! One delivery: the mail built from the batch's context and rendered, sent within the budget,
//! and its outcome (sent, retry later, deferred because the server was unreachable, or failed).

use std::time::Duration;

use chrono::Utc;
use entity::notification_delivery;
use lettre::message::Mailbox;
use tracing::Instrument;

use super::{
    queue::{self, Outcome},
    render::{self, ChangeLine, SettingsChanged},
    send::{self, Failure},
    worker::Worker,
};
use crate::settings::EmailSettings;

impl Worker {
    /// Renders and sends one delivery: its outcome, and whether the server was unreachable.
    pub(super) async fn deliver(
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
        let budget = Duration::from_millis(p.settings.timeout_ms);
        let span = send_span(notification.traceparent.as_deref(), row);
        let sent = send::send(transport, message, budget, p.observer.as_ref()).instrument(span);
        match sent.await {
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

/// The span of one SMTP send, when spans are exported: a child of the request that queued the
/// notification. It names the delivery, never the address.
fn send_span(traceparent: Option<&str>, row: &notification_delivery::Model) -> tracing::Span {
    if !crate::trace_context::exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "email send",
        otel.kind = "client",
        reach.delivery.id = %row.id,
        reach.delivery.attempt = row.attempts + 1,
    );
    crate::trace_context::follow(&span, traceparent);
    span
}

fn failed(error: &str) -> Outcome {
    Outcome::Failed {
        error: error.to_owned(),
    }
}

/// The wait before try `n + 1`: `backoff_initial_ms` doubling per try, up to `backoff_max_ms`,
/// plus up to as much again of jitter.
pub(super) fn backoff(s: &EmailSettings, n: u32) -> Duration {
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
