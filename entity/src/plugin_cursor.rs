//! `plugin_cursor`: each plugin's place in the event log and which process holds it (a lease),
//! so a restart resumes where the plugin stopped and two processes never feed it the same event
//! at once.

use sea_orm::entity::prelude::*;

/// One plugin's cursor.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_cursor")]
pub struct Model {
    /// The plugin's name (`email`, `platform`, …).
    #[sea_orm(primary_key, auto_increment = false)]
    pub plugin: String,
    /// Transaction id of the last event handled (0 on SQLite).
    pub last_txid: i64,
    /// Position of the last event handled.
    pub last_position: i64,
    /// The process holding the cursor, if any.
    pub lease_owner: Option<String>,
    /// Until when it holds it.
    pub lease_until: Option<DateTimeUtc>,
    /// Failures in a row on the current event.
    pub failures: i32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
