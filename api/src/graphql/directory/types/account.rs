//! `Account`: a customer account of the phone service, and its connection.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::account;

use super::{AccessNumber, AccessNumberConnection, Location, LocationConnection, Platform, User, UserConnection};
use crate::{
    graphql::{
        args::SearchText,
        built::{self, Paged},
        connection::{self, connection},
        context,
        directory::loaders,
        ids::{self, Kind},
    },
    service::directory,
};

/// A customer account of the phone service.
#[derive(Clone, Debug)]
pub struct Account(pub account::Model);

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

connection!(
    AccountConnection,
    AccountEdge,
    Account,
    "A page of accounts.",
    "An account in a page."
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
        loaders::prefetch_users(ctx, &self.0, page.rows.iter().map(|(_, u)| u), &[]).await?;
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
