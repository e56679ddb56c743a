//! The `platform` plugin (`[plugins.platform]`): sends users' remote extensions to the platform
//! as their events commit, asks for each account's scheduled runs, and runs the runs.

use std::{sync::Arc, time::Duration};

use entity::{
    NumberOrigin,
    event::{Event, Logged},
    platform_connection, user_number,
};
use integrations::{
    JobContext, PlatformSettings, Plugin, PluginError,
    host::Job,
    platform::{
        http::HttpConnector,
        observe::{SyncObserver, Unobserved},
    },
};
use sea_orm::{ActiveEnum, DatabaseConnection, EntityTrait};

use super::{
    connection::connection_of,
    export::{self, SendError},
    runner::Runner,
    seal::TokenKey,
    withdraw,
};
use crate::service::remote::RemoteSettings;

/// The platform sync plugin.
pub struct PlatformPlugin {
    db: DatabaseConnection,
    settings: PlatformSettings,
    key: TokenKey,
    remote: RemoteSettings,
    /// Told of each run this process ends (the metrics).
    observer: Arc<dyn SyncObserver>,
}

impl PlatformPlugin {
    /// The plugin over `db`.
    pub fn new(db: DatabaseConnection, settings: PlatformSettings, key: TokenKey, remote: RemoteSettings) -> Self {
        Self {
            db,
            settings,
            key,
            remote,
            observer: Arc::new(Unobserved),
        }
    }

    /// The plugin, telling `observer` of each run its workers end.
    #[must_use]
    pub fn observed(mut self, observer: Arc<dyn SyncObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The account's connector, when it has a connection.
    async fn connector_for(&self, account_id: uuid::Uuid) -> Result<Option<HttpConnector>, PluginError> {
        let Some(conn): Option<platform_connection::Model> = connection_of(&self.db, account_id).await.map_err(fail)?
        else {
            return Ok(None);
        };
        match export::connector(&conn, &self.key, &self.settings) {
            Ok(c) => Ok(Some(c)),
            // A token this server cannot open will not open later either; the runs report it.
            Err(e) => {
                tracing::warn!(account = %account_id, error = %e, "platform sync: no usable connection");
                Ok(None)
            }
        }
    }

    /// A user's remote extension created or changed: what the platform must forget goes first,
    /// then the number is sent.
    async fn number_changed(&self, event: &Logged) -> Result<(), PluginError> {
        let Some(account_id) = event.account_id else {
            return Ok(());
        };
        let Some(connector) = self.connector_for(account_id).await? else {
            return Ok(());
        };
        if !self.withdraw(&connector, account_id).await? {
            return Ok(());
        }
        let Some(number) = user_number::Entity::find_by_id(event.aggregate_id)
            .one(&self.db)
            .await
            .map_err(fail)?
        else {
            return Ok(());
        };
        match export::send(&self.db, &connector, &number).await {
            Ok(_) => Ok(()),
            Err(SendError::Db(e)) => Err(fail(e)),
            Err(SendError::Platform(e)) => self.later(account_id, &e.to_string()).await,
        }
    }

    /// A user's remote extension deleted: the platform forgets it.
    async fn number_deleted(&self, event: &Logged) -> Result<(), PluginError> {
        let Some(account_id) = event.account_id else {
            return Ok(());
        };
        let Some(connector) = self.connector_for(account_id).await? else {
            return Ok(());
        };
        self.withdraw(&connector, account_id).await.map(|_| ())
    }

    /// Works off the account's withdrawals; false when the platform failed (a run will retry).
    async fn withdraw(&self, connector: &HttpConnector, account_id: uuid::Uuid) -> Result<bool, PluginError> {
        match withdraw::drain(&self.db, connector, account_id, None).await {
            Ok(()) => Ok(true),
            Err(withdraw::SettleError::Db(e)) => Err(fail(e)),
            Err(withdraw::SettleError::Platform(e)) => self.later(account_id, &e.to_string()).await.map(|()| false),
        }
    }

    /// The platform failed for this account: its next run (which sends and withdraws what is
    /// waiting) is brought forward to the retry delay, and this event is done. One account's
    /// platform being down never holds up another account's events.
    async fn later(&self, account_id: uuid::Uuid, why: &str) -> Result<(), PluginError> {
        tracing::warn!(account = %account_id, error = why, "platform sync: the platform failed; a run will retry");
        super::run_within(&self.db, account_id, self.settings.retry())
            .await
            .map_err(fail)
    }
}

fn fail(e: sea_orm::DbErr) -> PluginError {
    PluginError(format!("database: {e}"))
}

#[async_trait::async_trait]
impl Plugin for PlatformPlugin {
    fn name(&self) -> &'static str {
        "platform"
    }

    fn summary(&self) -> String {
        format!(
            "platform sync every {} min per connected MX-ONE account, pages of {}",
            self.settings.interval_minutes, self.settings.page_size
        )
    }

    async fn handle(&self, event: &Logged) -> Result<(), PluginError> {
        match &event.event {
            // Only users' own remote extensions go out; the sync's imports come back as events
            // too and are passed over without a read.
            Event::UserNumberCreated(n) if n.origin == NumberOrigin::User.to_value() && n.is_remote_extension => {
                self.number_changed(event).await
            }
            // A new number, or a number that became (or stopped being) a remote extension.
            Event::UserNumberUpdated(u)
                if u.changes.contains_key("number") || u.changes.contains_key("isRemoteExtension") =>
            {
                self.number_changed(event).await
            }
            Event::UserNumberDeleted(_) => self.number_deleted(event).await,
            // Nothing else concerns the platform.
            _ => Ok(()),
        }
    }

    fn jobs(self: Arc<Self>, ctx: JobContext) -> Vec<Job> {
        let runner = Runner::new(
            self.db.clone(),
            self.settings.clone(),
            self.remote.clone(),
            self.key.clone(),
            ctx.owner.clone(),
        )
        .observed(self.observer.clone());
        vec![
            Box::pin(schedule(self.settings.clone(), ctx.clone())),
            Box::pin(work(runner, ctx)),
        ]
    }
}

/// Asks for the runs that are due and fails the ones whose process stopped.
async fn schedule(settings: PlatformSettings, ctx: JobContext) {
    let interval = settings.interval();
    loop {
        if let Err(e) = super::fail_abandoned(&ctx.db, interval, settings.retry()).await {
            tracing::warn!(error = %e, "platform sync: could not check for abandoned runs");
        }
        match super::schedule_due(&ctx.db, interval).await {
            Ok(0) => {}
            Ok(_) => ctx.wake.notify(),
            Err(e) => tracing::warn!(error = %e, "platform sync: could not schedule runs"),
        }
        tokio::select! {
            () = ctx.stop.cancelled() => return,
            () = tokio::time::sleep(ctx.poll.max(Duration::from_millis(200))) => {}
        }
    }
}

/// Runs waiting runs, one at a time in this process.
async fn work(runner: Runner, ctx: JobContext) {
    let mut woken = ctx.wake.subscribe();
    loop {
        woken.borrow_and_update();
        let pause = match runner.claim(None).await {
            Ok(Some(run)) => {
                let id = run.id;
                let done = tokio::select! {
                    () = ctx.stop.cancelled() => {
                        // Ended now rather than when its lease runs out; its last page is
                        // either committed with the counts or not at all.
                        if let Err(e) = runner.abandon(id).await {
                            tracing::warn!(run = %id, error = %e, "platform sync: could not end a run at shutdown");
                        }
                        return;
                    }
                    done = runner.execute(run, &|_, _| {}) => done,
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "platform sync: a run could not be recorded");
                }
                continue;
            }
            Ok(None) => ctx.poll,
            Err(e) => {
                tracing::warn!(error = %e, "platform sync: could not look for runs");
                ctx.poll.max(Duration::from_secs(1))
            }
        };
        tokio::select! {
            () = ctx.stop.cancelled() => return,
            _ = woken.changed() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
