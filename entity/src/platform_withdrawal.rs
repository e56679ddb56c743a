//! `platform_withdrawal`: a user-created remote extension the communication platform must forget
//! (deleted in Reach, or its number changed), kept until the platform has let it go (SPEC E3).

use sea_orm::entity::prelude::*;

/// One number to withdraw from the platform.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_withdrawal")]
pub struct Model {
    /// Key (UUID v7: time-ordered).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The number in Reach it was (gone or changed since).
    pub user_number_id: Uuid,
    /// The platform's id of it, when Reach learnt it; else the import finds it by number.
    pub platform_id: Option<String>,
    /// The user's extension it was sent with.
    pub user_ref: String,
    /// The number.
    pub number: String,
    /// Refusals so far.
    pub attempts: i32,
    /// The platform's last refusal.
    pub last_error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
