//! The subscriptions' figures, counted by [`crate::live::Live`] as subscribers come, go and are
//! handed events.

use chrono::{DateTime, Utc};
use prometheus_client::{
    metrics::{
        counter::Counter,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::{Registry, Unit},
};

/// What a server's [`crate::live::Live`] counts: cheap to clone (each part is shared), cheap to
/// move (an atomic per event; the lag takes a short lock).
#[derive(Clone, Debug)]
pub struct SubscriptionMetrics {
    open: Gauge,
    published: Counter,
    lag: Histogram,
    slow: Counter,
}

/// Subscriber lag: 1 ms to about a minute, doubling (a missed wake-up costs up to
/// `subscriptions.catch_up_ms`).
fn lag_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Default for SubscriptionMetrics {
    /// Counted but in no registry (a [`crate::live::Live`] without a server's metrics).
    fn default() -> Self {
        Self {
            open: Gauge::default(),
            published: Counter::default(),
            lag: lag_histogram(),
            slow: Counter::default(),
        }
    }
}

impl SubscriptionMetrics {
    /// New figures, registered in `registry`.
    pub(super) fn register(registry: &mut Registry) -> Self {
        let this = Self::default();
        registry.register(
            "subscriptions_open",
            "Clients' subscriptions open now",
            this.open.clone(),
        );
        registry.register(
            "subscription_events_published",
            "Events handed to subscriptions, once per subscription that takes the event",
            this.published.clone(),
        );
        registry.register_with_unit(
            "subscription_lag",
            "From an event's occurred_at to a subscription taking it from its queue",
            Unit::Seconds,
            this.lag.clone(),
        );
        registry.register(
            "subscription_slow_consumers",
            "Subscriptions closed with SLOW_CONSUMER because their queue was full",
            this.slow.clone(),
        );
        this
    }

    /// A client's subscription opened.
    pub fn opened(&self) {
        self.open.inc();
    }

    /// A client's subscription ended.
    pub fn closed(&self) {
        self.open.dec();
    }

    /// An event was offered to a client's subscription: `taken` into its queue, or not (its
    /// queue was full, and it is dropped as a slow consumer).
    pub fn offered(&self, taken: bool) {
        if taken {
            self.published.inc();
        } else {
            self.slow.inc();
        }
    }

    /// A client's subscription took an event that occurred at `occurred_at` from its queue.
    pub fn delivered(&self, occurred_at: DateTime<Utc>) {
        // An event stamped by a process whose clock runs ahead counts as no lag.
        let lag = (Utc::now() - occurred_at).to_std().map_or(0.0, |d| d.as_secs_f64());
        self.lag.observe(lag);
    }
}
