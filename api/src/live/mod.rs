//! Live events for subscriptions (SPEC E4): the outbox is the log.
//!
//! One task per process ([`tail`]) reads the committed events from the outbox in log order,
//! loads once the objects they concern, and hands each event to the subscribers of its topics.
//! Nothing reaches a subscriber before its transaction committed, and a rolled-back change never
//! reaches anyone, because only committed rows are read. The task wakes when this process
//! commits a change, when PostgreSQL announces one from another process (`LISTEN`, see
//! [`listen`]), and every `subscriptions.catch_up_ms` in any case, so a lost notification or a
//! dropped `LISTEN` connection delays an event but never loses it.
//!
//! Each subscriber has a bounded queue (`subscriptions.buffer` events). A subscriber that falls
//! that far behind is dropped and its subscription ends with a `SLOW_CONSUMER` error, so a slow
//! client never makes the server hold more than its queue.
//!
//! Clients' subscriptions are counted in the server's metrics as they open and close, take events
//! into their queues (or are dropped as slow consumers) and take them out (with their lag):
//! [`crate::metrics::SubscriptionMetrics`].

mod delivery;
mod feed;
mod limits;
pub mod listen;
pub mod load;
pub mod tail;
#[cfg(test)]
mod tests;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
};

use integrations::log::Cursor;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{config::Subscriptions, metrics::SubscriptionMetrics};
use feed::{Queue, Registration, Slot};

pub use delivery::{Delivery, Shared};
pub use feed::{Feed, Next};
pub use limits::{Connection, LimitError};
pub use load::Objects;

/// What a subscriber listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A user's active status.
    ActiveStatus(Uuid),
    /// A user's numbers and statuses.
    UserNumbers(Uuid),
    /// An account's Connect for Mobile add-on and users.
    Mobility(Uuid),
    /// An account's platform sync runs.
    SyncRuns(Uuid),
    /// A user's roles (a revoked role closes the user's sockets).
    Roles(Uuid),
}

struct Inner {
    settings: Subscriptions,
    topics: Mutex<HashMap<Topic, Vec<Slot>>>,
    per_token: Mutex<HashMap<String, usize>>,
    next_id: AtomicU64,
    /// Websocket subscriptions parked between events now (`ws::parked`).
    parked: AtomicUsize,
    stop: CancellationToken,
    /// The last event handed out (or passed over).
    read: watch::Sender<Cursor>,
    /// Open subscriptions, events handed out, their lag, slow consumers dropped.
    metrics: SubscriptionMetrics,
}

/// This process's subscribers, by topic. Cheap to clone.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

/// One parked subscription in [`Live::parked`] while it lives.
pub struct ParkedCount(Arc<Inner>);

impl Drop for ParkedCount {
    fn drop(&mut self) {
        self.0.parked.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Live {
    /// No subscribers yet; counted in metrics nobody reads.
    pub fn new(settings: Subscriptions) -> Self {
        Self::counted(settings, SubscriptionMetrics::default())
    }

    /// No subscribers yet; counted in `metrics` (a server's, [`crate::metrics::Metrics::subscriptions`]).
    pub fn counted(settings: Subscriptions, metrics: SubscriptionMetrics) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                topics: Mutex::new(HashMap::new()),
                per_token: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                parked: AtomicUsize::new(0),
                stop: CancellationToken::new(),
                read: watch::channel(Cursor::default()).0,
                metrics,
            }),
        }
    }

    /// How many websocket subscriptions are parked between events now.
    pub fn parked(&self) -> usize {
        self.inner.parked.load(Ordering::Relaxed)
    }

    /// Counts one more parked subscription, until the count is dropped.
    pub fn count_parked(&self) -> ParkedCount {
        self.inner.parked.fetch_add(1, Ordering::Relaxed);
        ParkedCount(self.inner.clone())
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Subscriptions {
        &self.inner.settings
    }

    /// Cancelled when the server stops: sockets close and feeds end.
    pub fn stopping(&self) -> CancellationToken {
        self.inner.stop.clone()
    }

    /// Ends every feed and tells every socket to close.
    pub fn stop(&self) {
        self.inner.stop.cancel();
        if let Ok(mut topics) = self.inner.topics.lock() {
            topics.clear();
        }
    }

    /// Subscribes to `topic`, counted against `connection`'s limits when given (internal
    /// listeners such as a socket's role watch pass `None`).
    pub fn subscribe(&self, topic: Topic, connection: Option<&Arc<Connection>>) -> Result<Feed, LimitError> {
        if !self.inner.settings.enabled {
            return Err(LimitError::Off);
        }
        if self.inner.stop.is_cancelled() {
            return Err(LimitError::Stopping);
        }
        let settings = &self.inner.settings;
        if let Some(conn) = connection {
            let open = conn.open.fetch_add(1, Ordering::Relaxed);
            if open >= settings.max_per_connection {
                conn.open.fetch_sub(1, Ordering::Relaxed);
                return Err(LimitError::Connection(settings.max_per_connection));
            }
            let mut per_token = self.inner.per_token.lock().unwrap_or_else(|e| e.into_inner());
            let n = per_token.entry(conn.subject.clone()).or_insert(0);
            if *n >= settings.max_per_token {
                drop(per_token);
                conn.open.fetch_sub(1, Ordering::Relaxed);
                return Err(LimitError::Token(settings.max_per_token));
            }
            *n += 1;
            self.inner.metrics.opened();
        }
        let queue = Arc::new(Queue::default());
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner
            .topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(topic)
            .or_default()
            .push(Slot {
                id,
                queue: queue.clone(),
                client: connection.is_some(),
            });
        Ok(Feed {
            queue,
            registration: Registration {
                inner: self.inner.clone(),
                topic,
                id,
                connection: connection.cloned(),
            },
        })
    }

    /// Records that every event up to `cursor` has been handed out.
    pub fn advanced(&self, cursor: Cursor) {
        self.inner.read.send_if_modified(|c| {
            let moved = cursor > *c;
            if moved {
                *c = cursor;
            }
            moved
        });
    }

    /// How far this process has handed out the log (for tests and benchmarks that must know
    /// a change has gone out before they go on).
    pub fn progress(&self) -> watch::Receiver<Cursor> {
        self.inner.read.subscribe()
    }

    /// Whether anyone listens to `topic`.
    pub fn watched(&self, topic: &Topic) -> bool {
        self.inner.topics.lock().map(|t| t.contains_key(topic)).unwrap_or(false)
    }

    /// Subscribers of `topic` now.
    pub fn watchers(&self, topic: &Topic) -> usize {
        self.inner
            .topics
            .lock()
            .map(|t| t.get(topic).map_or(0, Vec::len))
            .unwrap_or(0)
    }

    /// Hands each delivery to the subscribers of its topics, in order, without waiting: a
    /// subscriber whose queue is full is dropped (its feed then reports [`Next::Overflowed`]).
    pub fn dispatch(&self, deliveries: &[(Vec<Topic>, Arc<Delivery>)]) {
        let metrics = &self.inner.metrics;
        let mut topics = self.inner.topics.lock().unwrap_or_else(|e| e.into_inner());
        for (targets, delivery) in deliveries {
            for topic in targets {
                let Some(slots) = topics.get_mut(topic) else {
                    continue;
                };
                let buffer = self.inner.settings.buffer;
                slots.retain(|slot| {
                    let taken = slot.queue.offer(delivery, buffer);
                    if !taken {
                        tracing::warn!(?topic, "a subscriber fell too far behind and was dropped");
                    }
                    if slot.client {
                        metrics.offered(taken);
                    }
                    taken
                });
                if slots.is_empty() {
                    topics.remove(topic);
                }
            }
        }
    }
}
