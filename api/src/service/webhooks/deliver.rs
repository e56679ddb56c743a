//! Attempting webhook deliveries: a worker claims the first pending delivery of an endpoint
//! that is due (a lease, so one process at a time attempts it, and the endpoint's later
//! deliveries wait behind it: in order per endpoint), posts it signed, and settles it.
//!
//! - 2xx: `SUCCEEDED`.
//! - A network error, a timeout, 5xx or 429: attempted again after a backoff that doubles per
//!   attempt, with jitter (a 429's or 503's `Retry-After`, in seconds, is honoured up to the
//!   longest backoff).
//! - A redirect (never followed), 410 (the endpoint is then switched off) or another 4xx, or a
//!   destination the settings refuse: `FAILED`, and the next delivery goes.
//! - An endpoint whose deliveries have failed for `disable_after_hours` is switched off, with the
//!   reason its admins see.
//!
//! A process killed mid-attempt leaves the lease to run out; the delivery is then attempted
//! again under the same `webhook-id` (at least once).

use std::time::{Duration, Instant};

use chrono::Utc;
use entity::{WebhookDeliveryState, webhook_delivery, webhook_endpoint};
use integrations::{WebhookSettings, outbound};
use rand::Rng;
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter, Statement,
    sea_query::{Expr, ExprTrait},
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{secrets, sign};
use crate::{
    policy::Principal,
    service::{
        outbox::{self, Event, ev},
        sync::seal::TokenKey,
    },
};

/// The name Reach records its own changes to webhooks under (an endpoint switched off).
pub const ACTOR: &str = "webhooks";

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint took it.
    Delivered,
    /// Try again after this long.
    Retry(Duration),
    /// Give up on this delivery; `disable`: and switch the endpoint off.
    Fail {
        /// Switch the endpoint off too.
        disable: bool,
    },
}

/// What an attempt saw: its outcome, the status, Reach's words for what went wrong, and how long
/// it took.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// How it ended.
    pub outcome: Outcome,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// What went wrong, in Reach's words (never the remote body).
    pub error: Option<String>,
    /// How long it took.
    pub latency: Duration,
}

/// The workers' shared parts.
#[derive(Clone)]
pub struct Deliverer {
    /// The database.
    pub db: DatabaseConnection,
    /// Opens the endpoints' secrets.
    pub key: TokenKey,
    /// `[plugins.webhooks]`.
    pub settings: WebhookSettings,
    /// The outbound client (no redirects, no proxies, only permitted addresses).
    pub client: reqwest::Client,
    /// This process's name in leases.
    pub owner: String,
}

/// The backoff before attempt `attempts + 1`: `initial × 2^(attempts − 1)`, capped, with jitter
/// (a random 50–100 % of it).
pub fn backoff(settings: &WebhookSettings, attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = std::cmp::Ord::min(
        settings.backoff_initial_seconds.saturating_mul(1u64 << exp),
        settings.backoff_max_seconds,
    );
    let ms = full.saturating_mul(1_000);
    Duration::from_millis(rand::rng().random_range(ms / 2..=std::cmp::Ord::max(ms, 1)))
}

/// A `Retry-After` in seconds (the HTTP-date form is not honoured: the backoff applies).
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl Deliverer {
    /// The first pending delivery of up to `limit` endpoints that are on and due, each claimed
    /// for this process (a delivery another process holds, or one behind an earlier pending
    /// delivery of its endpoint, is not taken).
    pub async fn claim(&self, limit: u64) -> Result<Vec<(webhook_delivery::Model, webhook_endpoint::Model)>, DbErr> {
        let now = Utc::now();
        let backend = self.db.get_database_backend();
        let pending = WebhookDeliveryState::Pending.to_value();
        let (p1, p2, p3, p4) = match backend {
            sea_orm::DbBackend::Postgres => ("$1", "$2", "$3", "$4"),
            _ => ("?", "?", "?", "?"),
        };
        let sql = format!(
            "SELECT d.* FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id \
             WHERE d.state = {p1} AND e.enabled AND d.next_attempt_at <= {p2} \
             AND (d.lease_until IS NULL OR d.lease_until < {p3}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_delivery o WHERE o.endpoint_id = d.endpoint_id \
               AND o.state = {p4} AND o.id < d.id) \
             ORDER BY d.next_attempt_at LIMIT {limit}"
        );
        let due = webhook_delivery::Model::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql,
            [pending.clone().into(), now.into(), now.into(), pending.into()],
        ))
        .all(&self.db)
        .await?;
        let lease = now + chrono::Duration::seconds(i64::try_from(self.settings.lease_seconds).unwrap_or(60));
        let mut claimed = Vec::new();
        for d in due {
            let taken = webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::LeaseOwner, Expr::value(self.owner.clone()))
                .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(lease))
                .filter(webhook_delivery::Column::Id.eq(d.id))
                .filter(webhook_delivery::Column::State.eq(WebhookDeliveryState::Pending))
                .filter(
                    sea_orm::Condition::any()
                        .add(webhook_delivery::Column::LeaseUntil.is_null())
                        .add(webhook_delivery::Column::LeaseUntil.lt(now)),
                )
                .exec(&self.db)
                .await?;
            if taken.rows_affected != 1 {
                continue;
            }
            if let Some(endpoint) = webhook_endpoint::Entity::find_by_id(d.endpoint_id)
                .one(&self.db)
                .await?
            {
                claimed.push((d, endpoint));
            }
        }
        Ok(claimed)
    }

    /// Posts `delivery` to `endpoint`, signed; how it went.
    pub async fn attempt(&self, delivery: &webhook_delivery::Model, endpoint: &webhook_endpoint::Model) -> Attempt {
        let started = Instant::now();
        let done = |outcome, status, error: Option<String>| Attempt {
            outcome,
            status,
            error,
            latency: started.elapsed(),
        };
        let retry = |attempts: i32| Outcome::Retry(backoff(&self.settings, attempts + 1));
        let secrets = secrets(&self.key, endpoint);
        if secrets.is_empty() {
            return done(
                retry(delivery.attempts),
                None,
                Some("the endpoint's secret cannot be opened (platform_token_key changed): rotate it".into()),
            );
        }
        let keys: Vec<&str> = secrets.iter().map(|s| s.expose_secret()).collect();
        let timestamp = Utc::now().timestamp();
        let signature = sign::header(&keys, &delivery.message_id, timestamp, &delivery.body);
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("Reach-Webhooks/", env!("CARGO_PKG_VERSION")))
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                if let Some(refused) = outbound::refusal(&e) {
                    return done(Outcome::Fail { disable: false }, None, Some(refused.to_string()));
                }
                let why = if e.is_timeout() {
                    format!("no answer within {} ms", self.settings.timeout_ms)
                } else if e.is_connect() {
                    "the endpoint could not be reached".to_owned()
                } else {
                    "the request failed before an answer".to_owned()
                };
                return done(retry(delivery.attempts), None, Some(why));
            }
        };
        let status = resp.status().as_u16();
        let code = Some(status);
        let max = Duration::from_secs(self.settings.backoff_max_seconds);
        match status {
            200..=299 => done(Outcome::Delivered, code, None),
            429 | 500..=599 => {
                let after = retry_after(&resp).map(|d| d.min(max));
                let outcome = after.map_or_else(|| retry(delivery.attempts), Outcome::Retry);
                done(outcome, code, Some(format!("the endpoint answered HTTP {status}")))
            }
            300..=399 => done(
                Outcome::Fail { disable: false },
                code,
                Some(format!(
                    "the endpoint answered HTTP {status}, a redirect, which is not followed"
                )),
            ),
            410 => done(
                Outcome::Fail { disable: true },
                code,
                Some("the endpoint answered HTTP 410 Gone".into()),
            ),
            _ => done(
                Outcome::Fail { disable: false },
                code,
                Some(format!("the endpoint answered HTTP {status}")),
            ),
        }
    }

    /// Records how `attempt` went, while this process still holds the delivery; then marks the
    /// endpoint failing (or no longer), and switches it off when it has failed too long.
    pub async fn settle(
        &self,
        delivery: &webhook_delivery::Model,
        endpoint: &webhook_endpoint::Model,
        attempt: &Attempt,
    ) -> Result<(), DbErr> {
        use webhook_delivery::Column as D;
        let now = Utc::now();
        let latency = i32::try_from(attempt.latency.as_millis()).unwrap_or(i32::MAX);
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
            .col_expr(D::LastStatus, Expr::value(attempt.status.map(i32::from)))
            .col_expr(D::LastError, Expr::value(attempt.error.clone()))
            .col_expr(D::LastLatencyMs, Expr::value(latency))
            .col_expr(D::LastAttemptAt, Expr::value(now))
            .col_expr(D::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(D::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None));
        update = match &attempt.outcome {
            Outcome::Delivered => update
                .col_expr(D::State, Expr::value(WebhookDeliveryState::Succeeded.to_value()))
                .col_expr(D::DeliveredAt, Expr::value(now)),
            Outcome::Retry(after) => update.col_expr(
                D::NextAttemptAt,
                Expr::value(now + chrono::Duration::from_std(*after).unwrap_or(chrono::Duration::hours(1))),
            ),
            Outcome::Fail { .. } => update.col_expr(D::State, Expr::value(WebhookDeliveryState::Failed.to_value())),
        };
        let done = update
            .filter(D::Id.eq(delivery.id))
            .filter(D::LeaseOwner.eq(self.owner.clone()))
            .exec(&self.db)
            .await?;
        if done.rows_affected != 1 {
            // Another process took it over (this one outlived its lease): its record stands.
            return Ok(());
        }
        self.note_endpoint(endpoint, attempt).await
    }

    /// The endpoint's failure record after an attempt: cleared by a success, started by a
    /// failure; an endpoint failing for `disable_after_hours`, or answering 410, is switched off.
    async fn note_endpoint(&self, endpoint: &webhook_endpoint::Model, attempt: &Attempt) -> Result<(), DbErr> {
        use webhook_endpoint::Column as E;
        let now = Utc::now();
        if attempt.outcome == Outcome::Delivered {
            if endpoint.failing_since.is_some() {
                webhook_endpoint::Entity::update_many()
                    .col_expr(E::FailingSince, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                    .filter(E::Id.eq(endpoint.id))
                    .exec(&self.db)
                    .await?;
            }
            return Ok(());
        }
        let since = endpoint.failing_since.unwrap_or(now);
        let limit = chrono::Duration::hours(i64::try_from(self.settings.disable_after_hours).unwrap_or(72));
        let gone = matches!(attempt.outcome, Outcome::Fail { disable: true });
        if !gone && now - since < limit {
            if endpoint.failing_since.is_none() {
                webhook_endpoint::Entity::update_many()
                    .col_expr(E::FailingSince, Expr::value(now))
                    .filter(E::Id.eq(endpoint.id))
                    .filter(E::FailingSince.is_null())
                    .exec(&self.db)
                    .await?;
            }
            return Ok(());
        }
        let last = attempt.error.clone().unwrap_or_default();
        let reason = if gone {
            format!("switched off by Reach: {last}")
        } else {
            format!(
                "switched off by Reach: deliveries failing since {} (the last: {last})",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        };
        disable(&self.db, endpoint, &reason, since).await
    }
}

/// Switches `endpoint` off with `reason`, recording the change as Reach's.
async fn disable(
    db: &DatabaseConnection,
    endpoint: &webhook_endpoint::Model,
    reason: &str,
    since: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use webhook_endpoint::Column as E;
    let txn = crate::db::begin_write(db).await?;
    let changed = webhook_endpoint::Entity::update_many()
        .col_expr(E::Enabled, Expr::value(false))
        .col_expr(E::DisabledReason, Expr::value(reason.to_owned()))
        .col_expr(E::FailingSince, Expr::value(since))
        .col_expr(E::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(E::Version, Expr::col(E::Version).add(1))
        .filter(E::Id.eq(endpoint.id))
        .filter(E::Enabled.eq(true))
        .exec(&txn)
        .await?;
    if changed.rows_affected == 1 {
        let mut changes = ev::Changes::new();
        changes.insert("enabled".into(), ev::FieldChange::new(true, false));
        changes.insert(
            "disabledReason".into(),
            ev::FieldChange::new(Option::<String>::None, reason),
        );
        let system = Principal::Support { name: ACTOR.into() };
        let event = Event::WebhookEndpointUpdated(ev::Changed { changes });
        outbox::record(&txn, &system, event.about(endpoint.account_id, endpoint.id)).await?;
    }
    txn.commit().await?;
    crate::db::note_commit();
    Ok(())
}

/// A delivery's id for the log.
pub fn describe(delivery: &webhook_delivery::Model) -> (Uuid, &str) {
    (delivery.id, delivery.event_type.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let s = WebhookSettings {
            backoff_initial_seconds: 5,
            backoff_max_seconds: 60,
            ..WebhookSettings::default()
        };
        for (attempts, full) in [
            (1, 5_000),
            (2, 10_000),
            (3, 20_000),
            (4, 40_000),
            (5, 60_000),
            (30, 60_000),
        ] {
            let d = backoff(&s, attempts).as_millis() as u64;
            assert!((full / 2..=full).contains(&d), "{attempts}: {d}");
        }
    }
}
