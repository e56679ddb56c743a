//! `location`: a site of an account; location-scoped Phone Managers manage its users.

use sea_orm::entity::prelude::*;

/// One location.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "location")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// Display name, trimmed.
    pub name: String,
    /// Lower-cased name: sort key, unique per account.
    pub sort_name: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
