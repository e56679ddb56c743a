//! The plugin registry and runner: the [`Plugin`] trait, [`PluginHost`] that starts every
//! registered plugin's event feed and jobs, and [`Wake`], which lets the API wake them right
//! after a commit instead of at the next poll.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use entity::{event::Logged, plugin_cursor};
use futures::FutureExt;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    log::{self, Cursor},
    settings::PluginSettings,
};

/// A background job of a plugin; it ends when its context's `stop` is cancelled.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A plugin's failure to handle an event; the event is offered again after a backoff.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PluginError(pub String);

/// A named component that receives the committed domain events and may run background jobs.
#[async_trait::async_trait]
pub trait Plugin: Send + Sync + 'static {
    /// Its name in `[plugins]` and in `plugin_cursor`.
    fn name(&self) -> &'static str;

    /// One line for the start-up listing (what it talks to; never a secret).
    fn summary(&self) -> String;

    /// Handles one committed event. Every event this version can read arrives at least once, in
    /// log order (a row it cannot read is passed over with a log line: `log::read_after`); an
    /// error leaves the plugin's place in the log where it is, so the same event comes again
    /// later.
    async fn handle(&self, event: &Logged) -> Result<(), PluginError>;

    /// The plugin's background jobs, started once per process.
    fn jobs(self: Arc<Self>, _ctx: JobContext) -> Vec<Job> {
        Vec::new()
    }
}

/// What a plugin's jobs get.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The database.
    pub db: DatabaseConnection,
    /// Cancelled when the process stops.
    pub stop: CancellationToken,
    /// Fires after this process commits a change.
    pub wake: Wake,
    /// This process's name in leases (`host:pid:random`).
    pub owner: String,
    /// How often to look for work when nothing wakes the job (`plugins.poll_interval_ms`).
    pub poll: Duration,
}

/// A signal the API raises after each change it commits; plugins wait on it between polls.
#[derive(Clone, Debug)]
pub struct Wake(Arc<watch::Sender<u64>>);

impl Default for Wake {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Wake {
    /// Wakes every waiting plugin of this process.
    pub fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver whose `changed()` completes at the next `notify` (or at once, if one came
    /// since it last looked).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The plugins of this process, before they start.
pub struct PluginHost {
    db: DatabaseConnection,
    settings: PluginSettings,
    wake: Wake,
    owner: String,
    plugins: Vec<Arc<dyn Plugin>>,
}

/// The running plugins' tasks.
pub struct RunningPlugins {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningPlugins {
    /// Stops every task and waits for them (at most `grace`).
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        let all = futures::future::join_all(self.tasks);
        let _ = tokio::time::timeout(grace, all).await;
    }
}

impl PluginHost {
    /// A host with no plugins yet.
    pub fn new(db: DatabaseConnection, settings: PluginSettings, wake: Wake) -> Self {
        let owner = format!(
            "{}:{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "reach".into()),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            db,
            settings,
            wake,
            owner,
            plugins: Vec::new(),
        }
    }

    /// Adds a plugin.
    pub fn register(&mut self, plugin: Arc<dyn Plugin>) {
        self.plugins.push(plugin);
    }

    /// `name: summary` of every registered plugin.
    pub fn summaries(&self) -> Vec<String> {
        self.plugins
            .iter()
            .map(|p| format!("{}: {}", p.name(), p.summary()))
            .collect()
    }

    /// Starts each plugin's event feed and jobs.
    pub fn start(self) -> RunningPlugins {
        let stop = CancellationToken::new();
        let ctx = JobContext {
            db: self.db.clone(),
            stop: stop.clone(),
            wake: self.wake.clone(),
            owner: self.owner.clone(),
            poll: Duration::from_millis(self.settings.poll_interval_ms),
        };
        let mut tasks = Vec::new();
        for plugin in self.plugins {
            let feed = Feed {
                plugin: plugin.clone(),
                ctx: ctx.clone(),
                lease: Duration::from_secs(self.settings.lease_seconds),
                registered: AtomicBool::new(false),
            };
            tasks.push(tokio::spawn(feed.run()));
            for job in plugin.jobs(ctx.clone()) {
                tasks.push(tokio::spawn(job));
            }
        }
        RunningPlugins { stop, tasks }
    }
}

/// How many events a feed reads at once.
const BATCH: u64 = 100;

/// How long a woken feed waits for more commits before it reads the log.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// How soon a feed looks again when committed events wait behind an older open transaction.
const BEHIND: Duration = Duration::from_millis(100);

/// Feeds one plugin the log from its cursor.
struct Feed {
    plugin: Arc<dyn Plugin>,
    ctx: JobContext,
    lease: Duration,
    /// Whether the cursor row is known to exist.
    registered: AtomicBool,
}

impl Feed {
    async fn run(self) {
        let name = self.plugin.name();
        let mut woken = self.ctx.wake.subscribe();
        let mut failures: u32 = 0;
        loop {
            woken.borrow_and_update();
            let pause = match self.round().await {
                Ok(Round::More) => {
                    failures = 0;
                    continue;
                }
                Ok(Round::Idle) => {
                    failures = 0;
                    self.ctx.poll
                }
                Ok(Round::Behind) => {
                    failures = 0;
                    BEHIND.min(self.ctx.poll)
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(plugin = name, failures, error = %e, "plugin could not handle an event; retrying");
                    let _ = self.note_failure(&e).await;
                    backoff(failures).max(self.ctx.poll)
                }
            };
            tokio::select! {
                () = self.ctx.stop.cancelled() => break,
                _ = woken.changed() => {
                    // Let a burst of commits gather into one read of the log.
                    tokio::time::sleep(DEBOUNCE).await;
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
        let _ = self.release().await;
    }

    /// Takes the cursor (or finds another process holding it), feeds one batch, moves the
    /// cursor past what was handled.
    async fn round(&self) -> Result<Round, FeedError> {
        let Some(cursor) = self.claim().await? else {
            return Ok(Round::Idle);
        };
        let batch = log::read_after(&self.ctx.db, cursor, BATCH).await?;
        let full = batch.rows as u64 == BATCH;
        let mut done = None;
        let mut failed = None;
        let mut renewed = std::time::Instant::now();
        for event in &batch.events {
            if self.ctx.stop.is_cancelled() {
                break;
            }
            // A slow plugin keeps its lease (and learns when it lost it) by saving its place
            // along the way, so no other process feeds it the same events meanwhile.
            if let Some(at) = done
                && renewed.elapsed() > self.lease / 3
            {
                if !self.advance(at).await? {
                    return Ok(Round::Idle);
                }
                renewed = std::time::Instant::now();
            }
            let handled = std::panic::AssertUnwindSafe(self.plugin.handle(event)).catch_unwind();
            match handled.await {
                Ok(Ok(())) => done = Some(Cursor::of_event(event)),
                Ok(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                Err(_) => {
                    failed = Some(PluginError(format!("panicked on event {}", event.id)));
                    break;
                }
            }
        }
        // Every event handled: past the rows skipped after the last of them too.
        if failed.is_none() && !self.ctx.stop.is_cancelled() {
            done = batch.last.or(done);
        }
        if let Some(at) = done {
            self.advance(at).await?;
        }
        match failed {
            Some(e) => Err(FeedError::Plugin(e)),
            None if full => Ok(Round::More),
            None if log::pending_after(&self.ctx.db, done.unwrap_or(cursor)).await? => Ok(Round::Behind),
            None => Ok(Round::Idle),
        }
    }

    /// The cursor, when this process holds (or now takes) its lease.
    async fn claim(&self) -> Result<Option<Cursor>, DbErr> {
        use plugin_cursor::Column;
        let now = Utc::now();
        let name = self.plugin.name();
        if !self.registered.load(Ordering::Relaxed) {
            self.register(now).await?;
            self.registered.store(true, Ordering::Relaxed);
        }
        let held = plugin_cursor::Entity::update_many()
            .col_expr(Column::LeaseOwner, Expr::value(self.ctx.owner.clone()))
            .col_expr(Column::LeaseUntil, Expr::value(now + self.lease))
            .filter(Column::Plugin.eq(name))
            .filter(
                Condition::any()
                    .add(Column::LeaseOwner.is_null())
                    .add(Column::LeaseOwner.eq(self.ctx.owner.clone()))
                    .add(Column::LeaseUntil.lt(now)),
            )
            .exec_with_returning(&self.ctx.db)
            .await?;
        Ok(held.first().map(|c| Cursor {
            txid: c.last_txid,
            position: c.last_position,
        }))
    }

    /// Creates the plugin's cursor at the start of the log, unless it exists.
    async fn register(&self, now: chrono::DateTime<Utc>) -> Result<(), DbErr> {
        plugin_cursor::Entity::insert(plugin_cursor::ActiveModel {
            plugin: Set(self.plugin.name().to_owned()),
            last_txid: Set(0),
            last_position: Set(0),
            lease_owner: Set(None),
            lease_until: Set(None),
            failures: Set(0),
            last_error: Set(None),
            updated_at: Set(now),
        })
        .on_conflict_do_nothing_on([plugin_cursor::Column::Plugin])
        .exec(&self.ctx.db)
        .await
        .map(|_| ())
    }

    /// An update of this plugin's cursor that applies only while this process holds it.
    fn held(&self) -> sea_orm::UpdateMany<plugin_cursor::Entity> {
        use plugin_cursor::Column;
        plugin_cursor::Entity::update_many()
            .filter(Column::Plugin.eq(self.plugin.name()))
            .filter(Column::LeaseOwner.eq(self.ctx.owner.clone()))
    }

    /// Saves the plugin's place and renews the lease; false when another process holds it now.
    async fn advance(&self, at: Cursor) -> Result<bool, DbErr> {
        use plugin_cursor::Column;
        let now = Utc::now();
        let done = self
            .held()
            .col_expr(Column::LastTxid, Expr::value(at.txid))
            .col_expr(Column::LastPosition, Expr::value(at.position))
            .col_expr(Column::Failures, Expr::value(0))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(now + self.lease))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .exec(&self.ctx.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    async fn note_failure(&self, e: &FeedError) -> Result<(), DbErr> {
        use plugin_cursor::Column;
        self.held()
            .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
            .col_expr(Column::LastError, Expr::value(e.to_string()))
            .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(&self.ctx.db)
            .await
            .map(|_| ())
    }

    /// Lets another process (or this one, restarted) take the cursor at once.
    async fn release(&self) -> Result<(), DbErr> {
        use plugin_cursor::Column;
        self.held()
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .exec(&self.ctx.db)
            .await
            .map(|_| ())
    }
}

enum Round {
    /// A full batch was handled; read on at once.
    More,
    /// Nothing left (or another process holds the cursor).
    Idle,
    /// Committed events wait behind an older open transaction (PostgreSQL): look again soon.
    Behind,
}

#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Plugin(PluginError),
}

/// 1 s, 2 s, 4 s … up to a minute, with jitter, between tries of a failing event.
fn backoff(failures: u32) -> Duration {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(60))
        .with_jitter()
        .without_max_times()
        .build()
        .nth(failures.saturating_sub(1) as usize)
        .unwrap_or(Duration::from_secs(60))
}
