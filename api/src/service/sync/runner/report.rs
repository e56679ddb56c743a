//! What a [`super::Runner`] tells its observer (the metrics) of each run it ends.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use entity::platform_sync_run;
use integrations::platform::observe::{RunOutcome, RunReport, SyncObserver, Unobserved};

/// A runner's observer: nobody unless [`super::Runner::observed`] names one.
#[derive(Clone)]
pub(super) struct Observer(pub(super) Arc<dyn SyncObserver>);

impl Default for Observer {
    fn default() -> Self {
        Self(Arc::new(Unobserved))
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// A run's figures its record does not keep: when it started, and the platform numbers read.
pub(super) struct Tally {
    started: Instant,
    read: AtomicU64,
}

impl Tally {
    /// Starts now.
    pub(super) fn start() -> Self {
        Self {
            started: Instant::now(),
            read: AtomicU64::new(0),
        }
    }

    /// The run has read `n` platform numbers so far.
    pub(super) fn read(&self, n: u64) {
        self.read.fetch_max(n, Ordering::Relaxed);
    }
}

impl Observer {
    /// Tells how `run` ended, with its `tally`.
    pub(super) fn ended(&self, run: &platform_sync_run::Model, outcome: RunOutcome, tally: &Tally) {
        let count = |n: i32| u64::try_from(n).unwrap_or(0);
        self.0.run_ended(&RunReport {
            outcome,
            elapsed: tally.started.elapsed(),
            read: tally.read.load(Ordering::Relaxed),
            created: count(run.created),
            updated: count(run.updated),
            removed: count(run.removed),
            kept: count(run.kept),
            exported: count(run.exported),
        });
    }
}
