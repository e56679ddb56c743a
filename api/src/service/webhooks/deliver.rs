//! Attempting webhook deliveries: a worker claims the first pending delivery of an endpoint
//! that is due (a lease, so one process at a time attempts it, and the endpoint's later
//! deliveries wait behind it: in order per endpoint), posts it signed, and settles it.
//!
//! - 2xx: `SUCCEEDED`.
//! - A network error, a timeout, 5xx or 429: attempted again after a backoff that doubles per
//!   attempt, with jitter (a `Retry-After` in seconds on those answers is honoured between the
//!   first backoff and the longest).
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
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use secrecy::ExposeSecret;

use super::{secrets, sign};
use crate::service::sql::Sql;
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
    /// Where deliveries may go.
    pub policy: integrations::outbound::OutboundPolicy,
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
    /// One delivery this process may attempt now, claimed: the first pending delivery of an
    /// endpoint that is on, due, and not being attempted by anyone (so an endpoint gets one
    /// attempt at a time, in order). Up to `candidates` are looked at, so workers racing for the
    /// same one each find another. The claim re-checks every condition in its own statement.
    pub async fn claim(
        &self,
        candidates: u64,
    ) -> Result<Option<(webhook_delivery::Model, webhook_endpoint::Model)>, DbErr> {
        let now = Utc::now();
        let pending = WebhookDeliveryState::Pending.to_value();
        let mut sql = Sql::new(self.db.get_database_backend());
        // Each endpoint's head (its first pending delivery, by the index on (endpoint, state,
        // id)), when the endpoint is on, the head is due, and nothing of the endpoint is leased
        // (only pending deliveries hold leases: settling one clears its lease, so the same index
        // serves that question and done deliveries are never read).
        let (p1, p2, p3, p4, p5) = (
            sql.bind(pending.clone()),
            sql.bind(now),
            sql.bind(now),
            sql.bind(pending),
            sql.bind(now),
        );
        sql.push(&format!(
            "SELECT d.* FROM webhook_endpoint e JOIN webhook_delivery d ON d.id = \
               (SELECT o.id FROM webhook_delivery o WHERE o.endpoint_id = e.id AND o.state = {p1} ORDER BY o.id LIMIT 1) \
             WHERE e.enabled AND d.next_attempt_at <= {p2} AND (d.lease_until IS NULL OR d.lease_until < {p3}) \
             AND NOT EXISTS (SELECT 1 FROM webhook_delivery l WHERE l.endpoint_id = e.id AND l.state = {p4} \
               AND l.lease_until >= {p5}) \
             ORDER BY d.next_attempt_at LIMIT {candidates}"
        ));
        let due = webhook_delivery::Model::find_by_statement(sql.statement())
            .all(&self.db)
            .await?;
        let lease = now + chrono::Duration::seconds(i64::try_from(self.settings.lease_seconds).unwrap_or(60));
        // Start with a different candidate in each worker.
        let offset = if due.is_empty() {
            0
        } else {
            rand::rng().random_range(0..due.len())
        };
        for d in due.iter().cycle().skip(offset).take(due.len()) {
            if !self.take(d, now, lease).await? {
                continue;
            }
            if let Some(endpoint) = webhook_endpoint::Entity::find_by_id(d.endpoint_id)
                .one(&self.db)
                .await?
            {
                return Ok(Some((d.clone(), endpoint)));
            }
        }
        Ok(None)
    }

    /// Leases `d` to this process, if it is still pending, due, its endpoint's head and on, and
    /// nothing of its endpoint is leased: one statement, so two processes cannot both take it.
    async fn take(
        &self,
        d: &webhook_delivery::Model,
        now: chrono::DateTime<Utc>,
        lease: chrono::DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let pending = WebhookDeliveryState::Pending.to_value();
        let mut sql = Sql::new(self.db.get_database_backend());
        let owner = sql.bind(self.owner.clone());
        let until = sql.bind(lease);
        let id = sql.bind(d.id);
        let state = sql.bind(pending.clone());
        let due = sql.bind(now);
        let free = sql.bind(now);
        let endpoint = sql.bind(d.endpoint_id);
        let earlier = sql.bind(pending);
        let busy = sql.bind(now);
        sql.push(&format!(
            "UPDATE webhook_delivery SET lease_owner = {owner}, lease_until = {until} \
             WHERE id = {id} AND state = {state} AND next_attempt_at <= {due} \
             AND (lease_until IS NULL OR lease_until < {free}) \
             AND EXISTS (SELECT 1 FROM webhook_endpoint e WHERE e.id = {endpoint} AND e.enabled) \
             AND NOT EXISTS (SELECT 1 FROM webhook_delivery o WHERE o.endpoint_id = webhook_delivery.endpoint_id \
               AND o.state = {earlier} AND (o.id < webhook_delivery.id OR o.lease_until >= {busy}))"
        ));
        let done = self.db.execute_raw(sql.statement()).await?;
        Ok(done.rows_affected() == 1)
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
        // The settings may have changed since the endpoint was registered: an address written in
        // the URL is checked again here (names are checked as they resolve).
        match reqwest::Url::parse(&endpoint.url) {
            Ok(url) => {
                if let Err(refused) = self.policy.check_url(&url) {
                    return done(Outcome::Fail { disable: false }, None, Some(refused.to_string()));
                }
            }
            Err(_) => {
                return done(
                    Outcome::Fail { disable: false },
                    None,
                    Some("the URL does not parse".into()),
                );
            }
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
                // Honoured between the first backoff and the longest.
                let least = Duration::from_secs(self.settings.backoff_initial_seconds);
                let after = retry_after(&resp).map(|d| d.clamp(least, max.max(least)));
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

    /// Records how `attempt` went, while this process still holds the delivery, and in the same
    /// transaction the endpoint's failure record: cleared by a success, started by a failure to
    /// get an answer or a 5xx/429; an endpoint failing for `disable_after_hours`, or answering
    /// 410, is switched off (so nothing more is sent to it after that commit).
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
        let txn = crate::db::begin_write(&self.db).await?;
        let done = update
            .filter(D::Id.eq(delivery.id))
            .filter(D::LeaseOwner.eq(self.owner.clone()))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            // Another process took it over (this one outlived its lease): its record stands.
            return txn.rollback().await;
        }
        let changed = self.note_endpoint(&txn, endpoint, attempt).await?;
        txn.commit().await?;
        if changed {
            crate::db::note_commit();
        }
        Ok(())
    }

    /// The endpoint's failure record after an attempt, inside `txn`; true when it was switched
    /// off (an event was recorded).
    async fn note_endpoint(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        endpoint: &webhook_endpoint::Model,
        attempt: &Attempt,
    ) -> Result<bool, DbErr> {
        use webhook_endpoint::Column as E;
        let now = Utc::now();
        match attempt.outcome {
            Outcome::Delivered => {
                webhook_endpoint::Entity::update_many()
                    .col_expr(E::FailingSince, Expr::value(Option::<chrono::DateTime<Utc>>::None))
                    .filter(E::Id.eq(endpoint.id))
                    .filter(E::FailingSince.is_not_null())
                    .exec(txn)
                    .await?;
                return Ok(false);
            }
            // The endpoint answered: it is there, this delivery is what it refused.
            Outcome::Fail { disable: false } if attempt.status.is_some() => return Ok(false),
            _ => {}
        }
        let current = webhook_endpoint::Entity::find_by_id(endpoint.id).one(txn).await?;
        let Some(current) = current.filter(|e| e.enabled) else {
            return Ok(false);
        };
        let since = current.failing_since.unwrap_or(now);
        let limit = chrono::Duration::hours(i64::try_from(self.settings.disable_after_hours).unwrap_or(72));
        let gone = matches!(attempt.outcome, Outcome::Fail { disable: true });
        if !gone && now - since < limit {
            if current.failing_since.is_none() {
                webhook_endpoint::Entity::update_many()
                    .col_expr(E::FailingSince, Expr::value(now))
                    .filter(E::Id.eq(endpoint.id))
                    .filter(E::FailingSince.is_null())
                    .exec(txn)
                    .await?;
            }
            return Ok(false);
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
        disable(txn, &current, &reason, since).await?;
        Ok(true)
    }
}

/// Switches `endpoint` off with `reason` inside `txn`, recording the change as Reach's.
async fn disable(
    txn: &sea_orm::DatabaseTransaction,
    endpoint: &webhook_endpoint::Model,
    reason: &str,
    since: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use webhook_endpoint::Column as E;
    let changed = webhook_endpoint::Entity::update_many()
        .col_expr(E::Enabled, Expr::value(false))
        .col_expr(E::DisabledReason, Expr::value(reason.to_owned()))
        .col_expr(E::FailingSince, Expr::value(since))
        .col_expr(E::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(E::Version, Expr::col(E::Version).add(1))
        .filter(E::Id.eq(endpoint.id))
        .filter(E::Enabled.eq(true))
        .exec(txn)
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
        outbox::record(txn, &system, event.about(endpoint.account_id, endpoint.id)).await?;
    }
    Ok(())
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
