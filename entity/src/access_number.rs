//! `access_number`: the numbers an account may pick as its Access Number.

use sea_orm::entity::prelude::*;

/// One access number.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_number")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// The number, normalised (optional `+`, digits).
    pub number: String,
    /// Label shown to admins.
    pub label: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
