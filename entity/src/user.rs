//! `app_user`: a person on an account (`user` is reserved in PostgreSQL).

use sea_orm::entity::prelude::*;

/// One user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_user")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning account.
    pub account_id: Uuid,
    /// The user's location, if any.
    pub location_id: Option<Uuid>,
    /// Display name, trimmed.
    pub name: String,
    /// Lower-cased name: the sort key.
    pub sort_name: String,
    /// Email address, lower-cased.
    pub email: Option<String>,
    /// Phone number, normalised (optional `+`, digits).
    pub phone_number: Option<String>,
    /// Extension: digits, unique in the account.
    pub extension: String,
    /// Phone profile tier.
    pub phone_profile: super::PhoneProfile,
    /// Lower-cased name, email, phone number and extension: the search haystack.
    pub search_text: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
