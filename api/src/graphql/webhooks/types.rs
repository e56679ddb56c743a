//! `WebhookEndpoint` and `WebhookDelivery`, and the account's endpoints.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};

use crate::{
    graphql::{
        audit::AuditEventKind,
        context, errors,
        ids::{self, Kind},
    },
    policy::Access,
    service::webhooks,
};

/// Where a delivery stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::WebhookDeliveryState")]
pub enum WebhookDeliveryState {
    /// Waiting for its first attempt or its next one (`nextAttemptAt`).
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: a redirect, a 4xx other than 429, or a destination the server refuses.
    Failed,
}

/// One delivery of an event (or of a test `ping`) to a webhook endpoint.
#[derive(Clone, Debug)]
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One delivery of an event (or of a test `ping`) to a webhook endpoint, and how its attempts
/// went.
#[Object]
impl WebhookDelivery {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::WebhookDelivery, self.0.id)
    }

    /// The `webhook-id` it is sent under (the event's id; the same at every attempt).
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    /// The event's type (`ping` for a test).
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// Where it stands.
    async fn state(&self) -> WebhookDeliveryState {
        self.0.state.into()
    }

    /// Attempts made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due (a `PENDING` delivery).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.state == entity::WebhookDeliveryState::Pending).then_some(self.0.next_attempt_at)
    }

    /// The last answer's HTTP status.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status
    }

    /// What went wrong at the last attempt, in Reach's words (never the endpoint's body).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// How long the last attempt took, in ms.
    async fn latency_ms(&self) -> Option<i32> {
        self.0.last_latency_ms
    }

    /// When the last attempt was made.
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }

    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the endpoint took it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// An address the account's events are posted to, signed (Standard Webhooks).
#[derive(Clone, Debug)]
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// An address the account's events are posted to, signed as the Standard Webhooks
/// specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
#[Object]
impl WebhookEndpoint {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::WebhookEndpoint, self.0.id)
    }

    /// Where deliveries are posted.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// What the admins call it.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The event types it gets; empty: all.
    async fn event_kinds(&self) -> Vec<AuditEventKind> {
        let kinds = webhooks::event_kinds(&self.0);
        (AuditEventKind::ALL.iter())
            .copied()
            .filter(|k| kinds.iter().any(|t| t == k.event_type()))
            .collect()
    }

    /// Whether deliveries are attempted.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why Reach switched it off (deliveries failing too long, or a 410 answer).
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Since when its deliveries have been failing, if they are.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }

    /// Until when the secret replaced by the last rotation still signs beside the new one.
    async fn previous_secret_valid_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_until.filter(|until| *until > Utc::now())
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its newest deliveries (at most 20), newest first.
    async fn recent_deliveries(&self, ctx: &Context<'_>) -> Result<Vec<WebhookDelivery>> {
        let rows = webhooks::recent_deliveries(context::db(ctx)?, self.0.id)
            .await
            .map_err(errors::db)?;
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
}

/// The webhooks' part of `Account` ([`objects::Account`](crate::graphql::objects::Account)).
#[derive(Clone, Debug)]
pub struct AccountWebhookFields(pub Arc<entity::account::Model>);

#[Object]
impl AccountWebhookFields {
    /// The account's webhook endpoints, oldest first (Support and the account's Decision
    /// Makers; null for other callers).
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Option<Vec<WebhookEndpoint>>> {
        let p = context::principal(ctx)?;
        if webhooks::may_manage(p, self.0.id) != Access::Allowed {
            return Ok(None);
        }
        let rows = webhooks::endpoints_of(context::db(ctx)?, self.0.id)
            .await
            .map_err(errors::db)?;
        Ok(Some(rows.into_iter().map(WebhookEndpoint).collect()))
    }
}
