//! Remote Extension's part of `User` ([`objects::User`](crate::graphql::objects::User)): the
//! user's numbers and statuses, what is active, and what the caller may add.

use std::sync::Arc;

use async_graphql::{Context, Object, QueryPathSegment, Result};
use entity::user;

use super::{
    ActiveStatusReason, ClientProfile, DynamicStatus, NextStatusChange, UserNumber, UserNumberConnection, loader,
    numbers_of, on_mx_one, user_remote,
};
use crate::{
    graphql::{
        built::{self, Paged},
        common::loader::load_err,
        connection, context,
        directory::loaders::AccountKey,
        errors,
        remote::loaders::{HolidaysOfAccount, NumbersOfUser, RemoteOfUser, StatusesOfUser},
    },
    service::{pagination, remote},
    state::AppState,
};

/// Remote Extension's part of `User`.
#[derive(Clone, Debug)]
pub struct UserRemoteFields(pub Arc<user::Model>);

#[Object]
impl UserRemoteFields {
    /// The user's numbers ("My Numbers"), oldest first; empty off MX-ONE.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn numbers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<Paged<UserNumberConnection>> {
        numbers(ctx, &self.0, first, after, last, before).await
    }

    /// The user's dynamic statuses (at most 100), oldest first; empty off MX-ONE.
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn dynamic_statuses(&self, ctx: &Context<'_>) -> Result<Paged<Vec<DynamicStatus>>> {
        dynamic_statuses(ctx, &self.0).await
    }

    /// The active status (R9); null only for a user without statuses.
    async fn active_status(&self, ctx: &Context<'_>) -> Result<Option<DynamicStatus>> {
        active_status(ctx, &self.0).await
    }

    /// The remote extension of the active status: what the apps offer under "Place Call With"
    /// and "Call Using" (R9).
    async fn active_remote_extension(&self, ctx: &Context<'_>) -> Result<Option<UserNumber>> {
        active_remote_extension(ctx, &self.0).await
    }

    /// Whether the caller may add a remote extension for this user now: for the user themself,
    /// R2 (they hold one provisioned by an administrator or the platform); for another user,
    /// whether the caller administers them (R12).
    async fn can_add_remote_extension(&self, ctx: &Context<'_>) -> Result<bool> {
        can_add_remote_extension(ctx, &self.0).await
    }

    /// Whether the caller may add a status for this user (R10): the client profile allows it,
    /// or the caller administers the user.
    async fn can_add_status(&self, ctx: &Context<'_>) -> Result<bool> {
        can_add_status(ctx, &self.0).await
    }

    /// The user's client profile (the account's default unless given another); null off MX-ONE.
    async fn client_profile(&self, ctx: &Context<'_>) -> Result<Option<ClientProfile>> {
        client_profile(ctx, &self.0).await
    }

    /// The user's own IANA time zone, where it differs from the account's; null: the account's
    /// (`Account.timeZone`). The user's schedules run in it.
    async fn time_zone(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(record(ctx, &self.0).await?.and_then(|r| r.time_zone))
    }

    /// Why the active status is active; null for a user without statuses.
    async fn active_status_reason(&self, ctx: &Context<'_>) -> Result<Option<ActiveStatusReason>> {
        let r = record(ctx, &self.0).await?;
        Ok(r.filter(|r| r.active_status_id.is_some())
            .map(|r| r.active_reason.into()))
    }

    /// The next change the user's schedule makes to their status; null when nothing is
    /// scheduled (within 400 days).
    async fn next_status_change(&self, ctx: &Context<'_>) -> Result<Option<NextStatusChange>> {
        next_status_change(ctx, &self.0).await
    }
}

/// The user's Remote Extension record, if they have one.
async fn record(ctx: &Context<'_>, user: &user::Model) -> Result<Option<entity::remote_user::Model>> {
    loader(ctx)?.load_one(RemoteOfUser(user.id)).await.map_err(load_err)
}

/// `User.nextStatusChange`.
async fn next_status_change(ctx: &Context<'_>, user: &user::Model) -> Result<Option<NextStatusChange>> {
    let Some(remote) = record(ctx, user).await? else {
        return Ok(None);
    };
    let r = user_remote(ctx, user.id).await?;
    if r.statuses.iter().all(|s| s.schedule.is_none()) {
        return Ok(None);
    }
    let Some(account) = loader(ctx)?
        .load_one(AccountKey(user.account_id))
        .await
        .map_err(load_err)?
    else {
        return Ok(None);
    };
    let holidays = loader(ctx)?
        .load_one(HolidaysOfAccount(account.id))
        .await
        .map_err(load_err)?
        .unwrap_or_default();
    let days = holidays.iter().map(|h| h.day.as_str());
    let parts = remote::schedule::PlanParts::of(&account, &remote, &r.statuses, days);
    let next = remote::schedule::next_change(&parts, ctx.data::<AppState>()?.clock.now());
    Ok(next.and_then(|(at, id)| {
        let status = r.statuses.into_iter().find(|s| s.id == id)?;
        Some(NextStatusChange {
            at,
            status: DynamicStatus(status),
        })
    }))
}

/// `User.numbers`. For a page of users the whole list is small (at most 100) and loaded in
/// one batch for the page, then paged in memory. For a user resolved alone (`me`, say) whose
/// numbers were not loaded already, a selection of what the numbers' columns hold is built
/// by the database in one statement ([`built`](crate::graphql::built)).
async fn numbers(
    ctx: &Context<'_>,
    user: &user::Model,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Paged<UserNumberConnection>> {
    let req = connection::page_request(first, after, last, before)?;
    if alone(ctx)
        && !loader(ctx)?
            .get_cached_values::<NumbersOfUser>()
            .contains_key(&NumbersOfUser(user.id))
        && let Some(plan) = built::plan(ctx, &UserNumber::columns())
    {
        let page = UserNumber::built_page(context::db(ctx)?, user.id, &plan, &req).await;
        return Ok(Paged::Built(page.map_err(errors::db)?));
    }
    let rows = numbers_of(ctx, user.id).await?;
    let total = rows.len() as u64;
    let page = pagination::page_in_memory(rows, |n| n.id, &req);
    Ok(Paged::Resolved(UserNumberConnection::from_page(
        page,
        Some(total),
        UserNumber,
    )))
}

/// Whether the field `ctx` resolves belongs to an object resolved alone, not to an item of a
/// list (whose numbers are loaded for the whole list at once).
fn alone(ctx: &Context<'_>) -> bool {
    ctx.path_node
        .is_none_or(|node| node.parents().all(|p| !matches!(p.segment, QueryPathSegment::Index(_))))
}

/// `User.dynamicStatuses`: the list alone (its items read the rest of [`UserRemote`](super::UserRemote) when
/// they ask whether they are active or editable). For a user resolved alone whose statuses were
/// not loaded already, a selection of what the statuses' columns hold is built by the database
/// in one statement ([`built`](crate::graphql::built)).
async fn dynamic_statuses(ctx: &Context<'_>, user: &user::Model) -> Result<Paged<Vec<DynamicStatus>>> {
    let loader = loader(ctx)?;
    if alone(ctx)
        && !loader
            .get_cached_values::<StatusesOfUser>()
            .contains_key(&StatusesOfUser(user.id))
        && let Some(plan) = built::list_plan(ctx, &DynamicStatus::columns())
    {
        let list = DynamicStatus::built_list(context::db(ctx)?, user.id, &plan)
            .await
            .map_err(errors::db)?;
        return Ok(Paged::Built(list));
    }
    let statuses = loader
        .load_one(StatusesOfUser(user.id))
        .await
        .map_err(load_err)?
        .unwrap_or_default();
    Ok(Paged::Resolved(statuses.into_iter().map(DynamicStatus).collect()))
}

/// `User.activeStatus`.
async fn active_status(ctx: &Context<'_>, user: &user::Model) -> Result<Option<DynamicStatus>> {
    let r = user_remote(ctx, user.id).await?;
    let active = r.active;
    Ok(r.statuses.into_iter().find(|s| Some(s.id) == active).map(DynamicStatus))
}

/// `User.activeRemoteExtension`.
async fn active_remote_extension(ctx: &Context<'_>, user: &user::Model) -> Result<Option<UserNumber>> {
    let Some(id) = user_remote(ctx, user.id).await?.active_remote_extension() else {
        return Ok(None);
    };
    Ok(numbers_of(ctx, user.id)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .map(UserNumber))
}

/// `User.canAddRemoteExtension`: for the user themself, R2 (what their own
/// `userNumberCreate` would answer); for an administrator covering another user, always.
async fn can_add_remote_extension(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
    if !on_mx_one(ctx, user).await? {
        return Ok(false);
    }
    let is_self = context::principal(ctx)?.user().is_some_and(|u| u.user_id == user.id);
    if !is_self {
        return Ok(user_remote(ctx, user.id).await?.caller_is_admin);
    }
    Ok(remote::can_add_remote_extension(&numbers_of(ctx, user.id).await?))
}

/// `User.canAddStatus` (R10): the client profile allows it, or the caller administers the
/// user.
async fn can_add_status(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
    let r = user_remote(ctx, user.id).await?;
    Ok(r.profile.is_some_and(|p| p.allow_users_add_status || r.caller_is_admin))
}

/// `User.clientProfile`.
async fn client_profile(ctx: &Context<'_>, user: &user::Model) -> Result<Option<ClientProfile>> {
    Ok(user_remote(ctx, user.id).await?.profile.map(ClientProfile))
}
