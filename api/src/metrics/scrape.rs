//! The figures read from the database at each scrape: the newest outbox position, each plugin's
//! lag behind it in events and in seconds, email deliveries and sync runs by state, and the
//! connection pool; and the process's heap, from the allocator.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::{Registry, Unit},
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

/// The gauges set at each scrape.
#[derive(Debug)]
pub(super) struct Scraped {
    outbox_position: Gauge,
    plugin_lag: Family<PluginLabels, Gauge>,
    plugin_lag_seconds: Family<PluginLabels, Gauge<f64, AtomicU64>>,
    deliveries: Family<StateLabels, Gauge>,
    sync_runs: Family<StateLabels, Gauge>,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    heap_allocated: Gauge,
    heap_resident: Gauge,
}

/// Each plugin's events after its cursor in the log's `(txid, position)` order, and when the
/// oldest of them occurred (row values: PostgreSQL and SQLite ≥ 3.15 compare them in order).
const PLUGIN_LAGS: &str = "SELECT c.plugin, \
     (SELECT COUNT(*) FROM outbox_event e WHERE (e.txid, e.position) > (c.last_txid, c.last_position)), \
     (SELECT e.occurred_at FROM outbox_event e WHERE (e.txid, e.position) > (c.last_txid, c.last_position) \
      ORDER BY e.txid, e.position LIMIT 1) \
     FROM plugin_cursor c";

impl Scraped {
    pub(super) fn register(registry: &mut Registry) -> Self {
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
        let plugin_lag_seconds = Family::<PluginLabels, Gauge<f64, AtomicU64>>::default();
        registry.register_with_unit(
            "plugin_lag",
            "Age of the oldest event a plugin has not handled yet (0 when it is up to date)",
            Unit::Seconds,
            plugin_lag_seconds.clone(),
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
        let pool_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Most connections this server's pool opens (database_max_connections)",
            pool_max.clone(),
        );
        let heap_allocated = Gauge::default();
        registry.register_with_unit(
            "process_heap_allocated",
            "Memory the process's live allocations take (the allocator's count)",
            Unit::Bytes,
            heap_allocated.clone(),
        );
        let heap_resident = Gauge::default();
        registry.register_with_unit(
            "process_heap_resident",
            "Memory the allocator holds in physical pages, for live allocations and freed ones not yet given back",
            Unit::Bytes,
            heap_resident.clone(),
        );
        Self {
            outbox_position,
            plugin_lag,
            plugin_lag_seconds,
            deliveries,
            sync_runs,
            pool,
            pool_max,
            heap_allocated,
            heap_resident,
        }
    }

    /// Sets every gauge from the database as it is now.
    pub(super) async fn read(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let newest = scalar(db, "SELECT COALESCE(MAX(position), 0) FROM outbox_event").await?;
        self.outbox_position.set(newest);
        self.read_plugin_lags(db).await?;
        set_states(
            &self.deliveries,
            pairs(db, "SELECT status, COUNT(*) FROM notification_delivery GROUP BY status").await?,
        );
        set_states(
            &self.sync_runs,
            pairs(db, "SELECT state, COUNT(*) FROM platform_sync_run GROUP BY state").await?,
        );
        let (size, idle, max) = pool_size(db);
        let state = |state: &str| StateLabels { state: state.into() };
        self.pool.get_or_create(&state("in_use")).set(size - idle);
        self.pool.get_or_create(&state("idle")).set(idle);
        self.pool_max.set(max);
        self.read_heap();
        Ok(())
    }

    /// The allocator's figures as they are now (left as they were if it cannot say).
    fn read_heap(&self) {
        if let Some(heap) = heap() {
            let bytes = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
            self.heap_allocated.set(bytes(heap.allocated));
            self.heap_resident.set(bytes(heap.resident));
        }
    }

    /// Each plugin's lag in events and in seconds, in one statement.
    async fn read_plugin_lags(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), PLUGIN_LAGS))
            .await?;
        let now = Utc::now();
        for row in rows {
            let plugin = row.try_get_by_index::<String>(0)?;
            let events = row.try_get_by_index::<i64>(1)?;
            let oldest = row.try_get_by_index::<Option<DateTime<Utc>>>(2)?;
            let labels = PluginLabels { plugin };
            self.plugin_lag.get_or_create(&labels).set(events);
            // An event stamped by a process whose clock runs ahead counts as no lag.
            let seconds = oldest.map_or(0.0, |at| (now - at).to_std().map_or(0.0, |d| d.as_secs_f64()));
            self.plugin_lag_seconds.get_or_create(&labels).set(seconds);
        }
        Ok(())
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

/// The pool's connections: (open, idle, most it opens).
fn pool_size(db: &DatabaseConnection) -> (i64, i64, i64) {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            let max = pool.options().get_max_connections();
            (
                i64::from(pool.size()),
                i64::try_from(pool.num_idle()).unwrap_or(0),
                i64::from(max),
            )
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            let max = pool.options().get_max_connections();
            (
                i64::from(pool.size()),
                i64::try_from(pool.num_idle()).unwrap_or(0),
                i64::from(max),
            )
        }
        _ => (0, 0, 0),
    }
}

/// The process's heap as the allocator counts it, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Heap {
    /// Taken by live allocations.
    pub allocated: usize,
    /// In physical pages the allocator holds: live allocations, its own structures, and freed
    /// pages not yet handed back to the system.
    pub resident: usize,
}

/// The heap's figures now (`None` if the allocator cannot say).
pub fn heap() -> Option<Heap> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The figures are cached by the allocator until the epoch moves.
    epoch::advance().ok()?;
    Some(Heap {
        allocated: stats::allocated::read().ok()?,
        resident: stats::resident::read().ok()?,
    })
}
