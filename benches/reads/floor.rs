//! The floor: for each workload, one hand-written SQL statement that builds the answer's JSON
//! (the page's rows and the total count) in the database, served by a bare axum endpoint on
//! Reach's own connection pool. It is the cheapest correct SQL this schema and its indexes
//! (Reach's migrations, nothing added) allow, not Reach's query shape:
//!
//! - an unfiltered list counts with the narrowest index (`mobility_user` by account, or an
//!   index-only count) and reads its page in index order, stopping after 50 rows;
//! - a filtered list (search, per-column filter) has two candidates, and the bench serves the
//!   faster on the data at hand (timed on the database before the load): scan the matching rows
//!   once into a materialised CTE, then count it and sort its first 50; or count the matches,
//!   then walk the name index until 50 match (cheaper when matches are many);
//! - every statement selects only the columns the answer shows.
//!
//! On PostgreSQL each candidate is also timed on a second pool that plans with the server's own
//! settings (Reach's sessions set `random_page_cost`, `database_random_page_cost`), and the
//! faster pair is served: the floor is the cheapest SQL under either setting.
//!
//! It takes no token and checks no visibility: the floor's account is fixed, and it reads
//! exactly what the caller of the Reach workload may see.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::IntoResponse,
    routing::get,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::Value as Json;
use tokio::task::JoinHandle;

/// One JSON key of a node and the column (of the page's alias `p`) it shows.
pub type Field = (&'static str, &'static str);

/// How a backend spells the JSON functions.
#[derive(Clone, Copy)]
pub struct Dialect(pub DbBackend);

impl Dialect {
    fn object(self, fields: &[Field]) -> String {
        let args: Vec<String> = fields.iter().map(|(k, c)| format!("'{k}', p.{c}")).collect();
        match self.0 {
            DbBackend::Postgres => format!("json_build_object({})", args.join(", ")),
            _ => format!("json_object({})", args.join(", ")),
        }
    }

    /// `{"nodes": [...]}` (with `"totalCount"` when `count` is given) from `page`, a select of
    /// the rows in list order whose columns the fields name, aggregated in `order`.
    pub fn answer(self, count: Option<&str>, fields: &[Field], page: &str, order: &str) -> String {
        let object = self.object(fields);
        match self.0 {
            DbBackend::Postgres => {
                let nodes =
                    format!("COALESCE((SELECT json_agg({object} ORDER BY {order}) FROM ({page}) p), '[]'::json)");
                let count = count.map_or(String::new(), |c| format!("'totalCount', ({c}), "));
                format!("SELECT json_build_object({count}'nodes', {nodes})::text")
            }
            _ => {
                // json() keeps the array JSON (a scalar sub-select's value is plain text).
                let nodes = format!("json((SELECT json_group_array({object} ORDER BY {order}) FROM ({page}) p))");
                let count = count.map_or(String::new(), |c| format!("'totalCount', ({c}), "));
                format!("SELECT json_object({count}'nodes', {nodes})")
            }
        }
    }

    /// The answer for a filtered list: `hits` (every matching row, with the sort columns
    /// `sort_name` and `id`) scanned once, counted, and its first `limit` rows sorted.
    pub fn filtered(self, hits: &str, fields: &[Field], limit: usize) -> String {
        let page = format!("SELECT * FROM hits ORDER BY sort_name, id LIMIT {limit}");
        let answer = self.answer(Some("SELECT count(*) FROM hits"), fields, &page, "p.sort_name, p.id");
        format!("WITH hits AS MATERIALIZED ({hits}) {answer}")
    }

    /// The answer for a filtered list counted over `hits` (every matching row, with `u.sort_name`
    /// and `u.id`), and its page read in the index's order until `limit` rows match.
    pub fn two_pass(self, hits: &str, fields: &[Field], limit: usize) -> String {
        let page = format!("{hits} ORDER BY u.sort_name, u.id LIMIT {limit}");
        let count = format!("SELECT count(*) FROM ({hits}) c");
        self.answer(Some(&count), fields, &page, "p.sort_name, p.id")
    }
}

/// A floor statement and the pool it runs on.
pub type Served = (DatabaseConnection, Statement);

/// The floor's statements, by workload index.
#[derive(Clone)]
struct Floor {
    statements: Arc<Vec<Served>>,
}

async fn answer(State(f): State<Floor>, Path(i): Path<usize>) -> impl IntoResponse {
    let (db, statement) = &f.statements[i];
    let row = db.query_one_raw(statement.clone()).await.unwrap().unwrap();
    let json: String = row.try_get_by_index(0).unwrap();
    ([(header::CONTENT_TYPE, "application/json")], json)
}

async fn json(db: &DatabaseConnection, stmt: &Statement) -> Json {
    let row = db.query_one_raw(stmt.clone()).await.unwrap().unwrap();
    serde_json::from_str(&row.try_get_by_index::<String>(0).unwrap()).unwrap()
}

/// The fastest of `candidates` on each of `pools` on the database as it is (each pair run
/// alone, one after another, for 0.2 s), after checking that each answers `expected`: the
/// index of the pool and of the statement.
pub async fn fastest(
    pools: &[DatabaseConnection],
    candidates: &[Statement],
    expected: &Json,
    name: &str,
) -> (usize, usize) {
    let mut best = (Duration::MAX, (0, 0));
    for (p, db) in pools.iter().enumerate() {
        for (i, stmt) in candidates.iter().enumerate() {
            assert_eq!(
                &json(db, stmt).await,
                expected,
                "{name}: floor statement {i} (pool {p}) and Reach differ"
            );
            if candidates.len() * pools.len() == 1 {
                return (0, 0);
            }
            let (start, mut runs) = (Instant::now(), 0);
            while runs < 3 || start.elapsed() < Duration::from_millis(200) {
                db.query_one_raw(stmt.clone()).await.unwrap();
                runs += 1;
            }
            let mean = start.elapsed() / runs;
            if mean < best.0 {
                best = (mean, (p, i));
            }
        }
    }
    best.1
}

/// A statement of `sql` with `values` for `backend`.
pub fn statement(backend: DbBackend, sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}

/// Serves the floor until `stop` completes; returns its base URL (`…/floor/{index}`).
pub async fn serve(statements: Vec<Served>, stop: tokio::sync::oneshot::Receiver<()>) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/floor", listener.local_addr().unwrap());
    let state = Floor {
        statements: Arc::new(statements),
    };
    let router = Router::new().route("/floor/{i}", get(answer)).with_state(state);
    let server = axum::serve(listener, router).with_graceful_shutdown(async {
        let _ = stop.await;
    });
    (url, tokio::spawn(async { server.await.unwrap() }))
}
