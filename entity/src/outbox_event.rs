//! `outbox_event`: the domain events every state change records in its own transaction (SPEC E1).
//!
//! `position` is the log order (an auto-increment key, so readers can tail the log); `id` is the
//! event's UUID, stable across retries of its consumers. `txid` tells a reader on PostgreSQL
//! which positions are final (see the `plugins` migration).

use sea_orm::entity::prelude::*;

/// One domain event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_event")]
pub struct Model {
    /// Position in the log.
    #[sea_orm(primary_key)]
    pub position: i64,
    /// The event's id.
    #[sea_orm(unique)]
    pub id: Uuid,
    /// Event type, e.g. `user.created`.
    pub event_type: String,
    /// The account it concerns, if any.
    pub account_id: Option<Uuid>,
    /// Kind of the object it concerns, e.g. `User`.
    pub aggregate_type: String,
    /// Key of the object it concerns.
    pub aggregate_id: Uuid,
    /// Who did it: `support:<name>` or `user:<uuid>`.
    pub actor: String,
    /// The event's data.
    pub payload: Json,
    /// When it was recorded.
    pub occurred_at: DateTimeUtc,
    /// The recording transaction's id on PostgreSQL (`pg_current_xact_id()`, filled by the
    /// database), 0 on SQLite: readers walk the log in `(txid, position)` order.
    pub txid: i64,
    /// The W3C `traceparent` of the span that recorded it, when tracing was exporting.
    pub traceparent: Option<String>,
    /// The user it is about ([`crate::event::Entry::user_id`]), if any: the audit log's view of
    /// a location Phone Manager and its filter by subject read it.
    pub user_id: Option<Uuid>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
