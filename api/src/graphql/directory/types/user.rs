//! The directory's parts of `User` ([`objects::User`](crate::graphql::objects::User)): its entry
//! (who, where) and its standing (roles, dates).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::user;

use super::{Account, Location, PhoneProfile, RoleAssignment, load_account, load_location, loader};
use crate::graphql::{
    directory::loaders::{RolesOfUser, load_err},
    ids::{self, Kind},
};

/// The directory entry of a user: who they are and where.
#[derive(Clone, Debug)]
pub struct UserEntry(pub Arc<user::Model>);

/// Roles a user holds, and when their entry was made and changed.
#[derive(Clone, Debug)]
pub struct UserStanding(pub Arc<user::Model>);

/// A person on an account: the directory entry.
#[Object]
impl UserEntry {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::User, self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Email address (lower-cased), if known.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Phone number (an optional `+` and digits), if known.
    async fn phone_number(&self) -> Option<&str> {
        self.0.phone_number.as_deref()
    }

    /// Extension: digits, unique in the account.
    async fn extension(&self) -> &str {
        &self.0.extension
    }

    /// Phone profile tier.
    async fn phone_profile(&self) -> PhoneProfile {
        self.0.phone_profile.into()
    }

    /// The account the user belongs to.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        load_account(ctx, self.0.account_id).await
    }

    /// The user's location, if any.
    async fn location(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        load_location(ctx, self.0.location_id).await
    }
}

/// A person on an account: roles and dates.
#[Object]
impl UserStanding {
    /// Roles the user holds.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<RoleAssignment>> {
        Ok(loader(ctx)?
            .load_one(RolesOfUser(self.0.id))
            .await
            .map_err(load_err)?
            .unwrap_or_default()
            .into_iter()
            .map(RoleAssignment)
            .collect())
    }

    /// When the user was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the user's directory entry last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
