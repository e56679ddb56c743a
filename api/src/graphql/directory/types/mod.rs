//! Output types of the directory, built from entity rows so that the database shape never leaks
//! into the schema.

mod account;
mod location;
mod role;
mod user;

use async_graphql::{Context, Enum, Result};

pub use account::{AccountEntry, AccountPlaces};
pub use location::{
    AccessNumber, AccessNumberConnection, AccessNumberEdge, Location, LocationConnection, LocationEdge,
};
pub use role::RoleAssignment;
pub use user::{UserEntry, UserStanding};

use crate::graphql::objects::Account;

use super::loaders::{AccountKey, LocationKey, RequestLoader, load_err};
use crate::codes::Code;
use crate::graphql::errors;

/// The platform an account runs on.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::Platform")]
pub enum Platform {
    /// Hosted MiCloud Connect: Connect for Mobile.
    MicloudConnect,
    /// On-premises MiVoice MX-ONE: Remote Extension.
    MxOne,
}

/// A user's phone profile tier.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::PhoneProfile")]
pub enum PhoneProfile {
    /// Basic.
    Basic,
    /// Essentials.
    Essentials,
    /// Premier.
    Premier,
    /// Elite.
    Elite,
    /// Any other profile.
    Other,
}

/// An administrative role.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::Role")]
pub enum Role {
    /// Administers the whole account.
    DecisionMaker,
    /// Manages users' phones, for the whole account or for one location.
    PhoneManager,
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}

async fn load_account(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Account> {
    loader(ctx)?
        .load_one(AccountKey(id))
        .await
        .map_err(load_err)?
        .map(Account::new)
        .ok_or_else(|| errors::coded(Code::Internal, "internal error"))
}

async fn load_location(ctx: &Context<'_>, id: Option<uuid::Uuid>) -> Result<Option<Location>> {
    match id {
        Some(id) => Ok(loader(ctx)?
            .load_one(LocationKey(id))
            .await
            .map_err(load_err)?
            .map(Location)),
        None => Ok(None),
    }
}
