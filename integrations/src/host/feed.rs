//! A plugin's feed: reads the log after the plugin's cursor in batches, hands each event to
//! [`Plugin::handle`] in order, and retries a failing event with backoff.

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use futures::FutureExt;
use sea_orm::DbErr;
use tracing::Instrument;

use super::{JobContext, Plugin, PluginError};
use crate::log::{self, Cursor};

/// How many events a feed reads at once.
const BATCH: u64 = 100;

/// How long a woken feed waits for more commits before it reads the log.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// How soon a feed looks again when committed events wait behind an older open transaction.
const BEHIND: Duration = Duration::from_millis(100);

/// Feeds one plugin the log from its cursor.
pub(super) struct Feed {
    pub(super) plugin: Arc<dyn Plugin>,
    pub(super) ctx: JobContext,
    pub(super) lease: Duration,
    /// Whether the cursor row is known to exist.
    pub(super) registered: AtomicBool,
}

impl Feed {
    pub(super) async fn run(self) {
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
                // What the plugin kept for the end of the batch is written before its place moves.
                if let Err(e) = self.plugin.flush().await {
                    return Err(FeedError::Plugin(e));
                }
                if !self.advance(at).await? {
                    return Ok(Round::Idle);
                }
                renewed = std::time::Instant::now();
            }
            let handled = std::panic::AssertUnwindSafe(self.plugin.handle(event)).catch_unwind();
            match handled.instrument(self.span_for(event)).await {
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
            if let Err(e) = self.plugin.flush().await {
                return Err(FeedError::Plugin(e));
            }
            self.advance(at).await?;
        }
        match failed {
            Some(e) => Err(FeedError::Plugin(e)),
            None if full => Ok(Round::More),
            None if log::pending_after(&self.ctx.db, done.unwrap_or(cursor)).await? => Ok(Round::Behind),
            None => Ok(Round::Idle),
        }
    }
}

impl Feed {
    /// The span a plugin handles `event` in: a child of the span that recorded the event, so
    /// the plugin's work joins the trace of the mutation that caused it.
    fn span_for(&self, event: &entity::event::Logged) -> tracing::Span {
        if !crate::trace_context::exporting() {
            return tracing::Span::none();
        }
        let kind = event.event.kind();
        let span = tracing::info_span!(
            "plugin",
            otel.name = %format_args!("{} {kind}", self.plugin.name()),
            otel.kind = "consumer",
            reach.plugin = self.plugin.name(),
            reach.event.type = kind,
            reach.event.id = %event.id,
        );
        crate::trace_context::follow(&span, event.traceparent.as_deref());
        span
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
pub(super) enum FeedError {
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
