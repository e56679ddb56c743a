//! The directory's parts of `Account` ([`objects::Account`](crate::graphql::objects::Account)):
//! its entry with its users, and its places (locations, access numbers).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::account;

use super::{AccessNumber, AccessNumberConnection, Location, LocationConnection, Platform};
use crate::{
    graphql::{
        args::SearchText,
        built::Paged,
        connection, context,
        ids::{self, Kind},
        objects::{User, UserConnection, prefetch_users},
    },
    service::directory,
};

/// The directory entry of an account: what it is, and its users.
#[derive(Clone, Debug)]
pub struct AccountEntry(pub Arc<account::Model>);

/// Where an account's users are: its locations and access numbers.
#[derive(Clone, Debug)]
pub struct AccountPlaces(pub Arc<account::Model>);

/// A customer account: the directory entry and its users.
#[Object]
impl AccountEntry {
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
        let search = search.as_ref().map(SearchText::as_str);
        let shape = directory::users_shape(p, self.0.id, search);
        let select = || directory::users_select(p, self.0.id, search);
        if let Some(built) = connection::built(ctx, &User::columns(), &User::NAMES, &shape, select, &req).await? {
            return Ok(Paged::Built(built));
        }
        let (page, total) = connection::fetch(ctx, select(), &req).await?;
        prefetch_users(ctx, &self.0, page.rows.iter().map(|(_, u)| u), &[]).await?;
        Ok(Paged::Resolved(UserConnection::from_page(page, total, User::new)))
    }
}

/// A customer account: its locations and access numbers.
#[Object]
impl AccountPlaces {
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
