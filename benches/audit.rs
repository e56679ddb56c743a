//! The audit log's figure of issue 20: a page of 50 entries of an account with 1,000,000 events
//! answers within 2× of a page of 50 of its users. On SQLite, then on a fresh PostgreSQL
//! database when `REACH_TEST_POSTGRES_URL` names an admin database.
//!
//! The account's 10,000 users are created through the service layer (10,000 `user.created`
//! events); the other 990,000 events (renames of those users and of their numbers, spread over
//! the last 400 days, by 100 different users) are written by one `INSERT … SELECT` each, as a
//! year of activity would have left them; then the tables are `ANALYZE`d. Each workload is a
//! GraphQL request over HTTP to the running server, sent again and again by 1 and by 8 clients
//! for `AUDIT_SECONDS` (default 2) after a warm-up; the table gives requests per second, p50/p99
//! and SQL statements per request, and each audit page's throughput over the users page's.
//! Run: `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench audit`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "reads/load.rs"]
mod load;
mod support;

use std::time::{Duration, Instant};

use api::{
    graphql::ids::{Kind, encode},
    policy::Principal,
    service::directory::{self, NewAccount, UserFields},
    startup::Application,
};
use entity::{PhoneProfile, Platform, Role};
use load::Request;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde_json::json;
use support::machine;
use uuid::Uuid;

const USERS: usize = 10_000;
const EVENTS: usize = 1_000_000;
const CLIENTS: [usize; 2] = [1, 8];
const WARM_UP: Duration = Duration::from_millis(500);

/// The account, its users (through the services), a Decision Maker and a location Phone
/// Manager; then the rest of the million events by SQL.
async fn seed(app: &Application) -> (Uuid, Uuid, Uuid, Uuid) {
    let db = &app.state().db;
    let s = Principal::Support { name: "bench".into() };
    let new = NewAccount {
        name: "Audited".into(),
        platform: Platform::MicloudConnect,
        destination_codes: None,
        extension_length: None,
    };
    let account = directory::create_account(db, &s, new).await.unwrap();
    let north = directory::create_location(db, &s, Some(account.id), "North")
        .await
        .unwrap();
    let mut ids = Vec::with_capacity(USERS);
    for batch in 0..USERS / 1_000 {
        let rows = (0..1_000)
            .map(|j| {
                let i = batch * 1_000 + j;
                UserFields {
                    location_id: (i % 10 == 0).then_some(api::service::GivenId::Key(north.id)),
                    name: format!("Audited Person {i:05}"),
                    email: None,
                    phone_number: Some(format!("+1555{i:07}")),
                    extension: format!("{}", 100_000 + i),
                    phone_profile: PhoneProfile::Premier,
                }
            })
            .collect();
        let cfg = &app.state().settings.remote_extension;
        let users = directory::import_users(db, &s, cfg, Some(account.id), rows)
            .await
            .unwrap();
        ids.extend(users.into_iter().map(|u| u.id));
    }
    directory::assign_role(db, &s, Some(ids[1]), Role::DecisionMaker, None)
        .await
        .unwrap();
    directory::assign_role(
        db,
        &s,
        Some(ids[2]),
        Role::PhoneManager,
        Some(api::service::GivenId::Key(north.id)),
    )
    .await
    .unwrap();
    let written = count(db).await;
    fill(db, account.id, EVENTS.saturating_sub(written as usize)).await;
    db.execute_unprepared("ANALYZE").await.unwrap();
    if db.get_database_backend() == DbBackend::Sqlite {
        // The million rows just written sit in the write-ahead log, through which every read
        // would look up each page until a checkpoint moved them into the database, as a
        // running server's checkpoints long since would have.
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
    }
    (account.id, ids[1], ids[2], ids[3])
}

async fn count(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM outbox_event",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// `n` more events of the account, oldest first, one every 400 days / `n`: user `i % 10,000` renamed
/// (or one of their numbers changed) by user `i % 100`. Times and actors are written as Reach
/// writes them (on SQLite: RFC 3339 text, whole seconds here; `user:` and a hyphenated UUID).
async fn fill(db: &DatabaseConnection, account: Uuid, n: usize) {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "WITH u AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM app_user WHERE account_id = '{account}') \
             INSERT INTO outbox_event (id, event_type, account_id, aggregate_type, aggregate_id, actor, payload, occurred_at, user_id) \
             SELECT gen_random_uuid(), \
               CASE WHEN g.i % 4 = 0 THEN 'user_number.updated' ELSE 'user.updated' END, \
               '{account}', \
               CASE WHEN g.i % 4 = 0 THEN 'UserNumber' ELSE 'User' END, \
               CASE WHEN g.i % 4 = 0 THEN gen_random_uuid() ELSE u.id END, \
               'user:' || a.id::text, \
               CASE WHEN g.i % 4 = 0 \
                 THEN json_build_object('userId', u.id, 'changes', json_build_object('label', json_build_object('old', 'Mobile', 'new', 'Work'))) \
                 ELSE json_build_object('changes', json_build_object('name', json_build_object('old', 'Old ' || g.i, 'new', 'New ' || g.i))) END, \
               now() - interval '400 days' + (g.i * interval '400 days' / {n}), \
               u.id \
             FROM generate_series(0, {n} - 1) AS g(i) \
             JOIN u ON u.k = g.i % {USERS} \
             JOIN u a ON a.k = g.i % 100"
        ),
        _ => format!(
            "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n} - 1), \
             u AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM app_user WHERE account_id = unhex('{simple}')) \
             INSERT INTO outbox_event (id, event_type, account_id, aggregate_type, aggregate_id, actor, payload, occurred_at, user_id) \
             SELECT randomblob(16), \
               CASE WHEN g.i % 4 = 0 THEN 'user_number.updated' ELSE 'user.updated' END, \
               unhex('{simple}'), \
               CASE WHEN g.i % 4 = 0 THEN 'UserNumber' ELSE 'User' END, \
               CASE WHEN g.i % 4 = 0 THEN randomblob(16) ELSE u.id END, \
               'user:' || lower(substr(hex(a.id), 1, 8) || '-' || substr(hex(a.id), 9, 4) || '-' || substr(hex(a.id), 13, 4) || '-' || substr(hex(a.id), 17, 4) || '-' || substr(hex(a.id), 21)), \
               CASE WHEN g.i % 4 = 0 \
                 THEN json_object('userId', lower(hex(u.id)), 'changes', json_object('label', json_object('old', 'Mobile', 'new', 'Work'))) \
                 ELSE json_object('changes', json_object('name', json_object('old', 'Old ' || g.i, 'new', 'New ' || g.i))) END, \
               strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-400 days', '+' || (g.i * 34560000 / {n}) || ' seconds'), \
               u.id \
             FROM g JOIN u ON u.k = g.i % {USERS} JOIN u a ON a.k = g.i % 100",
            simple = account.simple()
        ),
    };
    db.execute_unprepared(&sql).await.unwrap();
}

struct Workload {
    name: &'static str,
    token: String,
    body: Vec<u8>,
}

fn workload(name: &'static str, token: &str, query: &str, variables: serde_json::Value) -> Workload {
    Workload {
        name,
        token: token.to_owned(),
        body: serde_json::to_vec(&json!({ "query": query, "variables": variables })).unwrap(),
    }
}

async fn run(label: &str, url: String, seconds: Duration) {
    let started = Instant::now();
    let app = Application::build(support::quiet_settings(url), false)
        .await
        .expect("the server starts");
    let state = app.state().clone();
    let (account, dm, location_pm, someone) = seed(&app).await;
    let events = count(&state.db).await;
    println!(
        "\n### {label}: {events} events in the log ({} seeded in {:.0} s)\n",
        events,
        started.elapsed().as_secs_f64()
    );
    let support = state.tokens.mint_support("bench", 3600).unwrap();
    let dm = state.tokens.mint_user(dm, 3600).unwrap();
    let location_pm = state.tokens.mint_user(location_pm, 3600).unwrap();
    let reach_url = format!("http://{}/graphql", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let a = encode(Kind::Account, account).0;
    let users = "query($a: ID!) { account(id: $a) { users(first: 50) { nodes { id name extension } } } }";
    let entries = "query($a: ID!, $f: AuditLogFilter, $after: String) { account(id: $a) {
        auditLog(first: 50, filter: $f, after: $after) { pageInfo { endCursor }
        nodes { eventId occurredAt kind subjectType subjectId actor { kind } changes { field oldValue newValue } } } } }";
    let client = reqwest::Client::new();
    // A cursor half way down the log, for a page that starts there.
    let row = (state.db)
        .query_one_raw(sea_orm::Statement::from_string(
            state.db.get_database_backend(),
            format!(
                "SELECT id FROM outbox_event ORDER BY position LIMIT 1 OFFSET {}",
                events / 2
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let middle: Uuid = row.try_get("", "id").unwrap();
    let deep = api::service::pagination::Cursor {
        key: String::new(),
        id: middle,
    }
    .encode();
    let someone = encode(Kind::User, someone).0;
    // One of the hundred users who made the changes.
    let row = (state.db)
        .query_one_raw(sea_orm::Statement::from_string(
            state.db.get_database_backend(),
            "SELECT actor FROM outbox_event ORDER BY position DESC LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap();
    let actor: String = row.try_get("", "actor").unwrap();
    let actor = Uuid::parse_str(actor.trim_start_matches("user:")).unwrap();
    let workloads = [
        workload("users page (the reference)", &dm, users, json!({"a": a})),
        workload("audit log, newest 50", &dm, entries, json!({"a": a})),
        workload(
            "audit log, 50 after a cursor",
            &dm,
            entries,
            json!({"a": a, "after": deep}),
        ),
        workload(
            "audit log, by kind",
            &dm,
            entries,
            json!({"a": a, "f": {"kinds": ["USER_NUMBER_UPDATED"]}}),
        ),
        workload(
            "audit log, by actor",
            &dm,
            entries,
            json!({"a": a, "f": {"actorId": encode(Kind::User, actor).0}}),
        ),
        workload(
            "audit log, about one user",
            &support,
            entries,
            json!({"a": a, "f": {"subjectId": someone}}),
        ),
        workload(
            "audit log, a month ago",
            &dm,
            entries,
            json!({"a": a, "f": {"until": (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339()}}),
        ),
        workload(
            "audit log, location Phone Manager",
            &location_pm,
            entries,
            json!({"a": a}),
        ),
    ];
    let counter = &state.statements;
    println!("| workload | clients | req/s | p50 ms | p99 ms | statements | ÷ users page |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for clients in CLIENTS {
        let mut reference = None;
        for w in &workloads {
            let req = Request {
                url: reach_url.clone(),
                token: Some(w.token.clone()),
                body: Some(w.body.clone()),
            };
            // Each answers without errors before it is timed (`send` panics otherwise).
            req.send(&client).await;
            let f = load::run(&client, req, clients, WARM_UP, seconds, counter).await;
            assert_eq!(f.failed, 0, "{}: requests failed under load", w.name);
            let base = *reference.get_or_insert(f.throughput);
            println!(
                "| {} | {clients} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
                w.name,
                f.throughput,
                f.p50.as_secs_f64() * 1000.0,
                f.p99.as_secs_f64() * 1000.0,
                f.statements,
                f.throughput / base
            );
        }
    }
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    let seconds = Duration::from_secs_f64(
        std::env::var("AUDIT_SECONDS").map_or(2.0, |v| v.parse().expect("AUDIT_SECONDS is a number")),
    );
    println!("## Audit log benchmark (issue 20)\n");
    println!("{}; release build; Reach and clients in one process.", machine());
    support::on_each_database(|label, url| run(label, url, seconds)).await;
    println!("\nAt the end: {}.", machine());
}
