//! `PlatformSyncRun`: one run of the communication-platform sync, with its counts and errors.

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::platform_sync_run;

use crate::graphql::{
    directory::{
        loaders::{AccountKey, RequestLoader, load_err},
        types::Account,
    },
    ids::{self, Kind},
    mobility::types::Actor,
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
            .map(Account))
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

    /// What went wrong.
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
