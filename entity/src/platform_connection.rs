//! `platform_connection`: how Reach reaches an MX-ONE account's communication platform (SPEC
//! E3), and when the account's next scheduled sync is due. The token is kept sealed.

use sea_orm::entity::prelude::*;

/// One account's platform connection.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "platform_connection")]
pub struct Model {
    /// The account (key).
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// The platform's base URL, e.g. `https://mx.example.com/api`.
    pub base_url: String,
    /// The account's name on the platform.
    pub platform_account: String,
    /// The bearer token, sealed (nonce and ciphertext, base64); never readable through the API.
    pub token_sealed: String,
    /// When the next scheduled run is due (`None`: as soon as possible).
    pub next_run_at: Option<DateTimeUtc>,
    /// Runs failed in a row (the backoff before the next one).
    pub failures: i32,
    /// When it was first set.
    pub created_at: DateTimeUtc,
    /// When it was last set.
    pub updated_at: DateTimeUtc,
    /// Who set it last.
    pub updated_by: String,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("platform_connection")
            .field("account_id", &self.account_id)
            .field("base_url", &self.base_url)
            .field("platform_account", &self.platform_account)
            .field("token_sealed", &"[redacted]")
            .field("next_run_at", &self.next_run_at)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
