//! A subscriber's side: its bounded queue, the [`Feed`] it reads it through, and the
//! registration that unsubscribes it when the feed is dropped.

use std::{
    collections::VecDeque,
    future::poll_fn,
    sync::{Arc, Mutex, atomic::Ordering},
    task::{Poll, Waker},
};

use super::{Connection, Delivery, Inner, Topic};

/// A subscriber's place in its topic's list: its queue.
pub(super) struct Slot {
    pub(super) id: u64,
    pub(super) queue: Arc<Queue>,
    /// A client's subscription (counted in the metrics), not a listener of the server's own
    /// such as a socket's role watch.
    pub(super) client: bool,
}

/// The room a subscriber's queue keeps once emptied (a `VecDeque`'s first allocation).
pub(super) const IDLE_CAPACITY: usize = 4;

/// A subscriber's queue: the deliveries handed to it and not yet taken, at most
/// `subscriptions.buffer`. It holds only what waits (nothing for an idle subscriber): a
/// subscription's memory when idle is what matters with thousands open (issue 17).
#[derive(Default)]
pub(super) struct Queue(Mutex<Queued>);

#[derive(Default)]
pub(super) struct Queued {
    pub(super) deliveries: VecDeque<Arc<Delivery>>,
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
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
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
    pub(super) fn offer(&self, delivery: &Arc<Delivery>, buffer: usize) -> bool {
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
    pub(super) queue: Arc<Queue>,
    pub(super) registration: Registration,
}

impl Feed {
    /// The next change for this subscriber (a client's change counted as delivered, with its lag).
    pub async fn next(&mut self) -> Next {
        let next = self.take().await;
        if let Next::Event(delivery) = &next
            && self.registration.connection.is_some()
        {
            self.registration.inner.metrics.delivered(delivery.event.occurred_at);
        }
        next
    }

    /// What the queue gives next, once it gives something.
    async fn take(&mut self) -> Next {
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

pub(super) struct Registration {
    pub(super) inner: Arc<Inner>,
    pub(super) topic: Topic,
    pub(super) id: u64,
    pub(super) connection: Option<Arc<Connection>>,
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
            self.inner.metrics.closed();
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
