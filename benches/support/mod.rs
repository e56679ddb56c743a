//! What the benchmarks share: their PostgreSQL database's lifetime, URLs and the machine's load.

use std::future::Future;

use api::config::Settings;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use uuid::Uuid;

/// A benchmark server's settings: `database_url`, any free port, warnings only, rate limits
/// lifted, and the plugins and subscriptions off, so that nothing runs beside what is measured;
/// a bench turns on what it measures.
#[allow(dead_code)] // the email, sync and subscriptions benches set up their own
pub fn quiet_settings(database_url: String) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: SecretString::from(database_url),
        log_level: "warn".into(),
        ..Default::default()
    };
    s.limits.rate_limit_per_second = 1_000_000;
    s.limits.rate_limit_burst = 1_000_000;
    s.plugins.email.enabled = false;
    s.plugins.platform.enabled = false;
    s.plugins.webhooks.enabled = false;
    s.subscriptions.enabled = false;
    s
}

/// Drops the benchmark's PostgreSQL database, also when a run panics.
struct PgDatabase {
    /// The admin database's URL.
    pub admin: String,
    /// The benchmark database's name.
    pub name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // A runtime of its own: the drop may happen while the main runtime unwinds.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let db = Database::connect(admin.as_str()).await.unwrap();
                db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .unwrap();
                db.close().await.unwrap();
            });
        })
        .join();
    }
}

/// The URL of database `name` on the server of `url` (keeping its query string).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    query.map_or_else(|| format!("{prefix}/{name}"), |q| format!("{prefix}/{name}?{q}"))
}

/// Cores and load average, printed before and after.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cores} cores (nproc), load average {}", load.join(" "))
}

/// Runs `run` on a fresh SQLite file, then on a fresh PostgreSQL database when
/// `REACH_TEST_POSTGRES_URL` names an admin database; each is removed afterwards.
pub async fn on_each_database<F, Fut>(mut run: F)
where
    F: FnMut(&'static str, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = std::env::temp_dir().join(format!("reach-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    run("SQLite", format!("sqlite://{}", dir.join("reach.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);

    match std::env::var("REACH_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let name = format!("reach_bench_{}", Uuid::new_v4().simple());
            let db = Database::connect(admin.as_str())
                .await
                .expect("PostgreSQL is reachable");
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            db.close().await.unwrap();
            let url = with_database(&admin, &name);
            let _drop = PgDatabase { admin, name };
            run("PostgreSQL", url).await;
        }
        _ => println!("\n(PostgreSQL skipped: set REACH_TEST_POSTGRES_URL to an admin database to include it)"),
    }
}
