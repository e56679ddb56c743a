//! `PlatformSyncRun`: one run of the communication-platform sync, with its counts and errors;
//! `PlatformConnection`: where an account's platform is (never its token); the account's runs.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{platform_connection, platform_sync_run};

use crate::{
    graphql::{
        common::actor::Actor,
        common::loader::{RequestLoader, load_err},
        connection::{self, connection},
        context,
        directory::loaders::AccountKey,
        errors,
        ids::{self, Kind},
        objects::Account,
    },
    policy::Access,
    service::sync,
};

/// Where a sync run stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::SyncRunState")]
pub enum SyncRunState {
    /// Asked for; not started yet.
    Pending,
    /// Running.
    Running,
    /// Finished without error.
    Succeeded,
    /// Stopped by an error; nothing unconfirmed was changed.
    Failed,
}

/// One run of the platform sync of an MX-ONE account.
#[derive(Clone, Debug)]
pub struct PlatformSyncRun(pub platform_sync_run::Model);

/// One run of the communication-platform sync of an MX-ONE account: its state, its counts of
/// remote extensions created, updated, removed and kept, and its errors.
#[Object]
impl PlatformSyncRun {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::PlatformSyncRun, self.0.id)
    }

    /// The account synchronised.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        Ok(ctx
            .data::<RequestLoader>()?
            .load_one(AccountKey(self.0.account_id))
            .await
            .map_err(load_err)?
            .map(Account::new))
    }

    /// Where it stands.
    async fn state(&self) -> SyncRunState {
        self.0.state.into()
    }

    /// Who or what asked for it.
    async fn requested_by(&self) -> Actor {
        Actor(self.0.requested_by.clone())
    }

    /// When it was asked for.
    async fn requested_at(&self) -> DateTime<Utc> {
        self.0.requested_at
    }

    /// When it started.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }

    /// When it finished.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }

    /// Remote extensions created.
    async fn created(&self) -> i32 {
        self.0.created
    }

    /// Remote extensions updated.
    async fn updated(&self) -> i32 {
        self.0.updated
    }

    /// Remote extensions removed.
    async fn removed(&self) -> i32 {
        self.0.removed
    }

    /// Remote extensions gone from the platform but kept (and flagged) because a status uses them.
    async fn kept(&self) -> i32 {
        self.0.kept
    }

    /// User-created remote extensions sent to the platform.
    async fn exported(&self) -> i32 {
        self.0.exported
    }

    /// Created, updated and removed together: 0 when the run found nothing to change.
    async fn changes(&self) -> i32 {
        self.0.created + self.0.updated + self.0.removed + self.0.exported
    }

    /// What the run could not apply (an unknown `userRef`, a number against R3/R4, a refusal of
    /// the platform), the numbers it kept, and for a `FAILED` run why it stopped.
    async fn errors(&self) -> Vec<String> {
        self.0
            .errors
            .as_array()
            .map(|a| a.iter().filter_map(|e| e.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// Bumped at each change of the run.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

connection!(
    PlatformSyncRunConnection,
    PlatformSyncRunEdge,
    PlatformSyncRun,
    "A page of sync runs, newest first.",
    "A sync run in a page."
);

/// Where an MX-ONE account's communication platform is. The token is stored sealed and is never
/// given back; `tokenSet` says one is there.
#[derive(Clone, Debug)]
pub struct PlatformConnection(pub platform_connection::Model);

/// Where an MX-ONE account's communication platform is, and when its next scheduled sync is due.
/// The token is never readable back.
#[Object]
impl PlatformConnection {
    /// The platform's base URL.
    async fn base_url(&self) -> &str {
        &self.0.base_url
    }

    /// The account's name on the platform.
    async fn platform_account(&self) -> &str {
        &self.0.platform_account
    }

    /// Whether a token is stored (always true once set; the token itself is never shown).
    async fn token_set(&self) -> bool {
        !self.0.token_sealed.is_empty()
    }

    /// When the next scheduled run is due.
    async fn next_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_run_at
    }

    /// Runs failed in a row (the schedule backs off after each).
    async fn failures_in_a_row(&self) -> i32 {
        self.0.failures
    }

    /// When it was last set.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Who set it last.
    async fn updated_by(&self) -> Actor {
        Actor(self.0.updated_by.clone())
    }
}

/// `Account.platformConnection`: Support, Decision Makers and account-wide Phone Managers;
/// null for others and where none is set.
async fn connection_of(ctx: &Context<'_>, account_id: uuid::Uuid) -> Result<Option<PlatformConnection>> {
    let p = context::principal(ctx)?;
    if sync::may_read_runs(p, account_id) != Access::Allowed {
        return Ok(None);
    }
    let found = sync::connection::connection_of(context::db(ctx)?, account_id)
        .await
        .map_err(errors::db)?;
    Ok(found.map(PlatformConnection))
}

/// `Account.syncRuns`: newest first; null for callers who may not read them.
async fn runs_of(
    ctx: &Context<'_>,
    account_id: uuid::Uuid,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Option<PlatformSyncRunConnection>> {
    let p = context::principal(ctx)?;
    if sync::may_read_runs(p, account_id) != Access::Allowed {
        return Ok(None);
    }
    let req = connection::page_request(first, after, last, before)?;
    let db = context::db(ctx)?;
    let page = sync::runs_page(db, account_id, &req).await.map_err(errors::db)?;
    let total = if connection::wants_total(ctx) {
        Some(sync::runs_count(db, account_id).await.map_err(errors::db)?)
    } else {
        None
    };
    Ok(Some(PlatformSyncRunConnection::from_page(page, total, PlatformSyncRun)))
}

/// The sync's part of `Account` ([`objects::Account`](crate::graphql::objects::Account)).
#[derive(Clone, Debug)]
pub struct AccountSyncFields(pub Arc<entity::account::Model>);

#[Object]
impl AccountSyncFields {
    /// Where the account's communication platform is (MX-ONE; Support, Decision Makers and
    /// account-wide Phone Managers): null where none is set or for other callers.
    async fn platform_connection(&self, ctx: &Context<'_>) -> Result<Option<PlatformConnection>> {
        connection_of(ctx, self.0.id).await
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
    ) -> Result<Option<PlatformSyncRunConnection>> {
        runs_of(ctx, self.0.id, first, after, last, before).await
    }
}
