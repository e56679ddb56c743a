//! `account`: a customer of the phone service.

use sea_orm::entity::prelude::*;

/// One account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name, trimmed.
    pub name: String,
    /// Lower-cased name: the sort and search key.
    pub sort_name: String,
    /// The platform the account runs on.
    pub platform: super::Platform,
    /// Destination codes (digits), comma-separated, in the order given.
    pub destination_codes: String,
    /// Fixed extension length, where the account has one.
    pub extension_length: Option<i32>,
    /// The account's IANA time zone (`UTC` unless Support set another): schedules run in it.
    pub time_zone: String,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The destination codes as a list.
    pub fn destination_codes(&self) -> Vec<String> {
        self.destination_codes
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    }
}
