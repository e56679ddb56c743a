//! The event outbox (SPEC E1): every state change records its domain events in the same
//! transaction, so an event exists exactly when its change was committed.

use chrono::Utc;
pub use entity::event::{self as ev, Entry, Event};
use entity::outbox_event;
use integrations::trace_context;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde_json::json;
use uuid::Uuid;

use super::bulk;
use crate::policy::Principal;

fn row(actor: &Principal, entry: Entry) -> outbox_event::ActiveModel {
    outbox_event::ActiveModel {
        user_id: Set(entry.user_id()),
        id: Set(Uuid::now_v7()),
        event_type: Set(entry.event.kind().to_owned()),
        account_id: Set(entry.account_id),
        aggregate_type: Set(entry.event.aggregate_type().to_owned()),
        aggregate_id: Set(entry.aggregate_id),
        actor: Set(actor.actor()),
        payload: Set(entry.event.payload()),
        occurred_at: Set(Utc::now()),
        traceparent: Set(trace_context::current()),
        ..Default::default()
    }
}

/// Records `entry` inside the caller's transaction `txn`.
pub async fn record(txn: &impl ConnectionTrait, actor: &Principal, entry: Entry) -> Result<(), DbErr> {
    row(actor, entry).insert(txn).await.map(|_| ())
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
        ("traceparent", bulk::Kind::Text),
        ("user_id", bulk::Kind::Uuid),
    ],
};

/// Records many events inside `txn`, in order (their positions follow it), in one statement for
/// any number of them.
pub async fn record_many(txn: &impl ConnectionTrait, actor: &Principal, events: Vec<Entry>) -> Result<(), DbErr> {
    let actor = actor.actor();
    // One change, one span: every event of it carries the same trace context.
    let traceparent = trace_context::current();
    let rows = events
        .into_iter()
        .map(|e| {
            let user_id = e.user_id();
            json!([
                bulk::uuid(Uuid::now_v7()),
                bulk::text(e.event.kind()),
                bulk::opt_uuid(e.account_id),
                bulk::text(e.event.aggregate_type()),
                bulk::uuid(e.aggregate_id),
                bulk::text(actor.as_str()),
                bulk::json(&e.event.payload()),
                bulk::time(Utc::now()),
                bulk::opt_text(traceparent.as_deref()),
                bulk::opt_uuid(user_id),
            ])
        })
        .collect();
    bulk::insert(txn, &EVENTS, rows).await.map(|_| ())
}
