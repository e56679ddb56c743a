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

pub mod listen;
pub mod load;
pub mod tail;

use std::{
    any::Any,
    collections::{HashMap, VecDeque},
    future::poll_fn,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Poll, Waker},
};

use entity::event::{Event, Logged};
use integrations::log::Cursor;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Subscriptions;

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

/// One committed change as its subscribers receive it: the event (or, for a change that touched
/// many users at once, its events) and the objects they concern, loaded once for everyone.
#[derive(Debug)]
pub struct Delivery {
    /// The first (usually the only) event of the change.
    pub event: Logged,
    /// The objects the change concerns (the users of a batch).
    pub subjects: Vec<Uuid>,
    /// What the events' subscribers will be shown.
    pub objects: Arc<Objects>,
    /// What its subscribers made of it, for others who would make the same (a parked
    /// subscription's rendered event, `ws::parked`).
    pub shared: Shared,
}

/// What the subscribers of one delivery made of it and share, at most [`Shared::MAX`] things.
#[derive(Default)]
pub struct Shared(Mutex<Vec<Arc<dyn Any + Send + Sync>>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Most things kept per delivery: past that, each subscriber makes its own.
    pub const MAX: usize = 16;

    /// The first thing kept of type `T` that `matches`, else `make()`, kept from now on; `None`
    /// when [`Self::MAX`] things are kept already and none matches.
    pub fn get_or_keep<T: Any + Send + Sync>(
        &self,
        matches: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Option<Arc<T>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = kept
            .iter()
            .filter_map(|k| k.clone().downcast::<T>().ok())
            .find(|k| matches(k));
        if found.is_some() || kept.len() >= Self::MAX {
            return found;
        }
        let made = Arc::new(make());
        kept.push(made.clone());
        Some(made)
    }
}

impl Delivery {
    /// What happened.
    pub fn kind(&self) -> &Event {
        &self.event.event
    }

    /// A user id named in the event's payload (`userId`), else the event's object.
    pub fn user_id(&self) -> Uuid {
        self.event.user_id()
    }
}

/// Why a subscription could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// `subscriptions.max_per_connection` reached.
    #[error("this connection already has {0} subscriptions open")]
    Connection(usize),
    /// `subscriptions.max_per_token` reached.
    #[error("this token already has {0} subscriptions open")]
    Token(usize),
    /// The server is stopping.
    #[error("the server is shutting down")]
    Stopping,
    /// `subscriptions.enabled` is off on this process.
    #[error("live subscriptions are switched off on this server")]
    Off,
}

/// One websocket connection's share of the limits (held in the connection's data).
#[derive(Debug)]
pub struct Connection {
    /// The token's subject, for the per-token limit.
    pub subject: String,
    open: AtomicUsize,
}

impl Connection {
    /// A connection of token subject `subject`.
    pub fn new(subject: String) -> Arc<Self> {
        Arc::new(Self {
            subject,
            open: AtomicUsize::new(0),
        })
    }

    /// Subscriptions open on it now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// A subscriber's place in its topic's list: its queue.
struct Slot {
    id: u64,
    queue: Arc<Queue>,
}

/// The room a subscriber's queue keeps once emptied (a `VecDeque`'s first allocation).
const IDLE_CAPACITY: usize = 4;

/// A subscriber's queue: the deliveries handed to it and not yet taken, at most
/// `subscriptions.buffer`. It holds only what waits (nothing for an idle subscriber): a
/// subscription's memory when idle is what matters with thousands open (issue 17).
#[derive(Default)]
struct Queue(Mutex<Queued>);

#[derive(Default)]
struct Queued {
    deliveries: VecDeque<Arc<Delivery>>,
    /// Why no more will come, once known: after what waits, the feed reports it.
    end: Option<End>,
    /// The feed waiting for a delivery.
    waker: Option<Waker>,
}

#[derive(Clone, Copy)]
enum End {
    Overflowed,
    Closed,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the queue with `change` and wakes the feed waiting on it (after the lock).
    fn update<R>(&self, change: impl FnOnce(&mut Queued) -> R) -> R {
        let mut queued = self.lock();
        let result = change(&mut queued);
        let waker = queued.waker.take();
        drop(queued);
        if let Some(w) = waker {
            w.wake();
        }
        result
    }

    /// Hands over `delivery`; `false` (and the queue ends as overflowed) when `buffer` wait.
    fn offer(&self, delivery: &Arc<Delivery>, buffer: usize) -> bool {
        self.update(|queued| {
            let taken = queued.deliveries.len() < buffer;
            if taken {
                queued.deliveries.push_back(delivery.clone());
            } else {
                queued.end = Some(End::Overflowed);
            }
            taken
        })
    }
}

impl Drop for Slot {
    /// Out of its topic's list (the server stopping, or overflowed): the feed ends after what waits.
    fn drop(&mut self) {
        self.queue.update(|queued| {
            queued.end.get_or_insert(End::Closed);
        });
    }
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

/// What a subscriber's queue gave.
#[derive(Debug)]
pub enum Next {
    /// A change.
    Event(Arc<Delivery>),
    /// The subscriber fell more than `subscriptions.buffer` events behind and was dropped.
    Overflowed,
    /// The server is stopping.
    Closed,
}

/// A subscriber's queue; leaving it (dropping it) unsubscribes.
pub struct Feed {
    queue: Arc<Queue>,
    _registration: Registration,
}

impl Feed {
    /// The next change for this subscriber.
    pub async fn next(&mut self) -> Next {
        poll_fn(|cx| {
            let mut queued = self.queue.lock();
            if let Some(d) = queued.deliveries.pop_front() {
                // After a burst, an idle subscriber goes back to holding (almost) nothing.
                if queued.deliveries.is_empty() && queued.deliveries.capacity() > IDLE_CAPACITY {
                    queued.deliveries.shrink_to(IDLE_CAPACITY);
                }
                return Poll::Ready(Next::Event(d));
            }
            match queued.end {
                Some(End::Overflowed) => Poll::Ready(Next::Overflowed),
                Some(End::Closed) => Poll::Ready(Next::Closed),
                None => {
                    // Registered under the lock a delivery is offered under: none is missed.
                    if !queued.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        queued.waker = Some(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
        .await
    }
}

struct Registration {
    inner: Arc<Inner>,
    topic: Topic,
    id: u64,
    connection: Option<Arc<Connection>>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut topics = self.inner.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slots) = topics.get_mut(&self.topic) {
            slots.retain(|s| s.id != self.id);
            if slots.is_empty() {
                topics.remove(&self.topic);
            }
        }
        drop(topics);
        if let Some(conn) = &self.connection {
            conn.open.fetch_sub(1, Ordering::Relaxed);
            let mut per_token = self.inner.per_token.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = per_token.get_mut(&conn.subject) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_token.remove(&conn.subject);
                }
            }
        }
    }
}

impl Live {
    /// No subscribers yet.
    pub fn new(settings: Subscriptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                topics: Mutex::new(HashMap::new()),
                per_token: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                parked: AtomicUsize::new(0),
                stop: CancellationToken::new(),
                read: watch::channel(Cursor::default()).0,
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
            });
        Ok(Feed {
            queue,
            _registration: Registration {
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
                    taken
                });
                if slots.is_empty() {
                    topics.remove(topic);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    fn delivery(n: i64) -> Arc<Delivery> {
        Arc::new(Delivery {
            event: Logged {
                position: n,
                id: Uuid::now_v7(),
                account_id: None,
                aggregate_id: Uuid::nil(),
                actor: "support:test".into(),
                occurred_at: chrono::Utc::now(),
                txid: 0,
                event: Event::ActiveStatusChanged(entity::event::ActiveStatusChanged {
                    active_status_id: None,
                    active_remote_extension_id: None,
                    previous_status_id: None,
                }),
            },
            subjects: Vec::new(),
            objects: Arc::default(),
            shared: Shared::default(),
        })
    }

    fn live(buffer: usize, per_connection: usize, per_token: usize) -> Live {
        Live::new(Subscriptions {
            buffer,
            max_per_connection: per_connection,
            max_per_token: per_token,
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn a_subscriber_gets_its_topics_events_in_order() {
        let live = live(8, 10, 10);
        let user = Uuid::now_v7();
        let mut mine = live.subscribe(Topic::ActiveStatus(user), None).expect("subscribe");
        let mut other = live
            .subscribe(Topic::ActiveStatus(Uuid::now_v7()), None)
            .expect("subscribe");
        live.dispatch(&[
            (vec![Topic::ActiveStatus(user)], delivery(1)),
            (vec![Topic::ActiveStatus(user)], delivery(2)),
        ]);
        for want in [1, 2] {
            match mine.next().await {
                Next::Event(d) => assert_eq!(d.event.position, want),
                other => panic!("expected an event, got {other:?}"),
            }
        }
        live.stop();
        assert!(matches!(other.next().await, Next::Closed));
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_subscriber_with_a_reason() {
        let live = live(2, 10, 10);
        let topic = Topic::UserNumbers(Uuid::now_v7());
        let mut slow = live.subscribe(topic, None).expect("subscribe");
        for n in 1..=3 {
            live.dispatch(&[(vec![topic], delivery(n))]);
        }
        assert!(!live.watched(&topic), "the slow subscriber is gone");
        assert!(matches!(slow.next().await, Next::Event(_)));
        assert!(matches!(slow.next().await, Next::Event(_)));
        assert!(matches!(slow.next().await, Next::Overflowed));
    }

    #[tokio::test]
    async fn a_waiting_feed_is_woken_by_a_delivery_and_by_the_stop() {
        let live = live(8, 10, 10);
        let topic = Topic::ActiveStatus(Uuid::now_v7());
        let mut feed = live.subscribe(topic, None).expect("subscribe");
        let waiting = tokio::spawn(async move {
            let first = feed.next().await;
            let second = feed.next().await;
            (first, second, feed)
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        live.dispatch(&[(vec![topic], delivery(1))]);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        live.stop();
        let (first, second, _) = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken")
            .expect("joined");
        assert!(matches!(&first, Next::Event(d) if d.event.position == 1), "{first:?}");
        assert!(matches!(second, Next::Closed), "{second:?}");
    }

    #[tokio::test]
    async fn what_waits_is_taken_before_the_end_and_a_burst_leaves_no_room_behind() {
        let live = live(64, 10, 10);
        let topic = Topic::UserNumbers(Uuid::now_v7());
        let mut feed = live.subscribe(topic, None).expect("subscribe");
        for n in 1..=40 {
            live.dispatch(&[(vec![topic], delivery(n))]);
        }
        assert!(feed.queue.lock().deliveries.capacity() >= 40);
        live.stop();
        for want in 1..=40 {
            match feed.next().await {
                Next::Event(d) => assert_eq!(d.event.position, want),
                other => panic!("expected event {want}, got {other:?}"),
            }
        }
        assert!(feed.queue.lock().deliveries.capacity() <= IDLE_CAPACITY);
        assert!(matches!(feed.next().await, Next::Closed));
    }

    #[test]
    fn limits_per_connection_and_per_token_are_released_on_drop() {
        let live = live(4, 2, 3);
        let a = Connection::new("user:a".into());
        let b = Connection::new("user:a".into());
        let topic = Topic::Mobility(Uuid::now_v7());
        let first = live.subscribe(topic, Some(&a)).expect("1");
        let _second = live.subscribe(topic, Some(&a)).expect("2");
        assert_eq!(live.subscribe(topic, Some(&a)).err(), Some(LimitError::Connection(2)));
        let _third = live.subscribe(topic, Some(&b)).expect("3");
        assert_eq!(live.subscribe(topic, Some(&b)).err(), Some(LimitError::Token(3)));
        drop(first);
        assert_eq!(a.open(), 1);
        assert!(live.subscribe(topic, Some(&b)).is_ok());
        assert_eq!(live.watchers(&topic), 2);
    }
}
