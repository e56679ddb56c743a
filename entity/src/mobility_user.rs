//! `mobility_user`: a user switched onto Connect for Mobile, with their mobility extension.

use sea_orm::entity::prelude::*;

/// One enabled user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mobility_user")]
pub struct Model {
    /// The user (enabled at most once).
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// Digits, unique in the account among user and mobility extensions (M8).
    pub mobility_extension: String,
    /// When the user was enabled.
    pub enabled_at: DateTimeUtc,
    /// Who enabled them (`support:<name>` or `user:<uuid>`).
    pub enabled_by: String,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
