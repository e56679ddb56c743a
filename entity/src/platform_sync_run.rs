//! `platform_sync_run`: one run of the communication-platform sync for an account (SPEC E3),
//! with its counts and errors, readable through the API and pushed to subscribers.

use sea_orm::entity::prelude::*;

use crate::SyncRunState;

/// One sync run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_sync_run")]
pub struct Model {
    /// Key (UUID v7: time-ordered).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account synchronised.
    pub account_id: Uuid,
    /// Where the run stands.
    pub state: SyncRunState,
    /// Who or what asked for it (`support:<name>`, `user:<uuid>`, `schedule`, `cli`).
    pub requested_by: String,
    /// When it was asked for.
    pub requested_at: DateTimeUtc,
    /// When it started.
    pub started_at: Option<DateTimeUtc>,
    /// When it finished.
    pub finished_at: Option<DateTimeUtc>,
    /// Numbers created.
    pub created: i32,
    /// Numbers updated.
    pub updated: i32,
    /// Numbers removed.
    pub removed: i32,
    /// Numbers kept (and flagged) because a status still uses them.
    pub kept: i32,
    /// User-created numbers sent to the platform.
    pub exported: i32,
    /// The process running it (`host:pid:random`).
    pub lease_owner: Option<String>,
    /// Until when that process holds it; a `RUNNING` run past this lost its process.
    pub lease_until: Option<DateTimeUtc>,
    /// What went wrong: a JSON array of strings.
    pub errors: Json,
    /// Bumped at each change (for subscribers and optimistic checks).
    pub version: i32,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
