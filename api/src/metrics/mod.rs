//! `/metrics`: what an operator asks first, in the OpenMetrics text format Prometheus scrapes.
//!
//! Each server holds its own registry ([`Metrics`], in [`AppState`](crate::state::AppState)),
//! so two servers in one process (the tests) count apart. Counted as it happens: GraphQL
//! operations by transport, type and outcome, with their latency; rate-limited requests; open
//! websockets; subscriptions ([`SubscriptionMetrics`], counted by [`crate::live::Live`]); SMTP
//! sends and platform sync runs (`plugins`, told by the plugins through the observers
//! `integrations` defines, so that crate knows no metrics library). Read from the database at
//! each scrape ([`Metrics::render`], `scrape`): the newest outbox position and each plugin's lag
//! behind it, email deliveries and sync runs by state, and the connection pool. Labels hold only
//! bounded values: no ids, names or user data, and no operation names (a client could make up
//! any number of them).

mod live;
mod plugins;
mod scrape;

use std::{fmt::Write, sync::Arc};

use integrations::{email::observe::EmailObserver, platform::observe::SyncObserver};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use sea_orm::{DatabaseConnection, DbErr};

pub use live::SubscriptionMetrics;
use plugins::{EmailMetrics, SyncMetrics};
use scrape::Scraped;
pub use scrape::{Heap, heap};

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Where a GraphQL operation came in.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Transport {
    /// `POST` or `GET /graphql`.
    Http,
    /// A websocket operation.
    Websocket,
}

/// What kind of operation ran (`none` when the document named none that could run).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Operation {
    /// A query.
    Query,
    /// A mutation.
    Mutation,
    /// A subscription (counted when it starts; its events are not operations).
    Subscription,
    /// A document refused before an operation was picked (it did not parse, or broke a limit).
    None,
}

impl EncodeLabelValue for Transport {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(match self {
            Self::Http => "http",
            Self::Websocket => "websocket",
        })
    }
}

impl EncodeLabelValue for Operation {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(match self {
            Self::Query => "query",
            Self::Mutation => "mutation",
            Self::Subscription => "subscription",
            Self::None => "none",
        })
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    transport: Transport,
    operation: Operation,
    /// `ok`, or the first top-level error's code in lower case (`bad_request`, `timeout`, …).
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    transport: Transport,
    operation: Operation,
}

/// A server's metrics: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    operations: Family<OperationLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    rate_limited: Counter,
    direct: Counter,
    websockets: Gauge,
    subscriptions: SubscriptionMetrics,
    email: Arc<EmailMetrics>,
    sync: Arc<SyncMetrics>,
    scraped: Scraped,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s, doubling.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("reach");
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations run, by transport, type and outcome",
            operations.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "graphql_operation_duration",
            "How long GraphQL queries and mutations took, from parsed to answered",
            prometheus_client::registry::Unit::Seconds,
            latency.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited_requests",
            "Requests and websocket operations refused by the rate limit",
            rate_limited.clone(),
        );
        let direct = Counter::default();
        registry.register(
            "graphql_direct_answers",
            "HTTP queries answered without the GraphQL executor (a small listing's plain page)",
            direct.clone(),
        );
        let websockets = Gauge::default();
        registry.register("websocket_connections", "Websockets open now", websockets.clone());
        let subscriptions = SubscriptionMetrics::register(&mut registry);
        let email = Arc::new(EmailMetrics::register(&mut registry));
        let sync = Arc::new(SyncMetrics::register(&mut registry));
        let scraped = Scraped::register(&mut registry);
        Self(Arc::new(Inner {
            registry,
            operations,
            latency,
            rate_limited,
            direct,
            websockets,
            subscriptions,
            email,
            sync,
            scraped,
        }))
    }
}

impl Metrics {
    /// One GraphQL operation answered: `outcome` is `None` for a response without top-level
    /// errors, else the first error's code; `seconds` is `None` for a subscription.
    pub fn operation(&self, transport: Transport, operation: Operation, outcome: Option<&str>, seconds: Option<f64>) {
        let outcome = outcome.map_or_else(|| "ok".to_owned(), str::to_ascii_lowercase);
        self.0
            .operations
            .get_or_create(&OperationLabels {
                transport,
                operation,
                outcome,
            })
            .inc();
        if let Some(seconds) = seconds {
            self.0
                .latency
                .get_or_create(&LatencyLabels { transport, operation })
                .observe(seconds);
        }
    }

    /// The outcome label of a query's or mutation's `response`: `None` (ok) without top-level
    /// errors, else the first error's code. A request error (validation) is coded only when
    /// answered, so it is coded here the same way.
    pub fn outcome_of(response: &async_graphql::Response) -> Option<&str> {
        let error = response.errors.first()?;
        Some(match crate::graphql::errors::code_of(error) {
            Some(code) => code,
            None if error.path.is_empty() => crate::graphql::limits::validation_code(error).as_str(),
            None => "error",
        })
    }

    /// A query answered without the executor (counted beside its operation).
    pub fn answered_directly(&self) {
        self.0.direct.inc();
    }

    /// How many queries were answered without the executor.
    pub fn direct_answers(&self) -> u64 {
        self.0.direct.get()
    }

    /// A request or websocket operation refused by the rate limit.
    pub fn rate_limited(&self) {
        self.0.rate_limited.inc();
    }

    /// A websocket opened; it counts as open until the guard is dropped.
    pub fn websocket_opened(&self) -> OpenWebsocket {
        self.0.websockets.inc();
        OpenWebsocket(self.clone())
    }

    /// What this server's [`crate::live::Live`] counts subscriptions in.
    pub fn subscriptions(&self) -> SubscriptionMetrics {
        self.0.subscriptions.clone()
    }

    /// What the email plugin tells of its SMTP sends.
    pub fn email_observer(&self) -> Arc<dyn EmailObserver> {
        self.0.email.clone()
    }

    /// What the platform sync tells of the runs it ends.
    pub fn sync_observer(&self) -> Arc<dyn SyncObserver> {
        self.0.sync.clone()
    }

    /// The metrics as text, with what is read from the database read now.
    pub async fn render(&self, db: &DatabaseConnection) -> Result<String, DbErr> {
        self.0.scraped.read(db).await?;
        let mut text = String::new();
        // Writing into a `String` cannot fail.
        let _ = encode(&mut text, &self.0.registry);
        Ok(text)
    }
}

/// Counts a websocket as open while it lives.
pub struct OpenWebsocket(Metrics);

impl Drop for OpenWebsocket {
    fn drop(&mut self) {
        self.0.0.websockets.dec();
    }
}
