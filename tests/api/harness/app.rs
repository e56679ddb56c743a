//! Test harness: `spawn_app(backend)` starts the real server on port 0 against a fresh database
//! (a SQLite file in a temporary folder, or a new PostgreSQL database per test), and `World`
//! fills two tenants with a user of every role.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{path::PathBuf, sync::Arc};

use api::{
    config::Settings,
    graphql::ids::{self, Kind},
    policy::Principal,
    service::directory::{self, NewAccount, UserFields},
    startup::Application,
    state::AppState,
};
use entity::{PhoneProfile, Platform, Role};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

/// Which database a test runs against.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A SQLite file of its own.
    Sqlite,
    /// A PostgreSQL server; the URL names an admin database to create test databases from.
    Postgres(String),
}

/// The PostgreSQL backend, when configured. In CI it must be.
pub fn postgres() -> Option<Backend> {
    match std::env::var("REACH_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but REACH_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipped: set REACH_TEST_POSTGRES_URL to run this test on PostgreSQL");
            None
        }
    }
}

/// Declares `sqlite` and `postgres` variants of each async test function `name(backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::app::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::harness::app::postgres() {
                        super::$name(backend).await
                    }
                }
            }
        )*
    };
}

/// Removes the test's database when the test ends.
pub enum DbGuard {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        match self {
            DbGuard::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            DbGuard::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // A runtime of its own: the test's runtime is shutting down.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(db) = Database::connect(&admin_url).await {
                            let _ = db
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .await;
                            let _ = db.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The server's state (database, settings, tokens).
    pub state: AppState,
    /// An HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: Arc<DbGuard>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Settings for a test on `backend`, with a fresh database (removed when the guard drops).
pub async fn fresh_database(backend: &Backend) -> (Settings, DbGuard) {
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_max_connections: 5,
        log_level: "warn".into(),
        ..Default::default()
    };
    // Tests drive many requests from one Support subject; the limiter has tests of its own
    // (server::limits::rate_limit_is_per_token sets its figures), so it must not make others flaky.
    settings.limits.rate_limit_per_second = 10_000;
    settings.limits.rate_limit_burst = 10_000;
    // The fake platform listens on http://127.0.0.1; production refuses both (issue 16 item 6),
    // and the tests of that refusal put the defaults back.
    settings.plugins.platform.allow_http = true;
    settings.plugins.platform.allow_destinations = vec!["127.0.0.0/8".into()];
    // The same for webhook endpoints (the tests' receivers listen on 127.0.0.1).
    settings.plugins.webhooks.allow_http = true;
    settings.plugins.webhooks.allow_destinations = vec!["127.0.0.0/8".into()];
    let guard = match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("reach-test-{}", Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            settings.database_url = SecretString::from(format!("sqlite://{}", dir.join("reach.db").display()));
            DbGuard::Sqlite(dir)
        }
        Backend::Postgres(admin_url) => {
            let name = format!("reach_t_{}", Uuid::new_v4().simple());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("PostgreSQL is reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            admin.close().await.unwrap();
            settings.database_url = SecretString::from(with_database(admin_url, &name));
            DbGuard::Postgres {
                admin_url: admin_url.clone(),
                name,
            }
        }
    };
    (settings, guard)
}

/// Starts the server on a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts the server on a fresh database, with settings changed by `tweak`.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    api::telemetry::init("pretty", "warn");
    let (mut settings, guard) = fresh_database(&backend).await;
    tweak(&mut settings);
    let app = Application::build(settings, false).await.expect("the server starts");
    let address = format!("http://{}", app.local_addr().unwrap());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        state,
        // Pooled connections are dropped well before the server's idle timeout (5 s) closes
        // them: a request sent on a connection the server is closing at that moment fails with
        // `IncompleteMessage` (seen once under CI's load, in `remote::props`).
        client: reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap(),
        shutdown: Some(tx),
        _db: Arc::new(guard),
    }
}

impl TestApp {
    /// A Support token.
    pub fn support(&self) -> String {
        self.state.tokens.mint_support("tester", 3600).unwrap()
    }

    /// A token for user `id`.
    pub fn token(&self, id: Uuid) -> String {
        self.state.tokens.mint_user(id, 3600).unwrap()
    }

    /// POSTs a GraphQL request with `token`, returning status and JSON body. It asks for
    /// `application/graphql-response+json`, under which an error of the request as a whole is
    /// HTTP 400 (under `application/json` it is 200: `server/http.rs` checks both).
    pub async fn post(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let resp = self
            .client
            .post(format!("{}/graphql", self.address))
            .header(reqwest::header::ACCEPT, "application/graphql-response+json")
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A GraphQL request that must succeed at the HTTP level; returns the body.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(token, query, variables).await;
        assert_eq!(status, 200, "HTTP status for {query}: {body}");
        body
    }

    /// [`Self::gql`], with the SQL statements the server ran meanwhile (the pool's counter: run
    /// with plugins and subscriptions off, see [`quiet`], to count the request's alone).
    pub async fn counted(&self, token: &str, query: &str, variables: Value) -> (u64, Value) {
        let before = self.state.statements.load(std::sync::atomic::Ordering::SeqCst);
        let body = self.gql(token, query, variables).await;
        let after = self.state.statements.load(std::sync::atomic::Ordering::SeqCst);
        (after - before, body)
    }

    /// Waits until this server's subscriptions have been handed every event committed so far,
    /// so that a subscription opened next sees only later changes.
    pub async fn quiesce(&self) {
        use sea_orm::{EntityTrait, QueryOrder};
        // The last committed event (not `log::head`, which on PostgreSQL stops below the oldest
        // transaction still running anywhere on the server, such as another test's).
        let last = entity::outbox_event::Entity::find()
            .order_by_desc(entity::outbox_event::Column::Txid)
            .order_by_desc(entity::outbox_event::Column::Position)
            .one(&self.state.db)
            .await
            .unwrap();
        let head = last.map(|e| integrations::log::Cursor::of(&e)).unwrap_or_default();
        self.state.wake.notify();
        let mut progress = self.state.live.progress();
        tokio::time::timeout(std::time::Duration::from_secs(10), progress.wait_for(|c| *c >= head))
            .await
            .expect("the subscriptions' reader catches up")
            .unwrap();
    }

    /// Waits until exactly `n` subscriptions of this server watch `topic` (a subscription is
    /// registered a moment after its `subscribe` message arrives).
    pub async fn watching(&self, topic: api::live::Topic, n: usize) {
        for _ in 0..1000 {
            if self.state.live.watchers(&topic) == n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{topic:?}: {} subscribers, not {n}", self.state.live.watchers(&topic));
    }

    /// Rows in the outbox.
    pub async fn outbox_count(&self) -> i64 {
        count(&self.state.db, "SELECT COUNT(*) AS n FROM outbox_event").await
    }

    /// Event types in the outbox, in log order.
    pub async fn outbox_types(&self) -> Vec<String> {
        use sea_orm::{EntityTrait, QueryOrder};
        entity::outbox_event::Entity::find()
            .order_by_asc(entity::outbox_event::Column::Position)
            .all(&self.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
}

/// `SELECT COUNT(*) AS n …` on the test database.
pub async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The global id of a row.
pub fn gid(kind: Kind, id: Uuid) -> String {
    ids::encode(kind, id).0
}

/// One account with two locations and a user of every role.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub account: Uuid,
    pub loc1: Uuid,
    pub loc2: Uuid,
    /// Decision Maker (location 1).
    pub dm: Uuid,
    /// Account-wide Phone Manager (location 1).
    pub pm: Uuid,
    /// Phone Manager of location 1 (located in location 1).
    pub pm_loc1: Uuid,
    /// Plain user in location 1.
    pub user1: Uuid,
    /// Plain user in location 2.
    pub user2: Uuid,
    /// An access number.
    pub access_number: Uuid,
}

/// Two tenants, A and B.
#[derive(Clone, Debug)]
pub struct World {
    pub a: Tenant,
    pub b: Tenant,
}

pub async fn tenant(state: &AppState, name: &str, platform: Platform, ext_base: u32) -> Tenant {
    let s = Principal::Support { name: "fixture".into() };
    let db = &state.db;
    let account = directory::create_account(
        db,
        &s,
        NewAccount {
            name: name.into(),
            platform,
            destination_codes: None,
            extension_length: None,
        },
    )
    .await
    .unwrap();
    let loc1 = directory::create_location(db, &s, Some(account.id), "North")
        .await
        .unwrap()
        .id;
    let loc2 = directory::create_location(db, &s, Some(account.id), "South")
        .await
        .unwrap()
        .id;
    let access_number = directory::create_access_number(db, &s, Some(account.id), "+15550001000", "Main")
        .await
        .unwrap()
        .id;
    let people = [
        ("Dana DM", Some(loc1), PhoneProfile::Elite),
        ("Pat PM", Some(loc1), PhoneProfile::Premier),
        ("Lee LocalPM", Some(loc1), PhoneProfile::Essentials),
        ("Uma One", Some(loc1), PhoneProfile::Essentials),
        ("Ulf Two", Some(loc2), PhoneProfile::Basic),
    ];
    let rows = people
        .iter()
        .enumerate()
        .map(|(i, (n, l, p))| UserFields {
            location_id: l.map(api::service::GivenId::Key),
            name: (*n).into(),
            email: Some(format!("u{}@{}.example", i, name.to_lowercase().replace(' ', ""))),
            phone_number: None,
            extension: (ext_base + i as u32).to_string(),
            phone_profile: *p,
        })
        .collect();
    let users = directory::import_users(db, &s, &state.settings.remote_extension, Some(account.id), rows)
        .await
        .unwrap();
    directory::assign_role(db, &s, Some(users[0].id), Role::DecisionMaker, None)
        .await
        .unwrap();
    directory::assign_role(db, &s, Some(users[1].id), Role::PhoneManager, None)
        .await
        .unwrap();
    directory::assign_role(
        db,
        &s,
        Some(users[2].id),
        Role::PhoneManager,
        Some(api::service::GivenId::Key(loc1)),
    )
    .await
    .unwrap();
    Tenant {
        account: account.id,
        loc1,
        loc2,
        dm: users[0].id,
        pm: users[1].id,
        pm_loc1: users[2].id,
        user1: users[3].id,
        user2: users[4].id,
        access_number,
    }
}

impl World {
    /// Fills two tenants (A on MiCloud Connect, B on MX-ONE) through the services.
    pub async fn build(app: &TestApp) -> World {
        World {
            a: tenant(&app.state, "Alpha Corp", Platform::MicloudConnect, 1000).await,
            b: tenant(&app.state, "Beta Corp", Platform::MxOne, 2000).await,
        }
    }
}

/// The `userErrors` codes of a payload at `data.<field>`.
pub fn codes(body: &Value, field: &str) -> Vec<String> {
    body["data"][field]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {body}"))
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The top-level error codes of a response.
pub fn top_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Brings tenant `t`'s Connect for Mobile add-on to `ACTIVE` through the services (as Support),
/// with the tenant's access number and the default numbers. Returns the add-on's version.
pub async fn activate_mobility(app: &TestApp, t: &Tenant) -> i64 {
    use api::service::mobility::{self, Activation};
    let s = Principal::Support { name: "fixture".into() };
    let db = &app.state.db;
    mobility::activate(
        db,
        &s,
        &app.state.settings.mobility,
        Some(t.account),
        Activation {
            confirm_purchase: true,
            voicemail_access_number: "8991".into(),
            access_number_id: Some(t.access_number),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    mobility::complete_activation(db, &s, Some(t.account), "mr1.example.net", "alpha-group")
        .await
        .unwrap()
        .version
}

/// No plugins, subscriptions or status scheduler: their background statements would run through
/// the pool whose statements a test counts.
pub fn quiet(s: &mut Settings) {
    s.remote_extension.scheduler = false;
    s.plugins.email.enabled = false;
    s.plugins.platform.enabled = false;
    s.plugins.webhooks.enabled = false;
    s.subscriptions.enabled = false;
}

/// Imports `rows` into tenant `t` as Support, activates its mobility add-on and enables the first
/// `enabled` of them (mobility extensions 4000, 4001, …); the imported users.
pub async fn import_and_enable(
    app: &TestApp,
    t: &Tenant,
    rows: Vec<api::service::directory::UserFields>,
    enabled: usize,
) -> Vec<entity::user::Model> {
    let support = Principal::Support { name: "fixture".into() };
    let users = api::service::directory::import_users(
        &app.state.db,
        &support,
        &app.state.settings.remote_extension,
        Some(t.account),
        rows,
    )
    .await
    .unwrap();
    activate_mobility(app, t).await;
    let extensions: Vec<String> = (0..enabled).map(|i| (4000 + i).to_string()).collect();
    let pairs: Vec<(Uuid, &str)> = users.iter().zip(&extensions).map(|(u, x)| (u.id, x.as_str())).collect();
    enable_mobility(app, t, &pairs).await;
    users
}

/// Enables `users` (id, mobility extension) of tenant `t` through the services, as Support.
pub async fn enable_mobility(app: &TestApp, t: &Tenant, users: &[(Uuid, &str)]) {
    use api::service::mobility::{self, EnableRow};
    let s = Principal::Support { name: "fixture".into() };
    let rows = users
        .iter()
        .map(|(id, ext)| EnableRow {
            user_id: Some(*id),
            mobility_extension: (*ext).into(),
        })
        .collect();
    mobility::enable_users(&app.state.db, &s, Some(t.account), rows, false)
        .await
        .unwrap();
}

/// The rows `sql` reads, run as written on the app's own database connection.
pub async fn raw_rows(app: &TestApp, sql: &str) -> Vec<sea_orm::QueryResult> {
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .unwrap()
}
