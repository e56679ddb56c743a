//! The time Reach goes by where time is part of the answer: the status scheduler, the schedule's
//! next change and the routing preview. It is the system clock unless a test stops it at a
//! moment of its choosing (`set`), which also wakes the scheduler at once.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// The clock, shared by everything one process runs.
#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    /// The moment a test stopped the clock at; `None` is the system clock.
    fixed: Mutex<Option<DateTime<Utc>>>,
    moved: Notify,
}

impl Clock {
    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        self.0
            .fixed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unwrap_or_else(Utc::now)
    }

    /// Stops the clock at `at` (tests), and wakes whoever waits on [`Clock::moved`].
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.fixed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(at);
        self.0.moved.notify_waiters();
    }

    /// Completes when a test moves the clock.
    pub async fn moved(&self) {
        self.0.moved.notified().await;
    }
}
