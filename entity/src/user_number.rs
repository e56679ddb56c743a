//! `user_number`: one of a user's own phone numbers ("My Numbers", SPEC §4), possibly a remote
//! extension.

use sea_orm::entity::prelude::*;

/// One number of a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_number")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// Label, trimmed.
    pub label: String,
    /// Lower-cased label: unique per user (R3).
    pub label_key: String,
    /// The number, exactly as given (R3); unique per user (R4).
    pub number: String,
    /// Whether it is a remote extension.
    pub is_remote_extension: bool,
    /// `number` while it is a remote extension, else `None`: unique across the platform (R4).
    pub remote_number: Option<String>,
    /// Where it came from.
    pub origin: super::NumberOrigin,
    /// Call through switched on (R11).
    pub call_through: bool,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// Who created it (`support:<name>`, `user:<uuid>` or `platform:<name>`).
    pub created_by: String,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// The platform's id of it, once the platform holds it (imported, or exported and accepted).
    pub platform_id: Option<String>,
    /// The number the platform holds under `platform_id`.
    pub platform_number: Option<String>,
    /// The label the sync last gave it (R5); a different label is the user's own and stays.
    pub platform_label: Option<String>,
    /// The last sync run that found it on the platform.
    pub platform_seen: Option<Uuid>,
    /// Since when it is gone from the platform while a status still uses it (kept, flagged).
    pub platform_missing_since: Option<DateTimeUtc>,
    /// Why the platform refused to take this user-created number, until it takes it.
    pub platform_error: Option<String>,
    /// When `platform_id` was set.
    pub platform_linked_at: Option<DateTimeUtc>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
