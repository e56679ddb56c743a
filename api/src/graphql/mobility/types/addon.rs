//! `Mobility`: an account's Connect for Mobile add-on, its state, defaults and users.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use entity::mobility_account;
use uuid::Uuid;

use super::{Actor, MobilitySettings, MobilityState, MobilityUser, MobilityUserConnection, loader};
use crate::{
    graphql::{
        args::SearchText,
        built::{self, Paged},
        common::loader::load_err,
        connection, context,
        directory::loaders::{AccountKey, UserKey},
        errors,
        mobility::{
            loaders::{AddonOfAccount, MobilityOfUser},
            notifications::{MobilityNotification, MobilityNotificationConnection},
        },
        objects::{User, UserConnection, prefetch_users},
    },
    service::mobility::{self as service, MobilityUserFilter as Filter},
    state::AppState,
};

/// An account's Connect for Mobile add-on: its state, settings and users.
#[derive(Clone, Debug)]
pub struct Mobility {
    /// The account.
    pub account_id: Uuid,
    /// The add-on row, when already at hand (a mutation's result).
    pub addon: Option<mobility_account::Model>,
}

impl Mobility {
    /// The add-on of an account, loaded when asked for.
    pub fn of(account_id: Uuid) -> Self {
        Self {
            account_id,
            addon: None,
        }
    }

    async fn addon(&self, ctx: &Context<'_>) -> Result<mobility_account::Model> {
        if let Some(addon) = &self.addon {
            return Ok(addon.clone());
        }
        Ok(loader(ctx)?
            .load_one(AddonOfAccount(self.account_id))
            .await
            .map_err(load_err)?
            .unwrap_or_else(|| service::untouched(self.account_id)))
    }
}

/// Connect for Mobile's part of `Account` ([`objects::Account`](crate::graphql::objects::Account)).
#[derive(Clone, Debug)]
pub struct AccountMobilityFields(pub Arc<entity::account::Model>);

#[Object]
impl AccountMobilityFields {
    /// The account's Connect for Mobile add-on: state, settings, enabled users.
    async fn mobility(&self) -> Mobility {
        Mobility::of(self.0.id)
    }
}

/// The values an activation fills in when left out (SPEC M2), for pre-filling the form.
#[derive(SimpleObject, Clone, Debug)]
pub struct MobilityDefaults {
    /// Written at activation when no reverse-dial number is stored or given.
    pub reverse_dial_number: String,
    /// Written at activation when no handover number is stored or given.
    pub handover_number: String,
    /// Suggested voicemail access number.
    pub voicemail_access_number: String,
}

/// Per-column filters of the enabled users' list; each is a case-insensitive substring (at most
/// 100 characters).
#[derive(InputObject, Clone, Debug, Default)]
pub struct MobilityUserFilter {
    /// Part of the name.
    pub name: Option<SearchText>,
    /// Part of the phone number.
    pub phone_number: Option<SearchText>,
    /// Part of the extension.
    pub extension: Option<SearchText>,
    /// Part of the mobility extension.
    pub mobility_extension: Option<SearchText>,
}

/// An account's Connect for Mobile add-on: its state, settings and users.
#[Object]
impl Mobility {
    /// Whether the account's platform offers Connect for Mobile (MiCloud Connect only).
    async fn available(&self, ctx: &Context<'_>) -> Result<bool> {
        let account = loader(ctx)?
            .load_one(AccountKey(self.account_id))
            .await
            .map_err(load_err)?;
        Ok(account.is_some_and(|a| a.platform == entity::Platform::MicloudConnect))
    }

    /// Where the add-on stands.
    async fn state(&self, ctx: &Context<'_>) -> Result<MobilityState> {
        Ok(self.addon(ctx).await?.state.into())
    }

    /// The add-on's settings.
    async fn settings(&self, ctx: &Context<'_>) -> Result<MobilitySettings> {
        Ok(MobilitySettings(self.addon(ctx).await?))
    }

    /// What an activation fills in when left out, for pre-filling the activation form.
    async fn defaults(&self, ctx: &Context<'_>) -> Result<MobilityDefaults> {
        let d = &ctx.data::<AppState>()?.settings.mobility;
        Ok(MobilityDefaults {
            reverse_dial_number: d.reverse_dial_number.clone(),
            handover_number: d.handover_number.clone(),
            voicemail_access_number: d.voicemail_access_number.clone(),
        })
    }

    /// The users enabled for mobility that the caller manages (a location's Phone Manager: its
    /// locations only), by name then id.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
        #[graphql(
            desc = "Case-insensitive substring of the name, phone number, extension or mobility extension (at most 100 characters)."
        )]
        search: Option<SearchText>,
        #[graphql(desc = "Per-column filters, all of which must match.")] filter: Option<MobilityUserFilter>,
    ) -> Result<Paged<MobilityUserConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        let p = context::principal(ctx)?;
        let f = filter.unwrap_or_default();
        let text = |t: Option<SearchText>| t.map(|t| t.as_str().to_owned());
        let filter = Filter {
            name: text(f.name),
            phone_number: text(f.phone_number),
            extension: text(f.extension),
            mobility_extension: text(f.mobility_extension),
        };
        let search = search.as_ref().map(SearchText::as_str);
        let db = context::db(ctx)?;
        let select = || service::mobility_users_select(db.get_database_backend(), p, self.account_id, search, &filter);
        // One statement: the page with each user's mobility record, and the count when it is
        // asked for.
        let count = || service::mobility_users_count(db.get_database_backend(), p, self.account_id, search, &filter);
        let columns = MobilityUser::columns();
        if let Some(plan) = built::plan(ctx, &columns) {
            let shape = service::mobility_users_shape(p, self.account_id, search, &filter);
            let value = built::fetch(
                db,
                &plan,
                &columns,
                &MobilityUser::NAMES,
                Some(&shape),
                select,
                &req,
                |_| count(),
            )
            .await
            .map_err(errors::db)?;
            return Ok(Paged::Built(value));
        }
        let count = connection::wants_total(ctx).then(count);
        let (page, total) = service::mobility_users_page(db, select(), &req, count)
            .await
            .map_err(errors::db)?;
        let loader = loader(ctx)?;
        // Everything the items ask for loads here, in one batch each, before they resolve.
        loader
            .feed_many(page.rows.iter().map(|(_, (u, m))| (MobilityOfUser(u.id), m.clone())))
            .await;
        if let Some(account) = loader.load_one(AccountKey(self.account_id)).await.map_err(load_err)? {
            prefetch_users(ctx, &account, page.rows.iter().map(|(_, (u, _))| u), &["user"]).await?;
        }
        let look = ctx.look_ahead();
        if [look.field("nodes"), look.field("edges").field("node")]
            .iter()
            .any(|item| item.field("enabledBy").exists())
        {
            let actors = page
                .rows
                .iter()
                .filter_map(|(_, (_, m))| Actor(m.enabled_by.clone()).user_id());
            loader.load_many(actors.map(UserKey)).await.map_err(load_err)?;
        }
        let page = connection_page(page, |(user, mobility)| Some(MobilityUser { user, mobility }));
        Ok(Paged::Resolved(MobilityUserConnection::from_page(page, total, |m| m)))
    }

    /// The wizard's first step: users the caller manages who have an Essentials, Premier or
    /// Elite profile and are not enabled yet, by name then id.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn eligible_users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
        #[graphql(
            desc = "Case-insensitive substring of the name, phone number or extension (at most 100 characters)."
        )]
        search: Option<SearchText>,
    ) -> Result<Paged<UserConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        let p = context::principal(ctx)?;
        let search = search.as_ref().map(SearchText::as_str);
        let shape = service::eligible_users_shape(p, self.account_id, search);
        let select = || service::eligible_users_select(p, self.account_id, search);
        if let Some(built) = connection::built(ctx, &User::columns(), &User::NAMES, &shape, select, &req).await? {
            return Ok(Paged::Built(built));
        }
        let (page, total) = connection::fetch(ctx, select(), &req).await?;
        let account = loader(ctx)?
            .load_one(AccountKey(self.account_id))
            .await
            .map_err(load_err)?;
        if let Some(account) = account {
            prefetch_users(ctx, &account, page.rows.iter().map(|(_, u)| u), &[]).await?;
        }
        Ok(Paged::Resolved(UserConnection::from_page(page, total, User::new)))
    }

    /// Settings-change notifications and their delivery per recipient, newest first; null for
    /// callers other than Support, the account's Decision Makers and account-wide Phone Managers.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items from the start of the list (at most 100; default 20).")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items from the end of the list (at most 100).")] last: Option<i32>,
        #[graphql(desc = "End before this cursor.")] before: Option<String>,
    ) -> Result<Option<MobilityNotificationConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        if !service::may_read_notifications(context::principal(ctx)?, self.account_id) {
            return Ok(None);
        }
        let select = service::notifications_select(self.account_id);
        let (page, total) = connection::fetch(ctx, select, &req).await?;
        Ok(Some(MobilityNotificationConnection::from_page(
            page,
            total,
            MobilityNotification,
        )))
    }
}

/// Keeps the rows of a page that map to something (a row removed between the two reads drops).
fn connection_page<T, U>(
    page: crate::service::pagination::Page<T>,
    mut f: impl FnMut(T) -> Option<U>,
) -> crate::service::pagination::Page<U> {
    crate::service::pagination::Page {
        rows: page
            .rows
            .into_iter()
            .filter_map(|(c, t)| f(t).map(|u| (c, u)))
            .collect(),
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    }
}
