//! `role_assignment`: the roles a user holds (read on every request, so revocation is immediate).

use sea_orm::entity::prelude::*;

/// One role held by one user, account-wide or for one location.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_assignment")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account (denormalised from the user for tenant filters).
    pub account_id: Uuid,
    /// The user holding the role.
    pub user_id: Uuid,
    /// The role.
    pub role: super::Role,
    /// The location the role is limited to; `None` is account-wide.
    pub location_id: Option<Uuid>,
    /// `"account"` or the location id: makes (user, role, scope) unique on every database,
    /// where a unique index over a nullable column would let duplicates through.
    pub scope: String,
    /// When it was granted.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The `scope` value for an optional location.
pub fn scope_of(location_id: Option<Uuid>) -> String {
    location_id.map_or_else(|| "account".to_owned(), |l| l.to_string())
}
