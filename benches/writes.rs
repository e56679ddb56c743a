//! Bulk-write figures of QUALITY.md "Performance" (issue 17, item 4), on SQLite and (when
//! `REACH_TEST_POSTGRES_URL` names an admin database) on a fresh PostgreSQL database:
//!
//! - `mobilityUsersEnable` of 1,000 users and `usersImport` of 1,000 users, each a GraphQL request
//!   over HTTP to the running server, as a Decision Maker;
//! - beside each, the floor: the same 1,000 rows written into the same tables (the claims, the
//!   users or mobility records, the outbox events) by hand-written SQL in one transaction, one
//!   multi-row INSERT per table — on PostgreSQL `UNNEST` of one array per varying column, on
//!   SQLite one `VALUES` list — on an account of its own, on the same connection pool.
//!
//! A third column times the same writes as an in-process service call (`enable_users`,
//! `import_users`, as Support), without HTTP and GraphQL: the SQL side of Reach's cost.
//!
//! The data is seeded through the service layer and the tables `ANALYZE`d (PostgreSQL); on SQLite
//! the write-ahead log is checkpointed before each timed write ([`settle`]). Floor and
//! Reach alternate, `REPS` times each; the table gives medians. Run:
//! `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench writes`
//! (well under a minute per database once built). It asserts no times: compare the ratios within
//! one run.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::machine;

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use api::{
    config::Settings,
    graphql::ids::{Kind, encode},
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        mobility::{self, Activation, EnableRow},
    },
    startup::Application,
};
use chrono::Utc;
use entity::{ClaimKind, PhoneProfile, Platform, Role};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value as DbValue};
use serde_json::{Value, json};
use uuid::Uuid;

const BATCH: usize = 1_000;
const REPS: usize = 15;

const ENABLE: &str = "mutation($i: MobilityUsersEnableInput!) { mobilityUsersEnable(input: $i) {
    mobilityUsers { mobilityExtension } userErrors { code } } }";
const IMPORT: &str = "mutation($i: UsersImportInput!) { usersImport(input: $i) {
    users { id } userErrors { code } } }";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A MiCloud Connect account with Connect for Mobile active and `REPS` × `BATCH` users to enable;
/// returns the account, a Decision Maker among the users, and the users' ids.
async fn seed(app: &Application, name: &str, access_number: &str) -> (Uuid, Uuid, Vec<Uuid>) {
    let db = &app.state().db;
    let s = Principal::Support { name: "bench".into() };
    let new = NewAccount {
        name: name.into(),
        platform: Platform::MicloudConnect,
        destination_codes: None,
        extension_length: None,
    };
    let account = directory::create_account(db, &s, new).await.unwrap();
    let access = directory::create_access_number(db, &s, Some(account.id), access_number, "Main")
        .await
        .unwrap();
    let mut ids = Vec::with_capacity(2 * REPS * BATCH);
    for batch in 0..2 * REPS {
        let rows = (0..BATCH)
            .map(|j| {
                let i = batch * BATCH + j;
                UserFields {
                    location_id: None,
                    name: format!("Seeded Person {i}"),
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

/// One of an import's rows: name, email, phone number, extension.
fn person(i: usize) -> (String, String, String, String) {
    (
        format!("Imported Person {i:05}"),
        format!("imported.{i:05}@example.com"),
        format!("+1666{i:07}"),
        format!("{}", 200_000 + i),
    )
}

/// `INSERT INTO table (columns) VALUES (…), (…)` binding every cell (SQLite's floor).
fn values_insert(table: &str, columns: &[&str], rows: Vec<Vec<DbValue>>) -> Statement {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![one; rows.len()].join(", ")
    );
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, rows.into_iter().flatten())
}

fn pg(sql: &str, values: Vec<DbValue>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The rows of one enable of `users` with extensions from `first`: claims, mobility records and
/// events, as statements of `backend`.
fn enable_floor(backend: DbBackend, account: Uuid, users: &[Uuid], first: usize) -> Vec<Statement> {
    let now = Utc::now();
    let actor = "user:floor".to_owned();
    let exts: Vec<String> = (0..users.len()).map(|j| format!("{}", 400_000 + first + j)).collect();
    let ids: Vec<Uuid> = users.iter().map(|_| Uuid::now_v7()).collect();
    let payloads: Vec<String> = (users.iter().zip(&exts))
        .map(|(u, e)| json!({ "userId": u, "mobilityExtension": e }).to_string())
        .collect();
    let kind = ClaimKind::Mobility.to_value();
    if backend == DbBackend::Postgres {
        return vec![
            pg(
                &format!(
                    "INSERT INTO extension_claim (account_id, extension, user_id, kind) \
                     SELECT $1, e, u, '{kind}' FROM UNNEST($2::text[], $3::uuid[]) AS t(e, u)"
                ),
                vec![account.into(), exts.clone().into(), users.to_vec().into()],
            ),
            pg(
                "INSERT INTO mobility_user (user_id, account_id, mobility_extension, enabled_at, enabled_by, updated_at) \
                 SELECT u, $1, e, $2, $3, $2 FROM UNNEST($4::uuid[], $5::text[]) AS t(u, e)",
                vec![
                    account.into(),
                    now.into(),
                    actor.clone().into(),
                    users.to_vec().into(),
                    exts.into(),
                ],
            ),
            pg(
                "INSERT INTO outbox_event (id, event_type, account_id, aggregate_type, aggregate_id, actor, payload, occurred_at, user_id) \
                 SELECT i, 'mobility.user_enabled', $1, 'MobilityUser', u, $2, p::json, $3, u \
                 FROM UNNEST($4::uuid[], $5::uuid[], $6::text[]) AS t(i, u, p)",
                vec![
                    account.into(),
                    actor.into(),
                    now.into(),
                    ids.into(),
                    users.to_vec().into(),
                    payloads.into(),
                ],
            ),
        ];
    }
    let claims = (users.iter().zip(&exts))
        .map(|(u, e)| vec![account.into(), e.clone().into(), (*u).into(), kind.clone().into()])
        .collect();
    let records = (users.iter().zip(&exts))
        .map(|(u, e)| {
            vec![
                (*u).into(),
                account.into(),
                e.clone().into(),
                now.into(),
                actor.clone().into(),
                now.into(),
            ]
        })
        .collect();
    let events = (ids.iter().zip(users).zip(payloads))
        .map(|((i, u), p)| {
            let p: Value = serde_json::from_str(&p).unwrap();
            vec![
                (*i).into(),
                "mobility.user_enabled".into(),
                account.into(),
                "MobilityUser".into(),
                (*u).into(),
                actor.clone().into(),
                p.into(),
                now.into(),
                (*u).into(),
            ]
        })
        .collect();
    vec![
        values_insert(
            "extension_claim",
            &["account_id", "extension", "user_id", "kind"],
            claims,
        ),
        values_insert(
            "mobility_user",
            &[
                "user_id",
                "account_id",
                "mobility_extension",
                "enabled_at",
                "enabled_by",
                "updated_at",
            ],
            records,
        ),
        values_insert("outbox_event", &EVENT_COLUMNS, events),
    ]
}

const EVENT_COLUMNS: [&str; 9] = [
    "id",
    "event_type",
    "account_id",
    "aggregate_type",
    "aggregate_id",
    "actor",
    "payload",
    "occurred_at",
    "user_id",
];

/// The rows of one import of people `first..first + BATCH`: users, claims and events.
fn import_floor(backend: DbBackend, account: Uuid, first: usize) -> Vec<Statement> {
    let now = Utc::now();
    let actor = "user:floor".to_owned();
    let people: Vec<_> = (first..first + BATCH).map(person).collect();
    let ids: Vec<Uuid> = people.iter().map(|_| Uuid::now_v7()).collect();
    let event_ids: Vec<Uuid> = people.iter().map(|_| Uuid::now_v7()).collect();
    let profile = PhoneProfile::Premier.to_value();
    let col = |f: fn(&(String, String, String, String)) -> String| people.iter().map(f).collect::<Vec<String>>();
    let (names, emails, phones, exts) = (
        col(|p| p.0.clone()),
        col(|p| p.1.clone()),
        col(|p| p.2.clone()),
        col(|p| p.3.clone()),
    );
    let sort_names = col(|p| p.0.to_lowercase());
    let search = col(|p| [&p.0, &p.1, &p.2, &p.3].map(|s| s.to_lowercase()).join("\u{1f}"));
    let payloads: Vec<Value> = (people.iter())
        .map(|p| {
            json!({ "name": p.0, "email": p.1, "phoneNumber": p.2, "extension": p.3, "phoneProfile": profile, "locationId": null })
        })
        .collect();
    let kind = ClaimKind::User.to_value();
    if backend == DbBackend::Postgres {
        let payloads: Vec<String> = payloads.iter().map(Value::to_string).collect();
        return vec![
            pg(
                &format!(
                    "INSERT INTO app_user (id, account_id, name, sort_name, email, phone_number, extension, \
                     phone_profile, search_text, created_at, updated_at) \
                     SELECT i, $1, n, s, e, p, x, '{profile}', t, $2, $2 \
                     FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) \
                     AS r(i, n, s, e, p, x, t)"
                ),
                vec![
                    account.into(),
                    now.into(),
                    ids.clone().into(),
                    names.into(),
                    sort_names.into(),
                    emails.into(),
                    phones.into(),
                    exts.clone().into(),
                    search.into(),
                ],
            ),
            pg(
                &format!(
                    "INSERT INTO extension_claim (account_id, extension, user_id, kind) \
                     SELECT $1, e, u, '{kind}' FROM UNNEST($2::text[], $3::uuid[]) AS t(e, u)"
                ),
                vec![account.into(), exts.into(), ids.clone().into()],
            ),
            pg(
                "INSERT INTO outbox_event (id, event_type, account_id, aggregate_type, aggregate_id, actor, payload, occurred_at, user_id) \
                 SELECT i, 'user.created', $1, 'User', u, $2, p::json, $3, u \
                 FROM UNNEST($4::uuid[], $5::uuid[], $6::text[]) AS t(i, u, p)",
                vec![
                    account.into(),
                    actor.into(),
                    now.into(),
                    event_ids.into(),
                    ids.into(),
                    payloads.into(),
                ],
            ),
        ];
    }
    let users = (0..BATCH)
        .map(|j| {
            vec![
                ids[j].into(),
                account.into(),
                names[j].clone().into(),
                sort_names[j].clone().into(),
                emails[j].clone().into(),
                phones[j].clone().into(),
                exts[j].clone().into(),
                profile.clone().into(),
                search[j].clone().into(),
                now.into(),
                now.into(),
            ]
        })
        .collect();
    let claims = (0..BATCH)
        .map(|j| {
            vec![
                account.into(),
                exts[j].clone().into(),
                ids[j].into(),
                kind.clone().into(),
            ]
        })
        .collect();
    let events = (0..BATCH)
        .map(|j| {
            vec![
                event_ids[j].into(),
                "user.created".into(),
                account.into(),
                "User".into(),
                ids[j].into(),
                actor.clone().into(),
                payloads[j].clone().into(),
                now.into(),
                ids[j].into(),
            ]
        })
        .collect();
    vec![
        values_insert(
            "app_user",
            &[
                "id",
                "account_id",
                "name",
                "sort_name",
                "email",
                "phone_number",
                "extension",
                "phone_profile",
                "search_text",
                "created_at",
                "updated_at",
            ],
            users,
        ),
        values_insert(
            "extension_claim",
            &["account_id", "extension", "user_id", "kind"],
            claims,
        ),
        values_insert("outbox_event", &EVENT_COLUMNS, events),
    ]
}

/// Runs the floor's statements in one write transaction; returns its time and statements.
async fn floor(db: &DatabaseConnection, statements: &AtomicU64, stmts: Vec<Statement>) -> (Duration, u64) {
    let counted = statements.load(Ordering::SeqCst);
    let t = Instant::now();
    let txn = api::db::begin_write(db).await.unwrap();
    for stmt in stmts {
        txn.execute_raw(stmt).await.unwrap();
    }
    txn.commit().await.unwrap();
    (t.elapsed(), statements.load(Ordering::SeqCst) - counted)
}

/// Reach's GraphQL endpoint, as the Decision Maker.
struct Api {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    /// Posts `query`; returns the time, the statements it ran, and the answer's `field.list`.
    async fn post(&self, statements: &AtomicU64, query: &str, input: Value, path: [&str; 2]) -> (Duration, u64) {
        let body = json!({ "query": query, "variables": { "i": input } });
        let counted = statements.load(Ordering::SeqCst);
        let t = Instant::now();
        let resp = (self.client.post(&self.url).bearer_auth(&self.token))
            .header("accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let resp: Value = resp.json().await.unwrap();
        let elapsed = t.elapsed();
        let rows = resp["data"][path[0]][path[1]].as_array().map_or(0, Vec::len);
        assert_eq!(rows, BATCH, "{resp}");
        (elapsed, statements.load(Ordering::SeqCst) - counted)
    }
}

struct Row {
    name: &'static str,
    floor: Vec<Duration>,
    service: Vec<Duration>,
    reach: Vec<Duration>,
    floor_statements: u64,
    reach_statements: u64,
}

/// SQLite: folds the write-ahead log into the database before a timed write, so that no write
/// pays for checkpointing the pages of the ones before it (SQLite checkpoints in the commit that
/// takes the log past 1,000 pages, whichever write that is).
async fn settle(db: &sea_orm::DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
    }
}

async fn run(label: &str, settings: Settings) {
    let started = Instant::now();
    let app = Application::build(settings, false).await.expect("the server starts");
    let state = app.state().clone();
    let (statements, backend) = (state.statements.clone(), state.db.get_database_backend());
    let (account, dm, ids) = seed(&app, "Bench Corp", "+15550001000").await;
    let (floor_account, _, floor_ids) = seed(&app, "Floor Corp", "+15550002000").await;
    let seeded = started.elapsed();
    if backend == DbBackend::Postgres {
        state.db.execute_unprepared("ANALYZE").await.unwrap();
    }
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

    let mut enable = Row {
        name: "`mobilityUsersEnable`, 1,000 users",
        floor: Vec::new(),
        service: Vec::new(),
        reach: Vec::new(),
        floor_statements: 0,
        reach_statements: 0,
    };
    let mut import = Row {
        name: "`usersImport`, 1,000 users",
        floor: Vec::new(),
        service: Vec::new(),
        reach: Vec::new(),
        floor_statements: 0,
        reach_statements: 0,
    };
    for rep in 0..REPS {
        let users = &ids[rep * BATCH..(rep + 1) * BATCH];
        let first = rep * BATCH;
        settle(&state.db).await;
        let (t, n) = floor(
            &state.db,
            &statements,
            enable_floor(backend, floor_account, &floor_ids[first..first + BATCH], first),
        )
        .await;
        enable.floor.push(t);
        enable.floor_statements = n;
        let rows: Vec<Value> = (users.iter().enumerate())
            .map(|(j, id)| {
                json!({ "userId": encode(Kind::User, *id).0, "mobilityExtension": format!("{}", 400_000 + first + j) })
            })
            .collect();
        let input = json!({ "accountId": account_id, "users": rows });
        settle(&state.db).await;
        let (t, n) = api
            .post(&statements, ENABLE, input, ["mobilityUsersEnable", "mobilityUsers"])
            .await;
        enable.reach.push(t);
        enable.reach_statements = n;

        let support = Principal::Support { name: "bench".into() };
        let rows = (ids[(REPS + rep) * BATCH..(REPS + rep + 1) * BATCH].iter().enumerate())
            .map(|(j, id)| EnableRow {
                user_id: Some(*id),
                mobility_extension: format!("{}", 600_000 + first + j),
            })
            .collect();
        settle(&state.db).await;
        let t = Instant::now();
        let done = mobility::enable_users(&state.db, &support, Some(account), rows, false).await;
        enable.service.push(t.elapsed());
        assert_eq!(done.unwrap().len(), BATCH);

        settle(&state.db).await;
        let (t, n) = floor(&state.db, &statements, import_floor(backend, floor_account, first)).await;
        import.floor.push(t);
        import.floor_statements = n;
        let rows: Vec<Value> = (first..first + BATCH)
            .map(|i| {
                let (name, email, phone, extension) = person(i);
                json!({ "name": name, "email": email, "phoneNumber": phone, "extension": extension, "phoneProfile": "PREMIER" })
            })
            .collect();
        let input = json!({ "accountId": account_id, "users": rows });
        settle(&state.db).await;
        let (t, n) = api.post(&statements, IMPORT, input, ["usersImport", "users"]).await;
        import.reach.push(t);
        import.reach_statements = n;
        let rows = (first..first + BATCH)
            .map(|i| {
                let (name, email, phone, extension) = person(50_000 + i);
                UserFields {
                    location_id: None,
                    name,
                    email: Some(email),
                    phone_number: Some(phone),
                    extension,
                    phone_profile: PhoneProfile::Premier,
                }
            })
            .collect();
        let cfg = &state.settings.remote_extension;
        settle(&state.db).await;
        let t = Instant::now();
        let done = directory::import_users(&state.db, &support, cfg, Some(account), rows).await;
        import.service.push(t.elapsed());
        assert_eq!(done.unwrap().len(), BATCH);
    }

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    state.db.close_by_ref().await.unwrap();

    let (seeded, total) = (seeded.as_secs_f64(), started.elapsed().as_secs_f64());
    let analyzed = if backend == DbBackend::Postgres {
        "; `ANALYZE` after seeding"
    } else {
        ""
    };
    println!(
        "\n### {label}: 2 accounts of {} users (seeded through the services in {seeded:.1} s; whole run {total:.0} s{analyzed})\n",
        2 * REPS * BATCH
    );
    println!(
        "| {REPS} requests each, medians | floor ms | Reach ms (HTTP) | Reach / floor | service call ms | service / floor | statements: floor | statements: Reach |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in [enable, import] {
        let (f, r, s) = (ms(median(row.floor)), ms(median(row.reach)), ms(median(row.service)));
        println!(
            "| {} | {f:.1} | {r:.1} | {:.2}× | {s:.1} | {:.2}× | {} | {} |",
            row.name,
            r / f,
            s / f,
            row.floor_statements,
            row.reach_statements
        );
    }
}

fn settings(database_url: String) -> Settings {
    // Statements are counted per request through the pool; plugins and subscriptions would add
    // their own.
    let mut s = support::quiet_settings(database_url);
    s.database_max_connections = 16;
    s.limits.request_timeout_ms = 120_000;
    s
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    println!("## Bulk-write benchmark\n");
    println!("{}; release build; server, floor and client in one process.", machine());
    support::on_each_database(|label, url| run(label, settings(url))).await;
    println!("\nAt the end: {}.", machine());
}
