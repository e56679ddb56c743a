//! Output types of the directory, built from entity rows so that the database shape never leaks
//! into the schema.

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{access_number, account, location, role_assignment, user};

use super::loaders::{AccountKey, LocationKey, RequestLoader, RolesOfUser, UserKey, load_err};
use crate::{
    graphql::remote::types::user_fields as remote,
    graphql::{
        args::SearchText,
        built::{self, Paged},
        connection::{self, connection},
        context, errors,
        ids::{self, Kind},
    },
    service::directory,
};

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

/// A customer account of the phone service.
#[derive(Clone, Debug)]
pub struct Account(pub account::Model);

/// A site of an account.
#[derive(Clone, Debug)]
pub struct Location(pub location::Model);

/// A number an account may choose as its Access Number.
#[derive(Clone, Debug)]
pub struct AccessNumber(pub access_number::Model);

/// A person on an account.
#[derive(Clone, Debug)]
pub struct User(pub user::Model);

impl Account {
    /// The fields a page the database builds can show ([`built`]), each as its resolver shows it.
    pub(crate) fn columns() -> [built::Column; 4] {
        use account::Column as A;
        use built::Column;
        [
            Column::id(Kind::Account, A::Id),
            Column::plain("name", A::Name),
            Column::plain("platform", A::Platform),
            Column::plain("extensionLength", A::ExtensionLength),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(crate) const NAMES: built::TypeNames = built::TypeNames {
        connection: "AccountConnection",
        node: "Account",
    };
}

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

/// A role held by a user.
#[derive(Clone, Debug)]
pub struct RoleAssignment(pub role_assignment::Model);

connection!(
    AccountConnection,
    AccountEdge,
    Account,
    "A page of accounts.",
    "An account in a page."
);
connection!(UserConnection, UserEdge, User, "A page of users.", "A user in a page.");
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

/// A customer account of the phone service.
#[Object]
impl Account {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Account, self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The platform the account runs on.
    async fn platform(&self) -> Platform {
        self.0.platform.into()
    }

    /// Destination codes that start remote-extension numbers (default `["0"]`).
    async fn destination_codes(&self) -> Vec<String> {
        self.0.destination_codes()
    }

    /// Fixed length of extensions in this account, where it has one.
    async fn extension_length(&self) -> Option<i32> {
        self.0.extension_length
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the account last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The account's users the caller may see, by name: all of them for Support, Decision Makers
    /// and account-wide Phone Managers; a location's for its Phone Managers; a plain user sees
    /// themself.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
        #[graphql(
            desc = "Case-insensitive substring of the name, email, phone number or extension (at most 100 characters)."
        )]
        search: Option<SearchText>,
    ) -> Result<Paged<UserConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        let p = context::principal(ctx)?;
        let select = directory::users_select(p, self.0.id, search.as_ref().map(SearchText::as_str));
        if let Some(built) = connection::built(ctx, &User::columns(), &User::NAMES, &select, &req).await? {
            return Ok(Paged::Built(built));
        }
        let (page, total) = connection::fetch(ctx, select, &req).await?;
        super::loaders::prefetch_users(ctx, &self.0, page.rows.iter().map(|(_, u)| u), &[]).await?;
        Ok(Paged::Resolved(UserConnection::from_page(page, total, User)))
    }

    /// The account's Connect for Mobile add-on: state, settings, enabled users.
    async fn mobility(&self) -> crate::graphql::mobility::types::Mobility {
        crate::graphql::mobility::types::Mobility::of(self.0.id)
    }

    /// The account's client profiles (MX-ONE only): the default first, then by name.
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn client_profiles(&self, ctx: &Context<'_>) -> Result<Vec<crate::graphql::remote::types::ClientProfile>> {
        crate::graphql::remote::types::profiles_of_account(ctx, &self.0).await
    }

    /// Where the account's communication platform is (MX-ONE; Support, Decision Makers and
    /// account-wide Phone Managers): null where none is set or for other callers.
    async fn platform_connection(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::sync::types::PlatformConnection>> {
        crate::graphql::sync::types::connection_of(ctx, self.0.id).await
    }

    /// The account's platform sync runs, newest first (Support, Decision Makers and account-wide
    /// Phone Managers; null for other callers).
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<Option<crate::graphql::sync::types::PlatformSyncRunConnection>> {
        crate::graphql::sync::types::runs_of(ctx, self.0.id, first, after, last, before).await
    }

    /// The account's locations, by name.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn locations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<LocationConnection> {
        let req = connection::page_request(first, after, last, before)?;
        let select = directory::locations_select(self.0.id);
        let (page, total) = connection::fetch(ctx, select, &req).await?;
        Ok(LocationConnection::from_page(page, total, Location))
    }

    /// The numbers the account may choose as its Access Number, by number.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn access_numbers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<AccessNumberConnection> {
        let req = connection::page_request(first, after, last, before)?;
        let select = directory::access_numbers_select(self.0.id);
        let (page, total) = connection::fetch(ctx, select, &req).await?;
        Ok(AccessNumberConnection::from_page(page, total, AccessNumber))
    }
}

async fn load_account(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Account> {
    loader(ctx)?
        .load_one(AccountKey(id))
        .await
        .map_err(load_err)?
        .map(Account)
        .ok_or_else(|| errors::coded("INTERNAL", "internal error"))
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

/// A role held by a user.
#[Object]
impl RoleAssignment {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::RoleAssignment, self.0.id)
    }

    /// The role.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// The location the role is limited to; null for account-wide.
    async fn location(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        load_location(ctx, self.0.location_id).await
    }

    /// The user holding it.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        loader(ctx)?
            .load_one(UserKey(self.0.user_id))
            .await
            .map_err(load_err)?
            .map(User)
            .ok_or_else(|| errors::coded("INTERNAL", "internal error"))
    }

    /// When it was granted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
