//! The plugin registry and runner: the [`Plugin`] trait, [`PluginHost`] that starts every
//! registered plugin's event feed and jobs, and [`Wake`], which lets the API wake them right
//! after a commit instead of at the next poll.
//!
//! The public face is here; each plugin's `feed` reads the log and hands it the events, and
//! `cursor` keeps the feed's row in `plugin_cursor` (its lease and its place in the log).

mod cursor;
mod feed;

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use entity::event::Logged;
use sea_orm::DatabaseConnection;
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::settings::PluginSettings;
use feed::Feed;

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

    /// Writes what the plugin gathered from the events handled so far, before the feed moves the
    /// plugin's place past them (a plugin may batch its writes across a read of the log). An
    /// error leaves the place where it was: those events come again.
    async fn flush(&self) -> Result<(), PluginError> {
        Ok(())
    }

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

    /// The registered plugins' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.plugins.iter().map(|p| p.name()).collect()
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
