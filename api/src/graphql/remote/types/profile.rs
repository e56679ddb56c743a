//! `ClientProfile`: what the apps let a user do, and an account's list of profiles (Remote
//! Extension's part of `Account`).

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{Platform, client_profile};

use crate::{
    graphql::{
        connection, context,
        ids::{self, Kind},
    },
    service::remote,
};

/// What the apps let a user do. Every MX-ONE account has a default profile (both allowed);
/// users without another get it.
#[derive(Clone, Debug)]
pub struct ClientProfile(pub client_profile::Model);

/// What the apps let a user do. Every MX-ONE account has a default profile (both allowed);
/// users without another get it.
#[Object]
impl ClientProfile {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ClientProfile, self.0.id)
    }

    /// Name (1–64 characters, unique in the account ignoring case).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is the account's default profile.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Users may add statuses of their own (R10).
    async fn allow_users_add_status(&self) -> bool {
        self.0.allow_users_add_status
    }

    /// Users may switch call through on (R11).
    async fn call_through_allowed(&self) -> bool {
        self.0.call_through_allowed
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Remote Extension's part of `Account` ([`objects::Account`](crate::graphql::objects::Account)).
#[derive(Clone, Debug)]
pub struct AccountRemoteFields(pub Arc<entity::account::Model>);

#[Object]
impl AccountRemoteFields {
    /// The account's client profiles (MX-ONE only): the default first, then by name.
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn client_profiles(&self, ctx: &Context<'_>) -> Result<Vec<ClientProfile>> {
        profiles_of_account(ctx, &self.0).await
    }

    /// The account's IANA time zone (`UTC` unless Support set another): its users' schedules
    /// run in it unless a user has their own (`User.timeZone`).
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }

    /// The account's holidays, by date: schedule rules skip them (`SKIP`) or keep to them
    /// (`ONLY`).
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn holidays(&self, ctx: &Context<'_>) -> Result<Vec<super::Holiday>> {
        let rows = ctx
            .data::<crate::graphql::common::loader::RequestLoader>()?
            .load_one(crate::graphql::remote::loaders::HolidaysOfAccount(self.0.id))
            .await
            .map_err(crate::graphql::common::loader::load_err)?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|h| super::Holiday {
                date: h.day,
                name: h.name,
            })
            .collect())
    }
}

/// `Account.clientProfiles`: the default first, then by name; empty off MX-ONE.
async fn profiles_of_account(ctx: &Context<'_>, account: &entity::account::Model) -> Result<Vec<ClientProfile>> {
    if account.platform != Platform::MxOne {
        return Ok(Vec::new());
    }
    let rows = remote::profiles_of_account(context::db(ctx)?, account.id)
        .await
        .map_err(crate::graphql::errors::db)?;
    Ok(rows.into_iter().map(ClientProfile).collect())
}
