//! Connect for Mobile figures of QUALITY.md, on SQLite and (when `REACH_TEST_POSTGRES_URL` names
//! an admin database) PostgreSQL:
//!
//! - write: `mobilityUsersEnable` with 1,000 rows in one request, ten times (10,000 users);
//! - read: `account.mobility.users(first: 50, search: …)` on an account of 10,000 enabled users
//!   at 32 concurrent clients — throughput and p50/p99 latency — beside a minimal hand-written
//!   axum endpoint running one SQL statement for the same rows (the floor).
//!
//! Run: `cargo bench --bench mobility` (release build). It reports figures and asserts nothing:
//! compare the ratios within one run, this machine is shared.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use api::{
    config::Settings,
    graphql::ids::{Kind, encode},
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        mobility::{self, Activation},
    },
    startup::Application,
};
use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use entity::{PhoneProfile, Platform, Role};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

const USERS: usize = 10_000;
const BATCH: usize = 1_000;
const CLIENTS: usize = 32;
const REQUESTS: usize = 3_200;
const WARM_UP: usize = 320;
const SEARCHES: [&str; 6] = ["an", "ar", "12", "40", "son", ""];
const FIRST: [&str; 10] = [
    "Anna", "Bram", "Carla", "Dario", "Elin", "Femi", "Greta", "Hamid", "Ines", "Jonas",
];
const LAST: [&str; 10] = [
    "Andersson",
    "Baker",
    "Carter",
    "Diaz",
    "Eriksen",
    "Fraser",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
];

const QUERY: &str = "query($a: ID!, $s: String) { account(id: $a) { mobility { users(first: 50, search: $s) {
    nodes { id name phoneNumber extension mobilityExtension } pageInfo { endCursor hasNextPage } } } } }";

const ENABLE: &str = "mutation($i: MobilityUsersEnableInput!) { mobilityUsersEnable(input: $i) {
    mobilityUsers { mobilityExtension } userErrors { code } } }";

struct Figures {
    throughput: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// `CLIENTS` tasks share `REQUESTS` requests (after a warm-up); each calls `send(i)`.
async fn load<F, Fut>(send: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let send = Arc::new(send);
    for i in 0..WARM_UP {
        send(i).await;
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let send = send.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(REQUESTS / CLIENTS);
                for i in 0..REQUESTS / CLIENTS {
                    let t = Instant::now();
                    send(c * 1000 + i).await;
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
    times.sort();
    Figures {
        throughput: times.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
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

/// The floor: one SQL statement for the same page, serialised by hand.
async fn floor(State(f): State<Floor>, Query(q): Query<FloorQuery>) -> Json<Value> {
    let pattern = api::service::pagination::like_pattern(&q.s);
    let backend = f.db.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let sql = format!(
        "SELECT u.id, u.name, u.phone_number, u.extension, m.mobility_extension FROM app_user u \
         JOIN mobility_user m ON m.user_id = u.id WHERE u.account_id = {} AND (u.sort_name LIKE {} ESCAPE '\\' \
         OR u.phone_number LIKE {} ESCAPE '\\' OR u.extension LIKE {} ESCAPE '\\' OR m.mobility_extension LIKE {} ESCAPE '\\') \
         ORDER BY u.sort_name, u.id LIMIT 51",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    );
    let values = vec![
        f.account.into(),
        pattern.clone().into(),
        pattern.clone().into(),
        pattern.clone().into(),
        pattern.into(),
    ];
    let rows =
        f.db.query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .unwrap();
    let nodes: Vec<Value> = rows
        .iter()
        .take(50)
        .map(|r| {
            json!({
                "id": r.try_get::<Uuid>("", "id").unwrap(),
                "name": r.try_get::<String>("", "name").unwrap(),
                "phoneNumber": r.try_get::<Option<String>>("", "phone_number").unwrap(),
                "extension": r.try_get::<String>("", "extension").unwrap(),
                "mobilityExtension": r.try_get::<String>("", "mobility_extension").unwrap(),
            })
        })
        .collect();
    Json(json!({ "nodes": nodes, "hasNextPage": rows.len() > 50 }))
}

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
    let mut ids = Vec::with_capacity(USERS);
    for batch in 0..USERS / BATCH {
        let rows = (0..BATCH)
            .map(|j| {
                let i = batch * BATCH + j;
                UserFields {
                    location_id: None,
                    name: format!("{} {} {i}", FIRST[i % 10], LAST[(i / 10) % 10]),
                    email: None,
                    phone_number: Some(format!("+1555{:07}", i)),
                    extension: format!("{}", 100_000 + i),
                    phone_profile: profiles[i % 3],
                }
            })
            .collect();
        let users = directory::import_users(db, &s, Some(account.id), rows).await.unwrap();
        ids.extend(users.into_iter().map(|u| u.id));
    }
    let dm = ids[0];
    directory::assign_role(db, &s, Some(dm), Role::DecisionMaker, None)
        .await
        .unwrap();
    let defaults = &app.state().settings.mobility;
    let activation = Activation {
        confirm_purchase: true,
        voicemail_access_number: "8991".into(),
        access_number_id: Some(access.id),
        ..Default::default()
    };
    mobility::activate(db, &s, defaults, Some(account.id), activation)
        .await
        .unwrap();
    mobility::complete_activation(db, &s, Some(account.id), "mr1.example.net", "bench")
        .await
        .unwrap();
    (account.id, dm, ids)
}

async fn run(label: &str, settings: Settings) {
    let app = Application::build(settings, false).await.expect("the server starts");
    let address = format!("http://{}", app.local_addr().unwrap());
    let state = app.state().clone();
    let started = Instant::now();
    let (account, dm, ids) = seed(&app).await;
    let seeded = started.elapsed();
    tokio::spawn(app.run_until(std::future::pending()));
    let token = state.tokens.mint_user(dm, 3600).unwrap();
    let client = reqwest::Client::new();
    let account_id = encode(Kind::Account, account).0;

    // Write: ten requests of 1,000 rows.
    let mut writes = Vec::new();
    for (b, chunk) in ids.chunks(BATCH).enumerate() {
        let rows: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(j, id)| json!({ "userId": encode(Kind::User, *id).0, "mobilityExtension": format!("{}", 400_000 + b * BATCH + j) }))
            .collect();
        let body = json!({ "query": ENABLE, "variables": { "i": { "accountId": account_id, "users": rows } } });
        let t = Instant::now();
        let resp: Value = client
            .post(format!("{address}/graphql"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        writes.push(t.elapsed());
        let enabled = resp["data"]["mobilityUsersEnable"]["mobilityUsers"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(enabled, chunk.len(), "{resp}");
    }
    writes.sort();

    // Read: Reach.
    let reach = {
        let (client, address, token, account_id) = (client.clone(), address.clone(), token.clone(), account_id.clone());
        load(move |i| {
            let (client, address, token) = (client.clone(), address.clone(), token.clone());
            let body = json!({ "query": QUERY, "variables": { "a": account_id, "s": SEARCHES[i % SEARCHES.len()] } });
            async move {
                let resp = client
                    .post(format!("{address}/graphql"))
                    .bearer_auth(&token)
                    .header("accept", "application/json")
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let _ = resp.bytes().await.unwrap();
            }
        })
        .await
    };

    // Read: the floor, on the same database connection pool.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let floor_address = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().route("/floor", get(floor)).with_state(Floor {
        db: state.db.clone(),
        account,
    });
    tokio::spawn(async move { axum::serve(listener, router).await });
    let bare = {
        let client = client.clone();
        load(move |i| {
            let client = client.clone();
            let url = format!("{floor_address}/floor");
            async move {
                let resp = client
                    .get(url)
                    .query(&[("s", SEARCHES[i % SEARCHES.len()])])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let _ = resp.bytes().await.unwrap();
            }
        })
        .await
    };

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n### {label}: {USERS} users, seeded in {:.1} s\n",
        seeded.as_secs_f64()
    );
    println!(
        "`mobilityUsersEnable`, {BATCH} rows per request: min {:.0} ms, median {:.0} ms, max {:.0} ms\n",
        ms(writes[0]),
        ms(writes[writes.len() / 2]),
        ms(writes[writes.len() - 1])
    );
    println!("| `mobility.users(first: 50, search)`, {CLIENTS} clients | req/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, f) in [("Reach (GraphQL)", &reach), ("floor (axum + one SQL statement)", &bare)] {
        println!("| {name} | {:.0} | {:.2} | {:.2} |", f.throughput, ms(f.p50), ms(f.p99));
    }
    println!(
        "| Reach / floor | {:.2}× | {:.2}× | {:.2}× |",
        reach.throughput / bare.throughput,
        ms(reach.p50) / ms(bare.p50),
        ms(reach.p99) / ms(bare.p99)
    );
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
    s.limits.max_body_bytes = 1 << 20;
    s
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Reach mobility benchmark: {cores} cores, release build, server and clients in one process");

    let dir = std::env::temp_dir().join(format!("reach-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    run(
        "SQLite",
        settings(format!("sqlite://{}", dir.join("reach.db").display())),
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);

    if let Ok(admin) = std::env::var("REACH_TEST_POSTGRES_URL") {
        let name = format!("reach_bench_{}", Uuid::new_v4().simple());
        let db = Database::connect(admin.as_str()).await.unwrap();
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(p, _)| p));
        run("PostgreSQL", settings(url)).await;
        db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .unwrap();
    } else {
        println!("\n(PostgreSQL skipped: set REACH_TEST_POSTGRES_URL to an admin database to include it)");
    }
}
