//! `/metrics`: what an operator asks first, in the OpenMetrics text format Prometheus scrapes.
//!
//! Each server holds its own registry ([`Metrics`], in [`AppState`](crate::state::AppState)),
//! so two servers in one process (the tests) count apart. Counted as it happens: GraphQL
//! operations by transport, type and outcome, with their latency; rate-limited requests; open
//! websockets. Read from the database at each scrape ([`Metrics::render`]): the newest outbox
//! position and each plugin's lag behind it, email deliveries and sync runs by state, and the
//! connection pool. Labels hold only bounded values: no ids, names or user data, and no
//! operation names (a client could make up any number of them).

use std::{fmt::Write, sync::Arc};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

/// A server's metrics: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    operations: Family<OperationLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    rate_limited: Counter,
    websockets: Gauge,
    outbox_position: Gauge,
    plugin_lag: Family<PluginLabels, Gauge>,
    deliveries: Family<StateLabels, Gauge>,
    sync_runs: Family<StateLabels, Gauge>,
    pool: Family<StateLabels, Gauge>,
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
        let websockets = Gauge::default();
        registry.register("websocket_connections", "Websockets open now", websockets.clone());
        let outbox_position = Gauge::default();
        registry.register(
            "outbox_position",
            "Position of the newest event in the outbox",
            outbox_position.clone(),
        );
        let plugin_lag = Family::<PluginLabels, Gauge>::default();
        registry.register(
            "plugin_lag_events",
            "Events in the outbox a plugin has not handled yet",
            plugin_lag.clone(),
        );
        let deliveries = Family::<StateLabels, Gauge>::default();
        registry.register(
            "email_deliveries",
            "Email deliveries of settings-change notifications, by state",
            deliveries.clone(),
        );
        let sync_runs = Family::<StateLabels, Gauge>::default();
        registry.register("platform_sync_runs", "Platform sync runs, by state", sync_runs.clone());
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections of this server's pool, in use or idle",
            pool.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            operations,
            latency,
            rate_limited,
            websockets,
            outbox_position,
            plugin_lag,
            deliveries,
            sync_runs,
            pool,
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

    /// A request or websocket operation refused by the rate limit.
    pub fn rate_limited(&self) {
        self.0.rate_limited.inc();
    }

    /// A websocket opened; it counts as open until the guard is dropped.
    pub fn websocket_opened(&self) -> OpenWebsocket {
        self.0.websockets.inc();
        OpenWebsocket(self.clone())
    }

    /// The metrics as text, with what is read from the database read now.
    pub async fn render(&self, db: &DatabaseConnection) -> Result<String, DbErr> {
        self.read_database(db).await?;
        let mut text = String::new();
        // Writing into a `String` cannot fail.
        let _ = encode(&mut text, &self.0.registry);
        Ok(text)
    }

    async fn read_database(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let inner = &self.0;
        let newest = scalar(db, "SELECT COALESCE(MAX(position), 0) FROM outbox_event").await?;
        inner.outbox_position.set(newest);
        let lags = pairs(
            db,
            "SELECT c.plugin, (SELECT COUNT(*) FROM outbox_event e WHERE e.position > c.last_position) \
             FROM plugin_cursor c",
        )
        .await?;
        for (plugin, lag) in lags {
            inner
                .plugin_lag
                .get_or_create(&PluginLabels { plugin })
                .set(lag.parse().unwrap_or(0));
        }
        set_states(
            &inner.deliveries,
            pairs(db, "SELECT status, COUNT(*) FROM notification_delivery GROUP BY status").await?,
        );
        set_states(
            &inner.sync_runs,
            pairs(db, "SELECT state, COUNT(*) FROM platform_sync_run GROUP BY state").await?,
        );
        let (size, idle) = pool_size(db);
        inner
            .pool
            .get_or_create(&StateLabels { state: "in_use".into() })
            .set(size - idle);
        inner
            .pool
            .get_or_create(&StateLabels { state: "idle".into() })
            .set(idle);
        Ok(())
    }
}

/// Counts a websocket as open while it lives.
pub struct OpenWebsocket(Metrics);

impl Drop for OpenWebsocket {
    fn drop(&mut self) {
        self.0.0.websockets.dec();
    }
}

/// Each state's count; a state with no rows any more is left out.
fn set_states(family: &Family<StateLabels, Gauge>, rows: Vec<(String, String)>) {
    family.clear();
    for (state, count) in rows {
        family
            .get_or_create(&StateLabels {
                state: state.to_ascii_lowercase(),
            })
            .set(count.parse().unwrap_or(0));
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0))
}

/// Two columns of every row, as text.
async fn pairs(db: &DatabaseConnection, sql: &str) -> Result<Vec<(String, String)>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let key = r.try_get_by_index::<String>(0).ok()?;
            let value = r
                .try_get_by_index::<i64>(1)
                .map(|v| v.to_string())
                .or_else(|_| r.try_get_by_index::<String>(1))
                .ok()?;
            Some((key, value))
        })
        .collect())
}

/// The pool's connections: (open, idle).
fn pool_size(db: &DatabaseConnection) -> (i64, i64) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (i64::from(pool.size()), i64::try_from(pool.num_idle()).unwrap_or(0))
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (i64::from(pool.size()), i64::try_from(pool.num_idle()).unwrap_or(0))
        }
        _ => (0, 0),
    }
}
