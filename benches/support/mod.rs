//! What the benchmarks share: their PostgreSQL database's lifetime, URLs and the machine's load.

use sea_orm::{ConnectionTrait, Database};

/// Drops the benchmark's PostgreSQL database, also when a run panics.
pub struct PgDatabase {
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
pub fn with_database(url: &str, name: &str) -> String {
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
