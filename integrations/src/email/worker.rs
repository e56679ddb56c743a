//! A delivery task: claims a batch of due deliveries in its own name, sends each while its lease
//! holds, and settles the outcomes; it pauses when idle or when the server cannot be reached.

use std::{sync::Arc, time::Duration};

use entity::notification_delivery;
use sea_orm::DbErr;

use super::{
    EmailPlugin,
    deliver::backoff,
    queue::{self, Outcome},
};
use crate::host::JobContext;

/// One delivery task.
pub(super) struct Worker {
    pub(super) plugin: Arc<EmailPlugin>,
    pub(super) ctx: JobContext,
    pub(super) owner: String,
}

impl Worker {
    pub(super) async fn run(self) {
        let s = &self.plugin.settings;
        let poll = self.ctx.poll;
        // Woken by the plugin's feed when an event says mail is queued (not by every commit:
        // a claim is a write), and by the poll for retries coming due.
        let mut kicked = self.plugin.kick.subscribe();
        let mut unreachable: u32 = 0;
        loop {
            kicked.borrow_and_update();
            let pause = match self.round().await {
                Ok(Round::Worked) => {
                    unreachable = 0;
                    continue;
                }
                Ok(Round::Idle) => {
                    if let Some((transport, _)) = &self.plugin.transport {
                        transport.close_idle().await;
                    }
                    poll
                }
                Ok(Round::Unreachable) => {
                    unreachable = unreachable.saturating_add(1);
                    backoff(s, unreachable)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "email: cannot read the delivery queue");
                    poll
                }
            };
            tokio::select! {
                () = self.ctx.stop.cancelled() => break,
                _ = kicked.changed() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Claims a batch and sends it; stops early when the server cannot be reached.
    async fn round(&self) -> Result<Round, DbErr> {
        let s = &self.plugin.settings;
        let db = &self.ctx.db;
        let owner = &self.owner;
        let lease = Duration::from_secs(s.lease_seconds);
        let budget = Duration::from_millis(s.timeout_ms);
        let rows = queue::claim(db, owner, s.batch_size, lease).await?;
        if rows.is_empty() {
            return Ok(Round::Idle);
        }
        let context = queue::context(db, &rows).await?;
        // The batch's sends, recorded together when it ends (or stops early): a crash before
        // that re-sends them, each under its own unchanged Message-ID.
        let mut sent: Vec<(uuid::Uuid, String)> = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            if self.ctx.stop.is_cancelled() {
                self.settle_sent(&sent).await?;
                queue::release(db, owner, rows[i..].iter().map(|r| r.id).collect()).await?;
                return Ok(Round::Worked);
            }
            // Still ours? (A stalled round may have outlived its lease; then another worker
            // has the row and this one must not send it too.) While the claim's own lease
            // outlasts the send's budget with half a lease to spare for the settle, nobody can
            // have taken the row (a claim needs an expired lease), so the check is a statement
            // per mail saved; past that the lease is checked and extended in the database.
            if !queue::covers(row, budget, lease) && !queue::touch(db, owner, row.id, lease).await? {
                tracing::warn!(delivery = %row.id, "email: lease lost before sending; left to its new holder");
                continue;
            }
            let message_id = row
                .message_id
                .clone()
                .unwrap_or_else(|| format!("{}@{}", row.id.simple(), self.plugin.domain));
            let (outcome, unreachable) = self.deliver(row, &context, &message_id).await;
            log(row, &outcome);
            match outcome {
                Outcome::Sent => sent.push((row.id, message_id)),
                other => self.settle(row, &message_id, other).await?,
            }
            if unreachable {
                self.settle_sent(&sent).await?;
                queue::release(db, owner, rows[i + 1..].iter().map(|r| r.id).collect()).await?;
                return Ok(Round::Unreachable);
            }
        }
        self.settle_sent(&sent).await?;
        Ok(Round::Worked)
    }

    /// Records a batch's sends, trying a few times as [`Self::settle`] does.
    async fn settle_sent(&self, sent: &[(uuid::Uuid, String)]) -> Result<(), DbErr> {
        let done = retrying(|| queue::settle_sent(&self.ctx.db, &self.owner, sent)).await?;
        for (id, _) in sent.iter().filter(|(id, _)| !done.contains(id)) {
            tracing::warn!(delivery = %id, "email: lease lost before the outcome was recorded");
        }
        Ok(())
    }

    /// Records an outcome, trying a few times: after a send, a lost settle means a second copy.
    async fn settle(
        &self,
        row: &notification_delivery::Model,
        message_id: &str,
        outcome: Outcome,
    ) -> Result<(), DbErr> {
        let kept = retrying(|| queue::settle(&self.ctx.db, &self.owner, row, message_id, outcome.clone())).await?;
        if !kept {
            tracing::warn!(delivery = %row.id, "email: lease lost before the outcome was recorded");
        }
        Ok(())
    }
}

/// Runs a settle, trying up to five times with a growing pause: the mail went out, so giving up
/// on recording it means sending it again later.
async fn retrying<T, F: std::future::Future<Output = Result<T, DbErr>>>(
    mut settle: impl FnMut() -> F,
) -> Result<T, DbErr> {
    let mut tries = 0;
    loop {
        match settle().await {
            Err(_) if tries < 4 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            done => return done,
        }
    }
}

enum Round {
    /// Sent (or settled) a batch; look for more at once.
    Worked,
    /// Nothing due.
    Idle,
    /// The server could not be reached; wait before the next batch.
    Unreachable,
}

/// Logs a failed try: only the kind of failure, as a server's full answer may quote the address.
fn log(row: &notification_delivery::Model, outcome: &Outcome) {
    match outcome {
        Outcome::Failed { error } => {
            tracing::warn!(delivery = %row.id, attempt = row.attempts + 1, error = gist(error), "email: delivery failed for good");
        }
        Outcome::Retry { error, at } | Outcome::Deferred { error, at } => {
            tracing::info!(delivery = %row.id, error = gist(error), retry_at = %at, "email: delivery will be retried");
        }
        Outcome::Sent => {}
    }
}

/// The head of an error (`permanent error (550)`, `Connection error`), without the server's text.
fn gist(error: &str) -> &str {
    error.split(':').next().unwrap_or_default()
}
