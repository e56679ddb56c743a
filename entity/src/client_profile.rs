//! `client_profile`: what the apps let a user do with Remote Extension (SPEC §4). Every account
//! has one default profile, whose id is the account's id (so it is found without a lookup and
//! there is exactly one); admins add more and give them to users.

use sea_orm::entity::prelude::*;

/// One client profile.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_profile")]
pub struct Model {
    /// Key; the account's id for its default profile.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// Display name, trimmed.
    pub name: String,
    /// Lower-cased name: unique in the account.
    pub name_key: String,
    /// Whether this is the account's default profile.
    pub is_default: bool,
    /// Users may add statuses of their own (R10).
    pub allow_users_add_status: bool,
    /// Users may switch call through on (R11).
    pub call_through_allowed: bool,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
