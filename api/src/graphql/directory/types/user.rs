//! `User`: a person on an account, and its connection.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::user;

use super::{Account, Location, PhoneProfile, RoleAssignment, load_account, load_location, loader};
use crate::graphql::{
    built,
    connection::{self, connection},
    directory::loaders::{RolesOfUser, load_err},
    ids::{self, Kind},
    remote::types::user_fields as remote,
};

/// A person on an account.
#[derive(Clone, Debug)]
pub struct User(pub user::Model);

impl User {
    /// The fields a page the database builds can show ([`built`]), each as its resolver shows it.
    pub(crate) fn columns() -> [built::Column; 6] {
        use built::Column;
        use user::Column as U;
        [
            Column::id(Kind::User, U::Id),
            Column::plain("name", U::Name),
            Column::plain("email", U::Email),
            Column::plain("phoneNumber", U::PhoneNumber),
            Column::plain("extension", U::Extension),
            Column::plain("phoneProfile", U::PhoneProfile),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(crate) const NAMES: built::TypeNames = built::TypeNames {
        connection: "UserConnection",
        node: "User",
    };
}

connection!(UserConnection, UserEdge, User, "A page of users.", "A user in a page.");

/// A person on an account.
#[Object]
impl User {
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

    /// The user's Connect for Mobile record; null when not enabled.
    async fn mobility(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::mobility::types::MobilityUser>> {
        crate::graphql::mobility::types::mobility_of(ctx, &self.0).await
    }

    /// The user's numbers ("My Numbers"), oldest first; empty off MX-ONE.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn numbers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<crate::graphql::built::Paged<crate::graphql::remote::types::UserNumberConnection>> {
        remote::numbers(ctx, &self.0, first, after, last, before).await
    }

    /// The user's dynamic statuses (at most 100), oldest first; empty off MX-ONE.
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn dynamic_statuses(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::remote::types::DynamicStatus>> {
        remote::dynamic_statuses(ctx, &self.0).await
    }

    /// The active status (R9); null only for a user without statuses.
    async fn active_status(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::remote::types::DynamicStatus>> {
        remote::active_status(ctx, &self.0).await
    }

    /// The remote extension of the active status: what the apps offer under "Place Call With"
    /// and "Call Using" (R9).
    async fn active_remote_extension(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::remote::types::UserNumber>> {
        remote::active_remote_extension(ctx, &self.0).await
    }

    /// Whether the caller may add a remote extension for this user now: for the user themself,
    /// R2 (they hold one provisioned by an administrator or the platform); for another user,
    /// whether the caller administers them (R12).
    async fn can_add_remote_extension(&self, ctx: &Context<'_>) -> Result<bool> {
        remote::can_add_remote_extension(ctx, &self.0).await
    }

    /// Whether the caller may add a status for this user (R10): the client profile allows it,
    /// or the caller administers the user.
    async fn can_add_status(&self, ctx: &Context<'_>) -> Result<bool> {
        remote::can_add_status(ctx, &self.0).await
    }

    /// The user's client profile (the account's default unless given another); null off MX-ONE.
    async fn client_profile(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::remote::types::ClientProfile>> {
        remote::client_profile(ctx, &self.0).await
    }

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
