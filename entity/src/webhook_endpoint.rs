//! `webhook_endpoint`: an address an account's administrators registered to be told of the
//! account's events, signed as the Standard Webhooks specification says.

use sea_orm::entity::prelude::*;

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    /// Key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account whose events it gets.
    pub account_id: Uuid,
    /// Where deliveries are posted.
    pub url: String,
    /// What the admins call it.
    pub description: String,
    /// The event types it gets, as a JSON array of dotted types; empty: all.
    pub event_kinds: Json,
    /// The signing secret, sealed.
    pub secret_sealed: String,
    /// The secret before the last rotation, sealed, while it still signs.
    pub previous_secret_sealed: Option<String>,
    /// Until when the previous secret signs too.
    pub previous_secret_until: Option<DateTimeUtc>,
    /// Whether deliveries are attempted.
    pub enabled: bool,
    /// Why Reach switched it off, when it did.
    pub disabled_reason: Option<String>,
    /// Since when its deliveries have been failing, if they are.
    pub failing_since: Option<DateTimeUtc>,
    /// When it was registered.
    pub created_at: DateTimeUtc,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// Bumped at each change.
    pub version: i64,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
