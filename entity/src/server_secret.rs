//! `server_secret`: secrets the server generates once and keeps (the JWT signing key).

use sea_orm::entity::prelude::*;

/// One named secret.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_secret")]
pub struct Model {
    /// The secret's name, e.g. `jwt`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The secret, base64.
    pub value: String,
    /// When it was generated.
    pub created_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("server_secret")
            .field("name", &self.name)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
