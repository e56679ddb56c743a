//! `mobility_notification`: one settings change to be mailed to the enabled users (M6), queued in
//! the transaction of the change.

use sea_orm::entity::prelude::*;

/// One queued notification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mobility_notification")]
pub struct Model {
    /// Key (UUID v7: time-ordered).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account whose settings changed.
    pub account_id: Uuid,
    /// Creation time as fixed-width UTC text: the list's sort key (newest first).
    pub sort_key: String,
    /// The changed fields: `[{"field", "old", "new"}]`.
    pub changes: Json,
    /// When it was queued.
    pub created_at: DateTimeUtc,
    /// Who changed the settings (`support:<name>` or `user:<uuid>`).
    pub created_by: String,
    /// The W3C `traceparent` of the request that queued it, when tracing was exporting: its
    /// sends join that trace.
    pub traceparent: Option<String>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
