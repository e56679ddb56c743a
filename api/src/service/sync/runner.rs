//! One run of the platform sync for one account, by the process that claimed it.
//!
//! 1. The platform's numbers are read page by page (memory holds one page, not the platform)
//!    and each page is applied in its own transaction ([`super::import::apply_page`]); the run's
//!    counts are saved and its lease renewed after every page, so subscribers and `reach sync`
//!    follow it.
//! 2. Only after the last page — a complete listing — are the numbers the platform no longer has
//!    removed (or kept and flagged when a status uses them).
//! 3. User-created remote extensions the platform lacks are sent to it.
//!
//! A platform that is down, slow or answers garbage fails the run with the reason; what earlier
//! pages applied was confirmed by the platform and stays, nothing is removed, and the schedule
//! tries again with backoff. A second run after a successful one finds nothing to change.

mod report;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use entity::{SyncRunState, account, platform_sync_run};
use integrations::{
    PlatformSettings,
    platform::{
        PlatformConnector, PlatformNumber,
        observe::{RunOutcome, SyncObserver},
    },
};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};
use uuid::Uuid;

use super::{
    export::{self, SendError, Sent},
    import::{self, Notes, Scope},
    seal::TokenKey,
    withdraw,
};
use crate::{policy::Principal, service::remote::RemoteSettings};

/// Follows a run as it goes: the run as last saved, and how many platform numbers were read.
pub type Progress<'a> = &'a (dyn Fn(&platform_sync_run::Model, u64) + Send + Sync);

/// Runs claimed runs.
#[derive(Clone, Debug)]
pub struct Runner {
    db: DatabaseConnection,
    settings: PlatformSettings,
    remote: RemoteSettings,
    key: TokenKey,
    owner: String,
    /// Told of each run that ends (the metrics).
    observer: report::Observer,
}

/// Why a run stopped early.
enum Stop {
    /// It failed: the reason goes into its errors.
    Failed(String),
    /// Another process declared it abandoned; it is not this process's to finish.
    Lost,
}

impl From<DbErr> for Stop {
    fn from(e: DbErr) -> Self {
        tracing::error!(error = %e, "platform sync: database error");
        Stop::Failed("the database failed during the run; it will be tried again".into())
    }
}

/// What reading the platform's listing found.
#[derive(Default)]
struct Listing {
    /// How many platform numbers were read.
    read: u64,
    /// Numbers that moved between users, applied once the listing is complete.
    later: Vec<PlatformNumber>,
}

/// The cursor of the page after this one (`None` after the last).
fn next_page(next: Option<String>, seen: &mut HashSet<String>) -> Result<Option<String>, Stop> {
    match next {
        None => Ok(None),
        // A cursor seen before would list the same pages again, for ever.
        Some(next) if !seen.insert(next.clone()) => Err(Stop::Failed(
            "the platform's answer could not be read (its page cursors go round in a circle)".into(),
        )),
        Some(next) => Ok(Some(next)),
    }
}

impl Runner {
    /// A runner for this process (`owner` names it in leases).
    pub fn new(
        db: DatabaseConnection,
        settings: PlatformSettings,
        remote: RemoteSettings,
        key: TokenKey,
        owner: String,
    ) -> Self {
        Self {
            db,
            settings,
            remote,
            key,
            owner,
            observer: report::Observer::default(),
        }
    }

    /// The runner, telling `observer` of each run that ends.
    #[must_use]
    pub fn observed(mut self, observer: Arc<dyn SyncObserver>) -> Self {
        self.observer = report::Observer(observer);
        self
    }

    fn lease(&self) -> chrono::Duration {
        self.settings.lease()
    }

    /// Takes the oldest waiting run (or `only` that one), if any is free.
    pub async fn claim(&self, only: Option<Uuid>) -> Result<Option<platform_sync_run::Model>, DbErr> {
        super::claim_run(&self.db, &self.owner, self.lease(), only).await
    }

    /// Runs a claimed run to its end and records how it ended; answers the run as it ended.
    pub async fn execute(
        &self,
        mut run: platform_sync_run::Model,
        progress: Progress<'_>,
    ) -> Result<platform_sync_run::Model, DbErr> {
        let tally = report::Tally::start();
        let counting = |run: &platform_sync_run::Model, read: u64| {
            tally.read(read);
            progress(run, read);
        };
        let mut notes = Notes::default();
        let outcome = self.sync(&mut run, &mut notes, &counting).await;
        let state = match outcome {
            Ok(()) => SyncRunState::Succeeded,
            Err(Stop::Lost) => {
                self.observer.ended(&run, RunOutcome::Lost, &tally);
                return Ok(run);
            }
            Err(Stop::Failed(why)) => {
                notes.push(why);
                SyncRunState::Failed
            }
        };
        run.errors = notes.to_json();
        super::finish_run(
            &self.db,
            &mut run,
            &self.owner,
            state,
            self.settings.interval(),
            self.settings.retry(),
        )
        .await?;
        tracing::info!(
            run = %run.id, account = %run.account_id, state = ?run.state, created = run.created,
            updated = run.updated, removed = run.removed, kept = run.kept, exported = run.exported,
            "platform sync run ended"
        );
        let outcome = match state {
            SyncRunState::Succeeded => RunOutcome::Succeeded,
            _ => RunOutcome::Failed,
        };
        self.observer.ended(&run, outcome, &tally);
        progress(&run, 0);
        Ok(run)
    }

    /// Ends a run this process holds as `FAILED` because the process is stopping.
    pub async fn abandon(&self, id: Uuid) -> Result<(), DbErr> {
        let Some(mut run) = super::runs_by_id(&self.db, &[id]).await?.remove(&id) else {
            return Ok(());
        };
        let mut errors = run.errors.as_array().cloned().unwrap_or_default();
        errors.push(serde_json::json!("the server stopped before the run finished"));
        run.errors = serde_json::Value::Array(errors);
        let retry = self.settings.retry();
        super::finish_run(&self.db, &mut run, &self.owner, SyncRunState::Failed, retry, retry).await?;
        Ok(())
    }

    async fn save(&self, run: &mut platform_sync_run::Model, notes: &Notes) -> Result<(), Stop> {
        run.errors = notes.to_json();
        if super::progress_run(&self.db, run, &self.owner, self.lease()).await? {
            Ok(())
        } else {
            Err(Stop::Lost)
        }
    }

    async fn sync(
        &self,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        progress: Progress<'_>,
    ) -> Result<(), Stop> {
        let db = &self.db;
        let Some(account) = account::Entity::find_by_id(run.account_id).one(db).await? else {
            return Err(Stop::Failed("the account is gone".into()));
        };
        let Some(conn) = super::connection::connection_of(db, account.id).await? else {
            return Err(Stop::Failed("the account has no platform connection".into()));
        };
        let connector = export::connector(&conn, &self.key, &self.settings).map_err(|e| Stop::Failed(e.to_string()))?;
        let users = import::users_by_extension(db, account.id).await?;
        self.import(run, notes, progress, &account, &users, &connector).await?;
        self.export(run, notes, &account, &connector).await
    }

    /// Imports the platform's listing: withdrawals first, then every page, then (the listing being
    /// complete) the numbers it no longer holds and the numbers that moved between users.
    async fn import(
        &self,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        progress: Progress<'_>,
        account: &account::Model,
        users: &HashMap<String, Uuid>,
        connector: &dyn PlatformConnector,
    ) -> Result<(), Stop> {
        let principal = super::sync_principal();
        let lease = self.lease();
        let started = chrono::Utc::now();
        let scope = Scope {
            hold: (&self.owner, lease),
            account,
            users,
            remote: &self.remote,
            run_id: run.id,
            started,
            p: &principal,
        };
        // What users deleted or changed goes first, so that the listing does not show it.
        withdraw::drain(&self.db, connector, account.id, Some(notes))
            .await
            .map_err(|e| self.settle_failed(e))?;
        let listing = self.apply_listing(&scope, connector, run, notes, progress).await?;
        self.remove_unlisted(&scope, run, notes, listing.read).await?;
        self.apply_moved(&scope, run, notes, &listing.later).await?;
        progress(run, listing.read);
        Ok(())
    }

    /// Reads the platform's numbers page by page, applying each page in its own transaction and
    /// following the run after each.
    async fn apply_listing(
        &self,
        scope: &Scope<'_>,
        connector: &dyn PlatformConnector,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        progress: Progress<'_>,
    ) -> Result<Listing, Stop> {
        let mut listing = Listing::default();
        let mut cursor: Option<String> = None;
        let mut cursors = HashSet::new();
        loop {
            let page = connector
                .list(cursor.as_deref(), self.settings.page_size)
                .await
                .map_err(|e| Stop::Failed(format!("reading the platform's numbers failed: {e}")))?;
            listing.read += page.items.len() as u64;
            self.apply_listed_page(scope, connector, &page.items, run, notes, &mut listing.later)
                .await?;
            progress(run, listing.read);
            cursor = next_page(page.next_cursor, &mut cursors)?;
            if cursor.is_none() {
                return Ok(listing);
            }
        }
    }

    /// Applies one page of the listing, then deletes on the platform the numbers the page
    /// withdrew; numbers that moved between users are left in `later`.
    async fn apply_listed_page(
        &self,
        scope: &Scope<'_>,
        connector: &dyn PlatformConnector,
        items: &[PlatformNumber],
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        later: &mut Vec<PlatformNumber>,
    ) -> Result<(), Stop> {
        let mut withdrawals = Vec::new();
        if !import::apply_page(&self.db, scope, items, run, notes, Some(later), &mut withdrawals).await? {
            return Err(Stop::Lost);
        }
        for (w, platform_id) in &withdrawals {
            withdraw::settle(&self.db, connector, w, platform_id, Some(notes))
                .await
                .map_err(|e| self.settle_failed(e))?;
        }
        Ok(())
    }

    /// After a complete listing of `read` numbers: removes the numbers the platform no longer has
    /// (or keeps and flags them) and closes the withdrawals it no longer lists.
    async fn remove_unlisted(
        &self,
        scope: &Scope<'_>,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        read: u64,
    ) -> Result<(), Stop> {
        // An empty listing while Reach holds numbers from the platform is far likelier a wrong
        // platformAccount or a platform fault than a platform emptied: nothing is removed.
        if read == 0 && import::linked_count(&self.db, scope.account.id).await? > 0 {
            return Err(Stop::Failed(
                "the platform listed no numbers for this account although Reach holds numbers from it; \
                 nothing was removed (check platformAccount)"
                    .into(),
            ));
        }
        if !import::remove_unseen(&self.db, scope, run, notes).await? {
            return Err(Stop::Lost);
        }
        withdraw::close_unlisted(&self.db, scope.account.id, scope.started).await?;
        Ok(())
    }

    /// Numbers that moved between users: their old holder is gone now (or kept, and reported).
    async fn apply_moved(
        &self,
        scope: &Scope<'_>,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        later: &[PlatformNumber],
    ) -> Result<(), Stop> {
        for chunk in later.chunks(self.settings.page_size.max(1) as usize) {
            let mut withdrawals = Vec::new();
            if !import::apply_page(&self.db, scope, chunk, run, notes, None, &mut withdrawals).await? {
                return Err(Stop::Lost);
            }
        }
        Ok(())
    }

    fn settle_failed(&self, e: withdraw::SettleError) -> Stop {
        match e {
            withdraw::SettleError::Db(e) => e.into(),
            withdraw::SettleError::Platform(e) => {
                Stop::Failed(format!("deleting a withdrawn number on the platform failed: {e}"))
            }
        }
    }

    async fn export(
        &self,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        account: &account::Model,
        connector: &dyn PlatformConnector,
    ) -> Result<(), Stop> {
        let mut after = Uuid::nil();
        let mut saved = std::time::Instant::now();
        // Saving renews the run's lease (and finds out whether this process still holds it).
        let renew = std::time::Duration::from_secs(self.settings.lease_seconds / 4 + 1);
        loop {
            let batch = export::waiting(&self.db, account.id, after, 100).await?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            after = last.id;
            for number in &batch {
                if saved.elapsed() >= renew {
                    self.save(run, notes).await?;
                    saved = std::time::Instant::now();
                }
                match export::send(&self.db, connector, number).await {
                    Ok(Sent::Created(_)) => run.exported += 1,
                    Ok(Sent::Refused(why)) => notes.push(format!("{}: the platform refused it: {why}", number.number)),
                    Ok(Sent::Skipped) => {}
                    Err(SendError::Db(e)) => return Err(e.into()),
                    Err(SendError::Platform(e)) => {
                        return Err(Stop::Failed(format!(
                            "sending {} to the platform failed: {e}",
                            number.number
                        )));
                    }
                }
            }
            self.save(run, notes).await?;
            saved = std::time::Instant::now();
        }
    }
}

/// The principal of runs asked for from the command line.
pub fn cli_principal() -> Principal {
    Principal::Support { name: "cli".into() }
}
