//! The event outbox (SPEC E1): every state change records its domain events in the same
//! transaction, so an event exists exactly when its change was committed.

use chrono::Utc;
pub use entity::event::{self as ev, Entry, Event};
use integrations::trace_context;
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;
use uuid::Uuid;

use super::{bulk, sql::Sql};
use crate::policy::Principal;

/// Records `entry` inside the caller's transaction `txn`.
pub async fn record(txn: &impl ConnectionTrait, actor: &Principal, entry: Entry) -> Result<(), DbErr> {
    record_many(txn, actor, vec![entry]).await
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
        // Where the user is: a location Phone Manager's audit log reads by it. Users are
        // written before their events; moving one moves their events (`user_update`).
        ("location_id", bulk::Kind::LocationOfUser(9)),
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

/// Moves the events about `user_id` to the user's new `location_id` (a location Phone
/// Manager's audit log reads them by it: where the user is now decides), inside the transaction
/// that moves the user.
pub async fn user_moved(txn: &impl ConnectionTrait, user_id: Uuid, location_id: Option<Uuid>) -> Result<(), DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    let (location, user) = (sql.bind(location_id), sql.bind(user_id));
    sql.push(&format!(
        "UPDATE outbox_event SET location_id = {location} WHERE user_id = {user}"
    ));
    txn.execute_raw(sql.statement()).await.map(|_| ())
}
