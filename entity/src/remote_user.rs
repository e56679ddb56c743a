//! `remote_user`: a user's Remote Extension record — the client profile they have and their
//! active status. One row per user: every change to the user's numbers and statuses locks it
//! first, and the single `active_status_id` column is what makes "exactly one active status" (R9)
//! hold under concurrent requests.

use sea_orm::entity::prelude::*;

/// One user's Remote Extension record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_user")]
pub struct Model {
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// The client profile given to the user; `None` is the account's default.
    pub client_profile_id: Option<Uuid>,
    /// The active status; set whenever the user has statuses.
    pub active_status_id: Option<Uuid>,
    /// Why the active status is active: `MANUAL`, `SCHEDULE` or `DEFAULT`.
    pub active_reason: super::ActiveReason,
    /// The user's own IANA time zone; `None` is the account's.
    pub time_zone: Option<String>,
    /// When the user's schedule next switches a status; `None` when it never does.
    pub next_boundary_at: Option<DateTimeUtc>,
    /// The last schedule boundary applied (or the moment the schedule was set): a boundary at or
    /// before it is never applied again.
    pub schedule_applied_at: Option<DateTimeUtc>,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
