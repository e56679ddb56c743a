//! The event outbox (SPEC E1): every state change records its domain events in the same
//! transaction, so an event exists exactly when its change was committed.

use chrono::Utc;
use entity::outbox_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::json;
use uuid::Uuid;

use super::bulk;
use crate::policy::Principal;

/// A domain event about to be recorded.
#[derive(Clone, Debug)]
pub struct Event {
    /// Dotted type, e.g. `user.created`.
    pub event_type: &'static str,
    /// The account it concerns.
    pub account_id: Option<Uuid>,
    /// Kind of object, e.g. `User`.
    pub aggregate_type: &'static str,
    /// The object's key.
    pub aggregate_id: Uuid,
    /// What happened, as JSON.
    pub payload: serde_json::Value,
}

fn row(actor: &Principal, event: Event) -> outbox_event::ActiveModel {
    outbox_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_type: Set(event.event_type.to_owned()),
        account_id: Set(event.account_id),
        aggregate_type: Set(event.aggregate_type.to_owned()),
        aggregate_id: Set(event.aggregate_id),
        actor: Set(actor.actor()),
        payload: Set(event.payload),
        occurred_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// Records `event` inside the caller's transaction `txn`.
pub async fn record(txn: &impl ConnectionTrait, actor: &Principal, event: Event) -> Result<(), DbErr> {
    row(actor, event).insert(txn).await.map(|_| ())
}

const EVENTS: bulk::Table = bulk::Table {
    name: "outbox_event",
    columns: &[
        ("id", bulk::Kind::Uuid),
        ("event_type", bulk::Kind::Text),
        ("account_id", bulk::Kind::Uuid),
        ("aggregate_type", bulk::Kind::Text),
        ("aggregate_id", bulk::Kind::Uuid),
        ("actor", bulk::Kind::Text),
        ("payload", bulk::Kind::Json),
        ("occurred_at", bulk::Kind::Time),
    ],
};

/// Records many events inside `txn`, in order (their positions follow it), in one statement for
/// any number of them.
pub async fn record_many(txn: &impl ConnectionTrait, actor: &Principal, events: Vec<Event>) -> Result<(), DbErr> {
    let actor = actor.actor();
    let rows = events
        .into_iter()
        .map(|e| {
            json!([
                bulk::uuid(Uuid::now_v7()),
                bulk::text(e.event_type),
                bulk::opt_uuid(e.account_id),
                bulk::text(e.aggregate_type),
                bulk::uuid(e.aggregate_id),
                bulk::text(actor.as_str()),
                bulk::json(&e.payload),
                bulk::time(Utc::now()),
            ])
        })
        .collect();
    bulk::insert(txn, &EVENTS, rows).await.map(|_| ())
}
