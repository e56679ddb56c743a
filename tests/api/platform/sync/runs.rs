//! The platform sync's runs (SPEC E3) against a real HTTP server standing in for the platform
//! (`harness/fake_platform.rs`): one run at a time per account, also when two processes are asked
//! at once; a run whose process died is failed and frees the account; the API's rules on
//! connections and runs; and `reach sync`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::{graphql::ids::Kind, policy::Principal, service::sync};
use entity::{SyncRunState, platform_sync_run};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    backend_tests,
    harness::{
        app::*,
        fake_platform::{FakePlatform, Fault},
        remote::*,
    },
};

use super::common::{CONNECT, PLATFORM_ACCOUNT, RUN, TOKEN, connect, driven, errors, numbers, runner, wait_for};

async fn e3_one_run_at_a_time_per_account(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    connect(&app, c.account, &platform).await;
    // Twenty requests at once, from Support and the account's managers: one run.
    let mut asks = Vec::new();
    for i in 0..20 {
        let db = app.state.db.clone();
        let p = Principal::Support { name: format!("s{i}") };
        let account = c.account;
        asks.push(tokio::spawn(async move {
            sync::request_run(&db, &p, Some(account)).await.unwrap()
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for ask in asks {
        let (run, new) = ask.await.unwrap();
        ids.push(run.id);
        created += i32::from(new);
    }
    ids.dedup();
    assert_eq!(created, 1, "exactly one request created the run");
    assert_eq!(ids.len(), 1, "every request got the same run");
    // Two processes' runners race for it: one runs it.
    let (a, b) = (
        runner(&app, app.state.settings.remote_extension.clone()).await,
        runner(&app, app.state.settings.remote_extension.clone()).await,
    );
    let (ra, rb) = tokio::join!(a.claim(None), b.claim(None));
    assert_eq!(
        [ra.unwrap().is_some(), rb.unwrap().is_some()]
            .iter()
            .filter(|x| **x)
            .count(),
        1
    );
    assert_eq!(
        count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_sync_run").await,
        1
    );
}

async fn e3_the_api_guards_connections_and_runs(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let (c, d, m) = (&w.c, &w.d, &w.m);
    let platform = FakePlatform::start(TOKEN).await;
    let set = |token: String, account: Uuid, url: String| {
        let app = &app;
        async move {
            let body = app
                .gql(
                    &token,
                    CONNECT,
                    json!({"i": {"accountId": gid(Kind::Account, account), "baseUrl": url,
                        "token": TOKEN, "platformAccount": PLATFORM_ACCOUNT}}),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            let codes: Vec<String> = body["data"]["platformConnectionSet"]["userErrors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["code"].as_str().unwrap().to_owned())
                .collect();
            codes
        }
    };
    assert_eq!(
        set(app.token(c.dm), c.account, platform.url.clone()).await,
        ["FORBIDDEN"]
    );
    assert_eq!(
        set(app.token(d.dm), c.account, platform.url.clone()).await,
        ["NOT_FOUND"]
    );
    assert_eq!(
        set(app.support(), m.account, platform.url.clone()).await,
        ["PLATFORM_NOT_SUPPORTED"]
    );
    assert_eq!(
        set(app.support(), c.account, "ftp://x".into()).await,
        ["VALIDATION_FAILED"]
    );
    assert_eq!(
        count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_connection").await,
        0,
        "a refusal stores nothing"
    );
    let run = |token: String, account: Uuid| {
        let app = &app;
        async move {
            let body = app
                .gql(&token, RUN, json!({"i": {"accountId": gid(Kind::Account, account)}}))
                .await;
            body["data"]["platformSyncRun"].clone()
        }
    };
    assert_eq!(rcodes(&run(app.token(c.dm), c.account).await), ["INVALID_STATE"]);
    assert_eq!(
        set(app.support(), c.account, platform.url.clone()).await,
        Vec::<String>::new()
    );
    // The token is stored sealed and never shown.
    let stored = count(
        &app.state.db,
        &format!("SELECT COUNT(*) AS n FROM platform_connection WHERE token_sealed LIKE '%{TOKEN}%'"),
    )
    .await;
    assert_eq!(stored, 0, "the token is not stored in clear");
    let schema = api::graphql::sdl();
    let block = schema
        .split("type PlatformConnection {")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap();
    assert!(
        !block
            .lines()
            .any(|l| l.trim().starts_with("token") && !l.trim().starts_with("tokenSet")),
        "no field gives the token back: {block}"
    );

    assert_eq!(rcodes(&run(app.token(c.user1), c.account).await), ["FORBIDDEN"]);
    assert_eq!(rcodes(&run(app.token(d.dm), c.account).await), ["NOT_FOUND"]);
    assert_eq!(rcodes(&run(app.token(c.pm_loc1), c.account).await), ["FORBIDDEN"]);
    let first = run(app.token(c.dm), c.account).await;
    assert_eq!(first["created"], true, "{first}");
    assert_eq!(first["syncRun"]["state"], "PENDING");
    let again = run(app.token(c.pm), c.account).await;
    assert_eq!(again["created"], false, "joins the run under way: {again}");
    assert_eq!(again["syncRun"]["id"], first["syncRun"]["id"]);

    let q = "query($a: ID!) { node(id: $a) { ... on Account {
        platformConnection { baseUrl platformAccount tokenSet }
        syncRuns(first: 5) { totalCount nodes { id state requestedBy { kind } } } } } }";
    let read = |token: String| {
        let app = &app;
        async move {
            let body = app.gql(&token, q, json!({"a": gid(Kind::Account, c.account)})).await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["node"].clone()
        }
    };
    let dm = read(app.token(c.dm)).await;
    assert_eq!(dm["platformConnection"]["tokenSet"], true);
    assert_eq!(dm["platformConnection"]["platformAccount"], PLATFORM_ACCOUNT);
    assert_eq!(dm["syncRuns"]["totalCount"], 1, "{dm}");
    assert_eq!(dm["syncRuns"]["nodes"][0]["id"], first["syncRun"]["id"]);
    let user = read(app.token(c.user1)).await;
    assert!(
        user["platformConnection"].is_null() && user["syncRuns"].is_null(),
        "{user}"
    );
}

async fn e3_reach_sync_runs_one_from_the_command_line(backend: Backend) {
    use secrecy::ExposeSecret;
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    for i in 0..7 {
        platform.add(PLATFORM_ACCOUNT, "3003", &format!("070500000{i}"), None);
    }
    connect(&app, w.c.account, &platform).await;
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let dir = crate::server::cli::temp_dir();
    let out = crate::server::cli::reach(&dir)
        .args(["sync", "--account", &gid(Kind::Account, w.c.account)])
        .env("REACH_DATABASE_URL", &url)
        .env("REACH_PLUGINS__PLATFORM__PAGE_SIZE", "3")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("succeeded: 7 created, 0 updated, 0 removed"),
        "{stdout}"
    );
    assert_eq!(numbers(&app, w.c.user1).await.len(), 7);
    // An account without a connection: a clear message and a failing exit code.
    let out = crate::server::cli::reach(&dir)
        .args(["sync", "--account", &gid(Kind::Account, w.d.account)])
        .env("REACH_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no platform connection"));
}

async fn e3_two_processes_asked_at_once_make_one_run(backend: Backend) {
    use secrecy::ExposeSecret;
    if matches!(backend, Backend::Sqlite) {
        return; // several processes on one database: the PostgreSQL set-up
    }
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    for i in 0..10 {
        platform.add(PLATFORM_ACCOUNT, "3003", &format!("07060000{i:02}"), None);
    }
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let env = [
        ("REACH_DATABASE_URL", url.as_str()),
        ("REACH_PLUGINS__POLL_INTERVAL_MS", "50"),
        ("REACH_PLUGINS__PLATFORM__PAGE_SIZE", "2"),
    ];
    let dir = crate::server::cli::temp_dir();
    let (_a, _, on_a) = crate::server::cli::listening(crate::server::cli::start(&dir, &[], &env));
    let (_b, _, on_b) = crate::server::cli::listening(crate::server::cli::start(&dir, &[], &env));
    connect(&app, w.c.account, &platform).await;
    // The run's first page answers after 3 s, so the run is still under way when the second
    // process is asked, however loaded the machine (a run of 5 quick pages could end first).
    platform.fail_next(&[Fault::Delay(Duration::from_secs(3))]);
    let (support, account) = (app.support(), gid(Kind::Account, w.c.account));
    let ask = |address: String| {
        let (support, account) = (support.clone(), account.clone());
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{address}/graphql"))
                .bearer_auth(support)
                .json(&json!({"query": RUN, "variables": {"i": {"accountId": account}}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["platformSyncRun"]["syncRun"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (a, b) = tokio::join!(ask(on_a.clone()), ask(on_b.clone()));
    assert_eq!(a, b, "both processes answer with the one run under way");
    wait_for(|| async { numbers(&app, w.c.user1).await.len() == 10 }).await;
    wait_for(|| async {
        count(
            &app.state.db,
            "SELECT COUNT(*) AS n FROM platform_sync_run WHERE state = 'SUCCEEDED'",
        )
        .await
            == 1
    })
    .await;
    assert_eq!(
        count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_sync_run").await,
        1
    );
    let listings = platform.requests().iter().filter(|r| r.starts_with("GET")).count();
    assert_eq!(listings, 5, "one run read the 5 pages once");
}

async fn e3_a_run_whose_process_died_is_failed_and_the_account_is_free_again(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0707000001", None);
    connect(&app, w.c.account, &platform).await;
    let p = Principal::Support { name: "tester".into() };
    let (run, _) = sync::request_run(&app.state.db, &p, Some(w.c.account)).await.unwrap();
    let dead = runner(&app, app.state.settings.remote_extension.clone()).await;
    let run = dead.claim(Some(run.id)).await.unwrap().unwrap();
    assert_eq!(run.state, SyncRunState::Running);
    assert_eq!(
        sync::fail_abandoned(
            &app.state.db,
            chrono::Duration::minutes(60),
            chrono::Duration::seconds(1)
        )
        .await
        .unwrap(),
        0,
        "its lease holds"
    );
    // Its process stops renewing: the lease runs out.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    platform_sync_run::Entity::update_many()
        .col_expr(
            platform_sync_run::Column::LeaseUntil,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(platform_sync_run::Column::Id.eq(run.id))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        sync::fail_abandoned(
            &app.state.db,
            chrono::Duration::minutes(60),
            chrono::Duration::seconds(1)
        )
        .await
        .unwrap(),
        1
    );
    let failed = sync::runs_by_id(&app.state.db, &[run.id])
        .await
        .unwrap()
        .remove(&run.id)
        .unwrap();
    assert_eq!(failed.state, SyncRunState::Failed);
    assert!(errors(&failed).iter().any(|e| e.contains("stopped")), "{failed:?}");
    // Its process, back from the dead, may not finish it any more.
    let mut stale = run.clone();
    let ended = dead.execute(run, &|_, _| {}).await.unwrap();
    assert_eq!(ended.state, SyncRunState::Running, "not saved: {ended:?}");
    stale.state = SyncRunState::Failed;
    let now = sync::runs_by_id(&app.state.db, &[stale.id])
        .await
        .unwrap()
        .remove(&stale.id)
        .unwrap();
    assert_eq!(
        now.state,
        SyncRunState::Failed,
        "the record stays as the takeover left it"
    );
    // The account is free for a new run.
    let (next, created) = sync::request_run(&app.state.db, &p, Some(w.c.account)).await.unwrap();
    assert!(created && next.id != failed.id);
}

backend_tests!(
    e3_one_run_at_a_time_per_account,
    e3_the_api_guards_connections_and_runs,
    e3_reach_sync_runs_one_from_the_command_line,
    e3_two_processes_asked_at_once_make_one_run,
    e3_a_run_whose_process_died_is_failed_and_the_account_is_free_again,
);
