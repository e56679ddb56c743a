//! `Location` and `AccessNumber`: an account's sites and the numbers it may choose as its Access
//! Number, and their connections.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{access_number, location};

use super::{Account, load_account};
use crate::graphql::{
    connection::connection,
    ids::{self, Kind},
};

/// A site of an account.
#[derive(Clone, Debug)]
pub struct Location(pub location::Model);

/// A number an account may choose as its Access Number.
#[derive(Clone, Debug)]
pub struct AccessNumber(pub access_number::Model);

connection!(
    LocationConnection,
    LocationEdge,
    Location,
    "A page of locations.",
    "A location in a page."
);
connection!(
    AccessNumberConnection,
    AccessNumberEdge,
    AccessNumber,
    "A page of access numbers.",
    "An access number in a page."
);

/// A site of an account.
#[Object]
impl Location {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Location, self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        load_account(ctx, self.0.account_id).await
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A number an account may choose as its Access Number.
#[Object]
impl AccessNumber {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::AccessNumber, self.0.id)
    }

    /// The number (an optional `+` and digits).
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// What admins see it as.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// The account it belongs to.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        load_account(ctx, self.0.account_id).await
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
