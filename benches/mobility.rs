//! Connect for Mobile figures of QUALITY.md "Performance", on SQLite and (when
//! `REACH_TEST_POSTGRES_URL` names an admin database) on a fresh PostgreSQL database:
//!
//! - write: `mobilityUsersEnable` with 1,000 rows in one request, ten times (10,000 users);
//! - read: `account.mobility.users(first: 50, search: …)` on an account of 10,000 enabled users
//!   at 32 concurrent clients — throughput and p50/p99 latency — beside the floor: a minimal
//!   hand-written axum endpoint on the same connection pool running one SQL statement for the
//!   same rows (checked equal before the load).
//!
//! Run: `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench mobility`
//! (release build; about half a minute per database once built; leave the variable out for
//! SQLite only). It prints one Markdown table per database and asserts no times: compare the
//! ratios within one run, as the absolute figures move with whatever else the machine is doing
//! (its load is printed).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::machine;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use api::{
    config::Settings,
    graphql::ids::{Kind, encode},
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        mobility::{self, Activation},
        pagination::like_pattern,
    },
    startup::Application,
};
use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use entity::{PhoneProfile, Platform, Role};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use uuid::Uuid;

const USERS: usize = 10_000;
const BATCH: usize = 1_000;
const CLIENTS: usize = 32;
const REQUESTS: usize = 3_200;
const WARM_UP: usize = 320;
const SEARCHES: [&str; 6] = ["an", "ar", "12", "40", "son", ""];
/// Names are `FIRST[i % 10] LAST[i / 10 % 10] i`: searches match a spread of users.
const FIRST: &str = "Anna Bram Carla Dario Elin Femi Greta Hamid Ines Jonas";
const LAST: &str = "Andersson Baker Carter Diaz Eriksen Fraser Garcia Hansen Ito Jensen";

const QUERY: &str = "query($a: ID!, $s: String) { account(id: $a) { mobility { users(first: 50, search: $s) {
    nodes { id name phoneNumber extension mobilityExtension } pageInfo { endCursor hasNextPage } } } } }";

const ENABLE: &str = "mutation($i: MobilityUsersEnableInput!) { mobilityUsersEnable(input: $i) {
    mobilityUsers { mobilityExtension } userErrors { code } } }";

/// The floor's one statement; `{n}` stands for the n-th placeholder of the backend.
const FLOOR_SQL: &str = "SELECT u.id, u.name, u.phone_number, u.extension, m.mobility_extension \
    FROM app_user u JOIN mobility_user m ON m.user_id = u.id \
    WHERE u.account_id = {1} AND (u.sort_name LIKE {2} ESCAPE '\\' OR u.phone_number LIKE {2} ESCAPE '\\' \
    OR u.extension LIKE {2} ESCAPE '\\' OR m.mobility_extension LIKE {2} ESCAPE '\\') \
    ORDER BY u.sort_name, u.id LIMIT 51";

/// Figures of one loaded endpoint.
struct Figures {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    /// SQL statements per request, as the pool counts them.
    statements: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A warm-up of `WARM_UP` requests, then `CLIENTS` tasks sharing `REQUESTS` requests, each
/// `send(i)` timed on its own; `statements` is the pool's counter.
async fn load<F, Fut>(statements: &AtomicU64, send: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
{
    let send = Arc::new(send);
    for i in 0..WARM_UP {
        send(i).await;
    }
    let counted = statements.load(Ordering::SeqCst);
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let send = send.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(REQUESTS / CLIENTS);
                for i in 0..REQUESTS / CLIENTS {
                    let t = Instant::now();
                    // Offset per client so the clients do not ask for the same search in step.
                    send(c + i).await;
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times = Vec::with_capacity(REQUESTS);
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    let counted = statements.load(Ordering::SeqCst) - counted;
    times.sort();
    Figures {
        throughput: times.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        statements: counted as f64 / times.len() as f64,
    }
}

#[derive(serde::Deserialize)]
struct FloorQuery {
    s: String,
}

#[derive(Clone)]
struct Floor {
    db: DatabaseConnection,
    account: Uuid,
}

/// A row of the floor's page, serialised under the names Reach's nodes use.
#[derive(FromQueryResult, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FloorRow {
    id: Uuid,
    name: String,
    phone_number: Option<String>,
    extension: String,
    mobility_extension: String,
}

/// The floor: one SQL statement for the same page, serialised by hand.
async fn floor(State(f): State<Floor>, Query(q): Query<FloorQuery>) -> Json<Value> {
    let backend = f.db.get_database_backend();
    let pattern = like_pattern(&q.s);
    let (sql, values) = match backend {
        DbBackend::Postgres => (
            FLOOR_SQL.replace("{1}", "$1").replace("{2}", "$2"),
            vec![f.account.into(), pattern.into()],
        ),
        _ => {
            let values = [f.account.into()]
                .into_iter()
                .chain((0..4).map(|_| pattern.clone().into()));
            (FLOOR_SQL.replace("{1}", "?").replace("{2}", "?"), values.collect())
        }
    };
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    let mut rows = FloorRow::find_by_statement(stmt).all(&f.db).await.unwrap();
    let more = rows.len() > 50;
    rows.truncate(50);
    Json(json!({ "nodes": rows, "hasNextPage": more }))
}

/// One MiCloud Connect account of `USERS` users with an active add-on; returns the account, a
/// Decision Maker among the users, and the users' ids.
async fn seed(app: &Application) -> (Uuid, Uuid, Vec<Uuid>) {
    let db = &app.state().db;
    let s = Principal::Support { name: "bench".into() };
    let account = directory::create_account(
        db,
        &s,
        NewAccount {
            name: "Bench Corp".into(),
            platform: Platform::MicloudConnect,
            destination_codes: None,
            extension_length: None,
        },
    )
    .await
    .unwrap();
    let access = directory::create_access_number(db, &s, Some(account.id), "+15550001000", "Main")
        .await
        .unwrap();
    let profiles = [PhoneProfile::Essentials, PhoneProfile::Premier, PhoneProfile::Elite];
    let (first, last): (Vec<&str>, Vec<&str>) = (FIRST.split(' ').collect(), LAST.split(' ').collect());
    let mut ids = Vec::with_capacity(USERS);
    for batch in 0..USERS / BATCH {
        let rows = (0..BATCH)
            .map(|j| {
                let i = batch * BATCH + j;
                UserFields {
                    location_id: None,
                    name: format!("{} {} {i}", first[i % 10], last[i / 10 % 10]),
                    email: None,
                    phone_number: Some(format!("+1555{i:07}")),
                    extension: format!("{}", 100_000 + i),
                    phone_profile: profiles[i % 3],
                }
            })
            .collect();
        let users = directory::import_users(db, &s, &Default::default(), Some(account.id), rows)
            .await
            .unwrap();
        ids.extend(users.into_iter().map(|u| u.id));
    }
    let dm = ids[0];
    directory::assign_role(db, &s, Some(dm), Role::DecisionMaker, None)
        .await
        .unwrap();
    let activation = Activation {
        confirm_purchase: true,
        voicemail_access_number: "8991".into(),
        access_number_id: Some(access.id),
        ..Default::default()
    };
    mobility::activate(db, &s, &app.state().settings.mobility, Some(account.id), activation)
        .await
        .unwrap();
    mobility::complete_activation(db, &s, Some(account.id), "mr1.example.net", "bench")
        .await
        .unwrap();
    (account.id, dm, ids)
}

/// On PostgreSQL, gathers the statistics a maintained database has after a bulk load (autovacuum
/// may be off, as on this machine's test server, and autoanalyze would come at a moment the run
/// cannot predict). Without them the planner takes the account for ~20 rows: a page joins all
/// 10,000 users one by one (~40 ms), and once sqlx's prepared statements turn generic, each
/// 500-value `IN` check of an enable scans the account's rows against the list (~280 ms).
async fn analyze(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

/// A page's extensions and whether more follow, from Reach's answer or the floor's.
fn page_of(nodes: &Value, has_next: &Value) -> (Vec<String>, bool) {
    let extensions = nodes.as_array().unwrap().iter().map(|n| n["extension"].to_string());
    (extensions.collect(), has_next.as_bool().unwrap())
}

/// Reach's GraphQL endpoint, as the Decision Maker.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn post(&self, body: Value) -> Value {
        let resp = self.client.post(&self.url).bearer_auth(&self.token);
        let resp = resp
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

/// Enables every user in requests of `BATCH` rows; returns each request's time (sorted) and the
/// SQL statements per request.
async fn enable_all(api: &Api, account_id: &str, ids: &[Uuid], statements: &AtomicU64) -> (Vec<Duration>, f64) {
    let mut times = Vec::new();
    let counted = statements.load(Ordering::SeqCst);
    for (b, chunk) in ids.chunks(BATCH).enumerate() {
        let rows: Vec<Value> = (chunk.iter().enumerate())
            .map(|(j, id)| {
                let extension = format!("{}", 400_000 + b * BATCH + j);
                json!({ "userId": encode(Kind::User, *id).0, "mobilityExtension": extension })
            })
            .collect();
        let body = json!({ "query": ENABLE, "variables": { "i": { "accountId": account_id, "users": rows } } });
        let t = Instant::now();
        let resp = api.post(body).await;
        times.push(t.elapsed());
        let enabled = &resp["data"]["mobilityUsersEnable"]["mobilityUsers"];
        assert_eq!(enabled.as_array().map_or(0, Vec::len), chunk.len(), "{resp}");
    }
    let per_request = (statements.load(Ordering::SeqCst) - counted) as f64 / times.len() as f64;
    times.sort();
    (times, per_request)
}

/// Serves the floor on a port of its own until `stop` is sent; returns its URL.
async fn serve_floor(floor_state: Floor, stop: tokio::sync::oneshot::Receiver<()>) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/floor", listener.local_addr().unwrap());
    let router = Router::new().route("/floor", get(floor)).with_state(floor_state);
    let server = axum::serve(listener, router).with_graceful_shutdown(async {
        let _ = stop.await;
    });
    (url, tokio::spawn(async { server.await.unwrap() }))
}

async fn run(label: &str, settings: Settings) {
    let started = Instant::now();
    let app = Application::build(settings, false).await.expect("the server starts");
    let state = app.state().clone();
    let (statements, backend) = (state.statements.clone(), state.db.get_database_backend());
    let (account, dm, ids) = seed(&app).await;
    let seeded = started.elapsed();
    analyze(&state.db).await;
    let api = Api {
        client: reqwest::Client::new(),
        url: format!("http://{}/graphql", app.local_addr().unwrap()),
        token: state.tokens.mint_user(dm, 3600).unwrap(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let account_id = encode(Kind::Account, account).0;

    let (writes, write_statements) = enable_all(&api, &account_id, &ids, &statements).await;
    analyze(&state.db).await;

    // The floor, on the same connection pool.
    let (stop_floor, floor_stopped) = tokio::sync::oneshot::channel::<()>();
    let floor_state = Floor {
        db: state.db.clone(),
        account,
    };
    let (floor_url, floor_server) = serve_floor(floor_state, floor_stopped).await;
    let floor_get = {
        let client = api.client.clone();
        move |s: &'static str| {
            let page = client.get(&floor_url).query(&[("s", s)]).send();
            async move {
                let resp = page.await.unwrap();
                assert_eq!(resp.status(), 200);
                resp.json::<Value>().await.unwrap()
            }
        }
    };
    let reach_get = move |s: &str| {
        let (api, body) = (
            api.clone(),
            json!({ "query": QUERY, "variables": { "a": account_id, "s": s } }),
        );
        async move { api.post(body).await }
    };

    // Both endpoints must do the same work: the same rows, in the same order.
    for s in SEARCHES {
        let users = &reach_get(s).await["data"]["account"]["mobility"]["users"];
        let ours = page_of(&users["nodes"], &users["pageInfo"]["hasNextPage"]);
        let bare = floor_get(s).await;
        assert_eq!(ours, page_of(&bare["nodes"], &bare["hasNextPage"]), "search {s:?}");
        assert_eq!(ours.0.len(), 50, "search {s:?} fills a page");
    }
    let reach = load(&statements, move |i| reach_get(SEARCHES[i % SEARCHES.len()])).await;
    let bare = load(&statements, move |i| floor_get(SEARCHES[i % SEARCHES.len()])).await;

    let _ = (stop.send(()), stop_floor.send(()));
    server.await.unwrap().unwrap();
    floor_server.await.unwrap();
    state.db.close_by_ref().await.unwrap();

    let analyzed = if backend == DbBackend::Postgres {
        "; `ANALYZE` after each bulk load"
    } else {
        ""
    };
    let (seeded, total) = (seeded.as_secs_f64(), started.elapsed().as_secs_f64());
    println!(
        "\n### {label}: 10,000 users (seeded through the services in {seeded:.1} s; whole run {total:.0} s{analyzed})\n"
    );
    println!("| {CLIENTS} clients, {REQUESTS} requests after {WARM_UP} of warm-up | Reach | floor | Reach / floor |");
    println!("|---|---:|---:|---:|");
    let (rt, bt) = (reach.throughput, bare.throughput);
    println!(
        "| `mobility.users(first: 50, search)`: req/s | {rt:.0} | {bt:.0} | {:.2}× |",
        rt / bt
    );
    for (name, r, f) in [("p50", reach.p50, bare.p50), ("p99", reach.p99, bare.p99)] {
        println!("| {name} ms | {:.1} | {:.1} | {:.2}× |", ms(r), ms(f), ms(r) / ms(f));
    }
    println!(
        "| SQL statements per request | {:.1} | {:.1} | |",
        reach.statements, bare.statements
    );
    let (min, median, max) = (
        ms(writes[0]),
        ms(writes[writes.len() / 2]),
        ms(writes[writes.len() - 1]),
    );
    println!(
        "| `mobilityUsersEnable`, 1,000 rows a request (10 requests): min / median / max ms | {min:.0} / {median:.0} / {max:.0} | | |"
    );
    println!("| SQL statements per 1,000-row request | {write_statements:.0} | | |");
}

fn settings(database_url: String) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: SecretString::from(database_url),
        database_max_connections: 16,
        log_level: "warn".into(),
        ..Default::default()
    };
    s.limits.rate_limit_per_second = 1_000_000;
    s.limits.rate_limit_burst = 1_000_000;
    // A 1,000-row enable is ~100 KiB of variables.
    s.limits.max_body_bytes = 1 << 20;
    // Statements are counted per request through the pool; plugins would add their own.
    s.plugins.email.enabled = false;
    s.plugins.platform.enabled = false;
    s
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    println!("## Connect for Mobile benchmark\n");
    println!(
        "{}; release build; server, floor and clients in one process.",
        machine()
    );

    support::on_each_database(|label, url| run(label, settings(url))).await;
    println!("\nAt the end: {}.", machine());
}
