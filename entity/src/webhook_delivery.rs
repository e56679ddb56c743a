//! `webhook_delivery`: one event (or a test `ping`) for one webhook endpoint, the body exactly
//! as sent, and how its attempts went.

use sea_orm::entity::prelude::*;

use crate::WebhookDeliveryState;

/// One delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    /// Key (UUID v7: an endpoint's deliveries go in this order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// `webhook-id`: the event's id (the same at every attempt), or the ping's.
    pub message_id: String,
    /// The event's type (`ping` for a test).
    pub event_type: String,
    /// The body, exactly as posted and signed.
    pub body: String,
    /// When the event happened.
    pub occurred_at: DateTimeUtc,
    /// Where it stands.
    pub state: WebhookDeliveryState,
    /// Attempts that ended with an answer, a network error or a timeout.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// The process attempting it.
    pub lease_owner: Option<String>,
    /// Until when that process holds it.
    pub lease_until: Option<DateTimeUtc>,
    /// The last answer's HTTP status.
    pub last_status: Option<i32>,
    /// The last attempt's error, in Reach's words (never the remote body).
    pub last_error: Option<String>,
    /// How long the last attempt took.
    pub last_latency_ms: Option<i32>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTimeUtc>,
    /// When it was queued.
    pub created_at: DateTimeUtc,
    /// When the endpoint took it.
    pub delivered_at: Option<DateTimeUtc>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
