//! What a platform sync run tells an observer when it ends: the seam through which `api` counts
//! runs (its metrics) without the sync knowing any metrics library. The runs themselves are in
//! `api` (`service::sync::runner`); the seam is here, beside the connector, so that neither side
//! needs the other's types.

use std::time::Duration;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// It finished: the platform's listing was applied and the exports sent.
    Succeeded,
    /// It failed (the platform, the database, the connection); the schedule tries again.
    Failed,
    /// Another process declared it abandoned before it ended here.
    Lost,
}

impl RunOutcome {
    /// Every outcome, for an observer that shows each one from the start.
    pub const ALL: [Self; 3] = [Self::Succeeded, Self::Failed, Self::Lost];

    /// Its name in lower case (`succeeded`, `failed`, `lost`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Lost => "lost",
        }
    }
}

/// One run as its observer is told of it: how it ended, how long it took, and its figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// How it ended.
    pub outcome: RunOutcome,
    /// From claimed to ended.
    pub elapsed: Duration,
    /// Numbers the platform listed.
    pub read: u64,
    /// Numbers it created in Reach.
    pub created: u64,
    /// Numbers it updated.
    pub updated: u64,
    /// Numbers it removed (the platform no longer has them).
    pub removed: u64,
    /// Numbers it kept and flagged (a status still uses them).
    pub kept: u64,
    /// User-created numbers it sent to the platform.
    pub exported: u64,
}

/// Told of every sync run that ends in this process.
pub trait SyncObserver: Send + Sync {
    /// A run ended.
    fn run_ended(&self, report: &RunReport);
}

/// Observes nothing (a runner's default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unobserved;

impl SyncObserver for Unobserved {
    fn run_ended(&self, _: &RunReport) {}
}
