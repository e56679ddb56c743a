//! Directory queries: `viewer`, `me`, `accounts`, `account`.

use async_graphql::{Context, Object, Result};

use super::loaders::{AccountKey, RequestLoader, UserKey, load_err};
use super::types::RoleAssignment;
use crate::{
    auth::Own,
    graphql::{
        args::{IdArg, SearchText},
        built::{self, Paged},
        common::actor::PrincipalKind,
        connection, context, errors,
        ids::{self, Kind},
        objects::{Account, AccountConnection, User, user_with_selection},
    },
    policy::Principal,
    service::directory,
};

/// Who the caller is.
pub struct Viewer;

/// Who the caller is: kind, user, account and roles.
#[Object]
impl Viewer {
    /// Support staff or a user.
    async fn kind(&self, ctx: &Context<'_>) -> Result<PrincipalKind> {
        Ok(match context::principal(ctx)? {
            Principal::Support { .. } => PrincipalKind::Support,
            Principal::User(_) => PrincipalKind::User,
        })
    }

    /// Display name: the Support name on the token, or the user's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        match context::principal(ctx)? {
            Principal::Support { name } => Ok(name.clone()),
            Principal::User(u) => Ok(me(ctx, u.user_id)
                .await?
                .map(|u| u.model().name.clone())
                .unwrap_or_default()),
        }
    }

    /// The caller's user (null for Support).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match context::principal(ctx)? {
            Principal::Support { .. } => Ok(None),
            Principal::User(u) => user_with_selection(ctx, u.user_id).await,
        }
    }

    /// The caller's account (null for Support).
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        match context::principal(ctx)? {
            Principal::Support { .. } => Ok(None),
            Principal::User(u) => Ok(
                directory::account(context::db(ctx)?, context::principal(ctx)?, u.account_id)
                    .await
                    .map_err(errors::db)?
                    .map(Account::new),
            ),
        }
    }

    /// The roles the caller holds now.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<RoleAssignment>> {
        match context::principal(ctx)? {
            Principal::Support { .. } => Ok(Vec::new()),
            Principal::User(u) => Ok(directory::roles_of_users(context::db(ctx)?, &[u.user_id])
                .await
                .map_err(errors::db)?
                .remove(&u.user_id)
                .unwrap_or_default()
                .into_iter()
                .map(RoleAssignment)
                .collect()),
        }
    }
}

async fn me(ctx: &Context<'_>, user_id: uuid::Uuid) -> Result<Option<User>> {
    let loader = ctx.data::<RequestLoader>()?;
    Ok(loader
        .load_one(UserKey(user_id))
        .await
        .map_err(load_err)?
        .map(User::new))
}

/// Directory queries.
#[derive(Default)]
pub struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// Who the token is: kind, user, account, roles.
    async fn viewer(&self) -> Viewer {
        Viewer
    }

    /// The caller's own user (null for Support).
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match context::principal(ctx)? {
            Principal::Support { .. } => Ok(None),
            Principal::User(u) => user_with_selection(ctx, u.user_id).await,
        }
    }

    /// Accounts by name: every account for Support; a user sees only their own.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
        #[graphql(desc = "Case-insensitive substring of the account name (at most 100 characters).")] search: Option<
            SearchText,
        >,
    ) -> Result<Paged<AccountConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        let p = context::principal(ctx)?;
        let search = search.as_ref().map(SearchText::as_str);
        if let Some(plan) = built::plan(ctx, &Account::columns()) {
            let page = Account::built_page(context::db(ctx)?, p, search, &plan, &req).await;
            return Ok(Paged::Built(page.map_err(errors::db)?));
        }
        let (page, total) = connection::fetch(ctx, directory::accounts_select(p, search), &req).await?;
        Ok(Paged::Resolved(AccountConnection::from_page(page, total, Account::new)))
    }

    /// One account by id; null when unknown or not visible to the caller.
    async fn account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's global id.")] id: IdArg,
    ) -> Result<Option<Account>> {
        let Some(key) = ids::decode_as(&id, Kind::Account) else {
            return Ok(None);
        };
        let p = context::principal(ctx)?;
        let account = match ctx.data_opt::<Own>() {
            // The caller's own account, read with who they are at the start of this request.
            Some(own) if own.account.id == key && p.sees_account(key) => Some(own.account.clone()),
            _ => directory::account(context::db(ctx)?, p, key)
                .await
                .map_err(errors::db)?,
        };
        if let Some(account) = &account {
            // The account's fields (its mobility users, say) find it in the request's loader
            // instead of reading it again.
            let loader = ctx.data::<RequestLoader>()?;
            loader.feed_one(AccountKey(account.id), account.clone()).await;
        }
        Ok(account.map(Account::new))
    }
}
