//! `extension_claim`: every extension an account hands out — a user's own and a mobility
//! extension — under one unique key `(account_id, extension)`, so no two can be equal (M8).

use sea_orm::entity::prelude::*;

/// One extension in use.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "extension_claim")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// The extension (digits).
    #[sea_orm(primary_key, auto_increment = false)]
    pub extension: String,
    /// The user it belongs to.
    pub user_id: Uuid,
    /// Whether it is the user's own extension or their mobility extension.
    pub kind: super::ClaimKind,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
