//! Database connection, migrations and write transactions for SQLite and PostgreSQL.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::config::Settings;

/// Connects with settings that keep SQLite safe under concurrent writers (WAL, a busy timeout,
/// foreign keys on) and PostgreSQL failing fast when it is unreachable, each PostgreSQL session
/// planning with `database_random_page_cost`.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    connect_counted(settings, Arc::new(AtomicU64::new(0))).await
}

/// How long a PostgreSQL connection may sit idle in the pool and still be handed out without a
/// ping first.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Like [`connect`], counting every SQL statement run through the pool into `statements` (the
/// figure behind the "no N+1" test, and a cheap metric).
pub async fn connect_counted(settings: &Settings, statements: Arc<AtomicU64>) -> Result<DatabaseConnection, DbErr> {
    let mut url = settings.database_url.expose_secret().to_owned();
    let sqlite = url.starts_with("sqlite:");
    if sqlite && !url.contains("mode=") {
        url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
    }
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(settings.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if sqlite {
        // An embedded database has no connection to lose: never ping it.
        opts.test_before_acquire(false);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true)
        });
    } else {
        // Ping only a connection left idle a while (one the server, a pooler or a firewall may
        // have closed), not one in use a moment ago: the default pings on every checkout, a
        // round trip to the server before each statement or transaction (issue 17).
        opts.test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    }
    if !sqlite && settings.database_random_page_cost > 0.0 {
        // Set on each new connection by a statement rather than as a startup option, which
        // poolers such as PgBouncer refuse.
        let cost = settings.database_random_page_cost.to_string();
        opts.map_sqlx_postgres_pool_opts(move |pool| {
            let cost = cost.clone();
            pool.after_connect(move |conn, _| {
                let cost = cost.clone();
                Box::pin(async move {
                    sea_orm::sqlx::query("SELECT set_config('random_page_cost', $1, false)")
                        .bind(cost)
                        .execute(conn)
                        .await
                        .map(|_| ())
                })
            })
        });
    }
    let mut db = Database::connect(opts).await?;
    db.set_metric_callback(move |_| {
        statements.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

/// Applies pending migrations. On PostgreSQL they run in one transaction behind an advisory lock:
/// several processes starting at once on a fresh database queue, the first migrates, and the
/// others find nothing left to do (instead of racing to create the same tables).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let txn = db.begin().await?;
    txn.execute_unprepared("SELECT pg_advisory_xact_lock(7265616369)")
        .await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await
}

/// On PostgreSQL, warns when `pg_trgm` is missing: the migration could not create it, so
/// substring searches scan each account's rows instead of using trigram indexes (they still
/// answer the same).
pub async fn warn_if_searches_scan(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let found = db
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT 1 AS found FROM pg_extension WHERE extname = 'pg_trgm'",
        ))
        .await?;
    if found.is_none() {
        tracing::warn!(
            "the PostgreSQL extension pg_trgm is not installed: substring searches scan each account's users; \
             a superuser can run CREATE EXTENSION pg_trgm and the index statements of README \"PostgreSQL\""
        );
    }
    Ok(())
}

/// Whether every migration has been applied (readiness).
pub async fn migrations_applied(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.is_empty())
}

/// Where a service runs: the pool, or a transaction that is already open (the service's own
/// transaction then nests as a savepoint, so several service calls commit or roll back together).
pub trait Db: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync {}

impl<T: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction> + Sync> Db for T {}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing with
/// `database is locked` when a read lock would have to be upgraded. Inside an open transaction it
/// is a savepoint.
pub async fn begin_write(db: &impl Db) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Checks the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// What the request being served knows of its writes: its deadline, and whether one of them
/// committed.
struct RequestScope {
    deadline: Instant,
    committed: Arc<AtomicBool>,
}

tokio::task_local! {
    static SCOPE: RequestScope;
}

/// Runs `work` with a deadline that [`past_deadline`] reports on (the request timeout);
/// `committed` is raised when one of its writes commits ([`note_commit`]).
pub async fn within_scope<F: Future>(deadline: Instant, committed: Arc<AtomicBool>, work: F) -> F::Output {
    SCOPE.scope(RequestScope { deadline, committed }, work).await
}

/// Whether the current request has run out of time.
pub fn past_deadline() -> bool {
    SCOPE.try_with(|s| Instant::now() >= s.deadline).unwrap_or(false)
}

/// Says that the current request committed a write (nothing outside a request).
pub fn note_commit() {
    let _ = SCOPE.try_with(|s| s.committed.store(true, Ordering::Relaxed));
}

/// The constraint a unique violation hit, if that is what the error is.
pub fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) => Some(msg),
        _ => None,
    }
}

/// The secret `name` kept in `server_secret` (base64 of `len` random bytes), generated on first
/// use; when several processes generate it at once, the first one stored wins for all.
pub async fn kept_secret(db: &DatabaseConnection, name: &str, len: usize) -> Result<secrecy::SecretString, DbErr> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use entity::server_secret;
    use rand::RngCore;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use secrecy::SecretString;
    if let Some(row) = server_secret::Entity::find_by_id(name).one(db).await? {
        return Ok(SecretString::from(row.value));
    }
    let mut bytes = vec![0u8; len];
    rand::rng().fill_bytes(&mut bytes);
    let inserted = server_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(STANDARD.encode(bytes)),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(row) => Ok(SecretString::from(row.value)),
        // Another process generated it first: use theirs.
        Err(e) if unique_violation(&e).is_some() => server_secret::Entity::find_by_id(name)
            .one(db)
            .await?
            .map(|row| SecretString::from(row.value))
            .ok_or(e),
        Err(e) => Err(e),
    }
}
