//! The platform sync (SPEC E3, R5, R6) against a real HTTP server standing in for the platform
//! (`fake_platform.rs`): the import (create, prefix labels, user labels kept, removal, in-use
//! numbers kept and flagged), idempotency, the export from users' changes (also through an
//! outage), faults that fail a run cleanly, one run at a time per account, the API's rules and
//! `reach sync`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::{
    config::Settings,
    graphql::ids::Kind,
    policy::Principal,
    service::{
        remote::RemoteSettings,
        sync::{self, runner::Runner},
    },
};
use entity::{SyncRunState, platform_sync_run};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    backend_tests,
    fake_platform::{FakePlatform, Fault},
    helpers::*,
    remote_support::*,
};

pub(crate) const TOKEN: &str = "platform-token-7f3a";
pub(crate) const PLATFORM_ACCOUNT: &str = "gamma-nordic";

/// Short timeouts and small pages, so faults and paging show within a test.
pub(crate) fn fast(s: &mut Settings) {
    s.plugins.poll_interval_ms = 50;
    s.plugins.email.enabled = false;
    let p = &mut s.plugins.platform;
    p.timeout_ms = 300;
    p.max_attempts = 2;
    p.backoff_initial_ms = 10;
    p.lease_seconds = 5;
    p.page_size = 3;
    p.retry_initial_seconds = 1;
}

/// `fast`, with this process running no sync itself (the test drives the runs).
pub(crate) fn driven(s: &mut Settings) {
    fast(s);
    s.plugins.platform.enabled = false;
}

pub(crate) const CONNECT: &str = "mutation($i: PlatformConnectionSetInput!) { platformConnectionSet(input: $i) {
    account { id } platformConnection { baseUrl platformAccount tokenSet nextRunAt }
    userErrors { code field message } } }";

pub(crate) async fn connect(app: &TestApp, account: Uuid, platform: &FakePlatform) -> Value {
    let body = app
        .gql(
            &app.support(),
            CONNECT,
            json!({"i": {"accountId": gid(Kind::Account, account), "baseUrl": platform.url,
                "token": TOKEN, "platformAccount": PLATFORM_ACCOUNT}}),
        )
        .await;
    body["data"]["platformConnectionSet"].clone()
}

/// A runner of this test (its own lease owner), with `remote` settings.
pub(crate) async fn runner(app: &TestApp, remote: RemoteSettings) -> Runner {
    let key = sync::seal::TokenKey::load(&app.state.db, &app.state.settings)
        .await
        .unwrap();
    Runner::new(
        app.state.db.clone(),
        app.state.settings.plugins.platform.clone(),
        remote,
        key,
        format!("test:{}", Uuid::new_v4().simple()),
    )
}

/// Asks for a run and runs it in the test.
pub(crate) async fn run_here(app: &TestApp, runner: &Runner, account: Uuid) -> platform_sync_run::Model {
    let p = Principal::Support { name: "tester".into() };
    let (run, created) = sync::request_run(&app.state.db, &p, Some(account)).await.unwrap();
    assert!(created, "no other run is under way");
    let run = runner.claim(Some(run.id)).await.unwrap().expect("the run is free");
    runner.execute(run, &|_, _| {}).await.unwrap()
}

fn errors(run: &platform_sync_run::Model) -> Vec<String> {
    run.errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

fn changes(run: &platform_sync_run::Model) -> [i32; 5] {
    [run.created, run.updated, run.removed, run.kept, run.exported]
}

/// The global id of `number` in a user as read back.
fn number_id(read: &Value, number: &str) -> String {
    read["numbers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == number)
        .unwrap_or_else(|| panic!("{number} in {read}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `(number, label, origin, onPlatform, missingOnPlatformSince is set)` of the user's numbers.
async fn numbers(app: &TestApp, user: Uuid) -> Vec<(String, String, String, bool, bool)> {
    let q = "query($u: ID!) { node(id: $u) { ... on User { numbers(first: 100) { nodes {
        number label origin onPlatform missingOnPlatformSince } } } } }";
    let body = app.gql(&app.support(), q, json!({"u": gid(Kind::User, user)})).await;
    let mut all: Vec<_> = body["data"]["node"]["numbers"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| {
            (
                n["number"].as_str().unwrap().to_owned(),
                n["label"].as_str().unwrap().to_owned(),
                n["origin"].as_str().unwrap().to_owned(),
                n["onPlatform"].as_bool().unwrap(),
                !n["missingOnPlatformSince"].is_null(),
            )
        })
        .collect();
    all.sort();
    all
}

async fn e3_the_import_creates_relabels_keeps_user_labels_removes_and_keeps_numbers_in_use(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    // user1 is extension 3003, user2 3004.
    let kept_id = platform.add(PLATFORM_ACCOUNT, "3003", "0701000001", Some("desk"));
    let edited_id = platform.add(PLATFORM_ACCOUNT, "3003", "0701000002", None);
    let gone_id = platform.add(PLATFORM_ACCOUNT, "3004", "0701000003", None);
    platform.add(PLATFORM_ACCOUNT, "3004", "0701000004", None);
    platform.add(PLATFORM_ACCOUNT, "9999", "0701000005", None);
    platform.add(PLATFORM_ACCOUNT, "3004", "0123", None); // R3: the account's code is 0, but 4 digits is fine
    platform.add(PLATFORM_ACCOUNT, "3004", "9701000006", None); // R3: not the account's code
    platform.add("another-account", "3003", "0709999999", None);
    let payload = connect(&app, c.account, &platform).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;

    let first = run_here(&app, &here, c.account).await;
    assert_eq!(first.state, SyncRunState::Succeeded, "{first:?}");
    assert_eq!(changes(&first), [5, 0, 0, 0, 0], "{first:?}");
    let errs = errors(&first);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("\"9999\"")),
        "unknown userRef reported: {errs:?}"
    );
    assert!(errs.iter().any(|e| e.contains("9701000006")), "R3 reported: {errs:?}");
    let p = |n: &str| (n.to_owned(), format!("Admin: {n}"), "PLATFORM".to_owned(), true, false);
    assert_eq!(numbers(&app, c.user1).await, vec![p("0701000001"), p("0701000002")]);
    assert_eq!(
        numbers(&app, c.user2).await,
        vec![p("0123"), p("0701000003"), p("0701000004")]
    );
    assert_eq!(
        count(
            &app.state.db,
            "SELECT COUNT(*) AS n FROM user_number WHERE origin = 'PLATFORM'"
        )
        .await,
        5
    );

    // Idempotent: nothing to change, and no event about numbers.
    let head = outbox_head(&app).await;
    let second = run_here(&app, &here, c.account).await;
    assert_eq!(second.state, SyncRunState::Succeeded);
    assert_eq!(changes(&second), [0, 0, 0, 0, 0], "{second:?}");
    assert!(
        !types_since(&app, head)
            .await
            .iter()
            .any(|t| t.starts_with("user_number")),
        "a run without changes records no number event"
    );

    // user1 renames one number; user2's 0701000003 is used by a status.
    let t1 = app.token(c.user1);
    let edited = number_id(&read_user(&app, &t1, c.user1).await, "0701000002");
    let renamed = rcall(
        &app,
        &t1,
        "userNumberUpdate",
        json!({"id": edited, "label": "Summer house"}),
    )
    .await;
    assert_eq!(renamed["userErrors"], json!([]), "{renamed}");
    let t2 = app.token(c.user2);
    let used = number_id(&read_user(&app, &t2, c.user2).await, "0701000003");
    let status = rcall(
        &app,
        &t2,
        "dynamicStatusCreate",
        json!({"name": "Cabin", "presence": "AWAY", "remoteExtensionId": used}),
    )
    .await;
    assert_eq!(status["userErrors"], json!([]), "{status}");

    // R5: the prefix changes; the label the user kept follows it, the user's own label stays.
    let relabel = runner(
        &app,
        RemoteSettings {
            admin_label_prefix: "MX: ".into(),
            ..app.state.settings.remote_extension.clone()
        },
    )
    .await;
    let third = run_here(&app, &relabel, c.account).await;
    assert_eq!(changes(&third), [0, 5 - 1, 0, 0, 0], "{third:?}");
    let labels: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.1).collect();
    assert_eq!(labels, ["MX: 0701000001", "Summer house"]);

    // Gone from the platform: the unused one is removed, the one a status uses kept and flagged.
    platform.remove(&kept_id);
    platform.remove(&edited_id);
    platform.remove(&gone_id);
    let fourth = run_here(&app, &relabel, c.account).await;
    assert_eq!(fourth.state, SyncRunState::Succeeded, "{fourth:?}");
    assert_eq!([fourth.removed, fourth.kept], [2, 1], "{fourth:?}");
    assert!(
        errors(&fourth)
            .iter()
            .any(|e| e.contains("0701000003") && e.contains("Cabin"))
    );
    assert_eq!(numbers(&app, c.user1).await, vec![]);
    let user2 = numbers(&app, c.user2).await;
    assert_eq!(user2.len(), 3, "{user2:?}");
    let flagged = user2.iter().find(|n| n.0 == "0701000003").unwrap();
    assert!(
        !flagged.3 && flagged.4,
        "kept, not on the platform, flagged: {flagged:?}"
    );
    let read2 = read_user(&app, &t2, c.user2).await;
    let cabin = read2["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Cabin")
        .unwrap();
    assert_eq!(cabin["remoteExtension"]["id"], used.as_str(), "no dangling status");

    // R6: nobody deletes a platform number through the API, not even Support.
    let refused = rcall(&app, &app.support(), "userNumberDelete", json!({"id": used})).await;
    assert_eq!(rcodes(&refused), ["FORBIDDEN"], "{refused}");

    // Once the status lets go of it, the next run removes it.
    let cabin_id = cabin["id"].as_str().unwrap().to_owned();
    let del = rcall(&app, &t2, "dynamicStatusDelete", json!({"id": cabin_id})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    let fifth = run_here(&app, &relabel, c.account).await;
    assert_eq!([fifth.removed, fifth.kept], [1, 0], "{fifth:?}");
    let sixth = run_here(&app, &relabel, c.account).await;
    assert_eq!(changes(&sixth), [0, 0, 0, 0, 0], "{sixth:?}");
}

async fn e3_a_number_the_platform_changes_or_moves_follows_it(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    let renumbered = platform.add(PLATFORM_ACCOUNT, "3003", "0702000001", None);
    let moved = platform.add(PLATFORM_ACCOUNT, "3003", "0702000002", None);
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [2, 0, 0, 0, 0]);

    platform.renumber(&renumbered, "0702000009");
    platform.remove(&moved);
    platform.add(PLATFORM_ACCOUNT, "3004", "0702000002", None);
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!(changes(&run), [1, 1, 1, 0, 0], "{run:?}");
    let one: Vec<_> = numbers(&app, c.user1).await.into_iter().map(|n| (n.0, n.1)).collect();
    assert_eq!(one, [("0702000009".to_owned(), "Admin: 0702000009".to_owned())]);
    let two: Vec<_> = numbers(&app, c.user2).await.into_iter().map(|n| n.0).collect();
    assert_eq!(two, ["0702000002"]);
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [0, 0, 0, 0, 0]);
}

async fn e3_faults_fail_the_run_cleanly_and_change_nothing_unconfirmed(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    for i in 0..5 {
        platform.add(PLATFORM_ACCOUNT, "3003", &format!("070300000{i}"), None);
    }
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [5, 0, 0, 0, 0]);
    let before = numbers(&app, c.user1).await;
    // A new number on the platform's first page would be created by a clean run.
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000009", None);

    let slow = Fault::Delay(Duration::from_millis(600));
    let cases: Vec<(&str, Vec<Fault>, &str)> = vec![
        ("500s", vec![Fault::Status(500), Fault::Status(500)], "HTTP 500"),
        ("timeouts", vec![slow.clone(), slow], "did not answer"),
        ("garbage", vec![Fault::Garbage], "could not be read"),
        ("truncated JSON", vec![Fault::Truncated], "could not be read"),
        ("401", vec![Fault::Status(401)], "HTTP 401"),
    ];
    for (name, faults, reason) in cases {
        // The first page comes back; the second one fails: nothing may be removed.
        platform.fail_after_one(&faults);
        let run = run_here(&app, &here, c.account).await;
        assert_eq!(run.state, SyncRunState::Failed, "{name}: {run:?}");
        assert!(
            errors(&run).iter().any(|e| e.contains(reason)),
            "{name}: the reason is recorded: {:?}",
            errors(&run)
        );
        assert_eq!(run.removed, 0, "{name}: an incomplete listing removes nothing");
        let now = numbers(&app, c.user1).await;
        assert!(
            before.iter().all(|n| now.contains(n)),
            "{name}: no number lost or changed: {now:?}"
        );
    }
    // The platform is back: the next run applies what is new and fails nothing.
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!([run.updated, run.removed, run.kept], [0, 0, 0], "{run:?}");
    assert_eq!(numbers(&app, c.user1).await.len(), 6);
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [0, 0, 0, 0, 0]);
    // The schedule backs off after failures and resets after a success.
    let conn = sync::connection::connection_of(&app.state.db, c.account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.failures, 0);
}

async fn e3_a_users_remote_extension_reaches_the_platform_and_leaves_it_also_through_an_outage(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0704000001", None);
    // A number the platform holds for someone Reach does not know: an export of it is refused.
    platform.add(PLATFORM_ACCOUNT, "9999", "0704000099", None);
    connect(&app, c.account, &platform).await;
    // The connection makes a run due at once: the platform number arrives (R2 then lets the
    // user add their own).
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 }).await;

    let t1 = app.token(c.user1);
    let created = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Mobile", "number": "0704000002", "isRemoteExtension": true}),
    )
    .await;
    let mine = id_of(&created, "userNumber");
    wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000002".to_owned()) }).await;
    let item = platform
        .items(PLATFORM_ACCOUNT)
        .into_iter()
        .find(|i| i.2 == "0704000002")
        .unwrap();
    assert_eq!(item.1, "3003", "sent with the user's extension as userRef");
    wait_for(|| async { numbers(&app, c.user1).await.iter().any(|n| n.0 == "0704000002" && n.3) }).await;

    // The next run recognises it: nothing imported twice, nothing sent again.
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert_eq!(run["changes"], 0, "{run}");
    assert_eq!(
        numbers(&app, c.user1)
            .await
            .iter()
            .filter(|n| n.0 == "0704000002")
            .count(),
        1
    );

    // The platform is down for a while (more failures than one handling retries): the number
    // arrives once it is back.
    platform.fail_next(&vec![Fault::Status(503); 5]);
    let outage = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Boat", "number": "0704000003", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(outage["userErrors"], json!([]), "{outage}");
    wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000003".to_owned()) }).await;

    // Deleted in Reach: deleted on the platform.
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": mine})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async { !platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000002".to_owned()) }).await;

    // 409: the platform holds the number already: refused, recorded on the number, reported by
    // the next run, and nothing else held up.
    let conflict = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Shared", "number": "0704000099", "isRemoteExtension": true}),
    )
    .await;
    let shared = id_of(&conflict, "userNumber");
    let q = "query($n: ID!) { node(id: $n) { ... on UserNumber { onPlatform platformError } } }";
    wait_for(|| async {
        let body = app.gql(&app.support(), q, json!({"n": shared})).await;
        body["data"]["node"]["platformError"]
            .as_str()
            .is_some_and(|e| e.contains("409"))
    })
    .await;
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert!(
        run["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("0704000099")),
        "{run}"
    );
}

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

const RUN: &str = "mutation($i: PlatformSyncRunInput!) { platformSyncRun(input: $i) {
    created syncRun { id state } userErrors { code field } } }";

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
    let dir = crate::cli::temp_dir();
    let out = crate::cli::reach(&dir)
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
    let out = crate::cli::reach(&dir)
        .args(["sync", "--account", &gid(Kind::Account, w.d.account)])
        .env("REACH_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no platform connection"));
}

/// Asks for a run through the API and waits for it to end; the run as read through `node`.
async fn request_and_wait(app: &TestApp, account: Uuid) -> Value {
    let body = app
        .gql(
            &app.support(),
            RUN,
            json!({"i": {"accountId": gid(Kind::Account, account)}}),
        )
        .await;
    let id = body["data"]["platformSyncRun"]["syncRun"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let q = "query($r: ID!) { node(id: $r) { ... on PlatformSyncRun { state changes created errors } } }";
    for _ in 0..400 {
        let run = app.gql(&app.support(), q, json!({"r": id})).await["data"]["node"].clone();
        if run["state"] == "SUCCEEDED" || run["state"] == "FAILED" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the run did not end");
}

/// Waits (up to 20 s) until `check` holds.
async fn wait_for<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the condition did not hold within 20 s");
}

backend_tests!(
    e3_the_import_creates_relabels_keeps_user_labels_removes_and_keeps_numbers_in_use,
    e3_a_number_the_platform_changes_or_moves_follows_it,
    e3_faults_fail_the_run_cleanly_and_change_nothing_unconfirmed,
    e3_a_users_remote_extension_reaches_the_platform_and_leaves_it_also_through_an_outage,
    e3_one_run_at_a_time_per_account,
    e3_the_api_guards_connections_and_runs,
    e3_reach_sync_runs_one_from_the_command_line,
);

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
    let dir = crate::cli::temp_dir();
    let (_a, _, on_a) = crate::cli::listening(crate::cli::start(&dir, &[], &env));
    let (_b, _, on_b) = crate::cli::listening(crate::cli::start(&dir, &[], &env));
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

async fn e3_a_number_the_user_deleted_never_comes_back_from_the_platform(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0708000001", None);
    connect(&app, c.account, &platform).await;
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 }).await;
    let t1 = app.token(c.user1);
    let mut ids = Vec::new();
    for n in ["0708000002", "0708000003"] {
        let created = rcall(
            &app,
            &t1,
            "userNumberCreate",
            json!({"label": n, "number": n, "isRemoteExtension": true}),
        )
        .await;
        ids.push(id_of(&created, "userNumber"));
        wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&n.to_owned()) }).await;
    }
    // The platform refuses to delete the first one.
    platform.fail_next(&[Fault::Status(403)]);
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": ids[0]})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async {
        count(
            &app.state.db,
            "SELECT COUNT(*) AS n FROM platform_withdrawal WHERE attempts = 1",
        )
        .await
            == 1
    })
    .await;
    // A run while it still refuses (the run's own try, then the listing, then the listed
    // number's delete): the number is not imported back, and the refusal is reported.
    platform.fail_next(&[Fault::Status(403), Fault::Delay(Duration::ZERO), Fault::Status(403)]);
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert_eq!(run["created"], 0, "nothing the user deleted is imported: {run}");
    let mine: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.0).collect();
    assert_eq!(mine, ["0708000001", "0708000003"]);
    assert!(
        run["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("0708000002")),
        "the refusal is reported: {run}"
    );
    assert!(platform.numbers(PLATFORM_ACCOUNT).contains(&"0708000002".to_owned()));

    // The platform is down while the user deletes the second: a run brought forward by the
    // outage withdraws both once it is back.
    platform.fail_next(&vec![Fault::Status(503); 4]);
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": ids[1]})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async {
        let left = platform.numbers(PLATFORM_ACCOUNT);
        !left.contains(&"0708000002".to_owned()) && !left.contains(&"0708000003".to_owned())
    })
    .await;
    wait_for(|| async { count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_withdrawal").await == 0 }).await;
    let mine: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.0).collect();
    assert_eq!(mine, ["0708000001"]);
}

async fn e3_one_accounts_dead_platform_holds_up_no_other_account(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let (c, d) = (&w.c, &w.d);
    let up = FakePlatform::start(TOKEN).await;
    let down = FakePlatform::start(TOKEN).await;
    up.add(PLATFORM_ACCOUNT, "4003", "0709000001", None);
    down.add(PLATFORM_ACCOUNT, "3003", "0709000002", None);
    connect(&app, c.account, &down).await;
    connect(&app, d.account, &up).await;
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 && numbers(&app, d.user1).await.len() == 1 }).await;
    // C's platform goes down for good; C's user adds a number first, D's user after.
    down.fail_next(&vec![Fault::Status(503); 1000]);
    let c_new = rcall(
        &app,
        &app.token(c.user1),
        "userNumberCreate",
        json!({"label": "Cabin", "number": "0709000003", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(c_new["userErrors"], json!([]), "{c_new}");
    let d_new = rcall(
        &app,
        &app.token(d.user1),
        "userNumberCreate",
        json!({"label": "Boat", "number": "0709000004", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(d_new["userErrors"], json!([]), "{d_new}");
    wait_for(|| async { up.numbers(PLATFORM_ACCOUNT).contains(&"0709000004".to_owned()) }).await;
    let conn = sync::connection::connection_of(&app.state.db, c.account)
        .await
        .unwrap()
        .unwrap();
    assert!(conn.next_run_at.is_some(), "C's run is due again soon");
}

async fn e3_what_the_platform_still_lists_is_never_taken_for_gone(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    let renamed = platform.add(PLATFORM_ACCOUNT, "3003", "0710000001", None);
    platform.add(PLATFORM_ACCOUNT, "3003", "0710000002", None);
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [2, 0, 0, 0, 0]);
    // The platform names a userRef Reach does not know (yet) for a number Reach holds: the
    // number is still listed, so it stays (reported), and a run after changes nothing.
    platform.reassign(&renamed, "3999");
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!(changes(&run), [0, 0, 0, 0, 0], "{run:?}");
    assert!(errors(&run).iter().any(|e| e.contains("\"3999\"")), "{run:?}");
    assert_eq!(numbers(&app, c.user1).await.len(), 2);

    // An empty listing while Reach holds platform numbers removes nothing and fails the run.
    let before = numbers(&app, c.user1).await;
    let empty = FakePlatform::start(TOKEN).await;
    let url_body = json!({"i": {"accountId": gid(Kind::Account, c.account), "baseUrl": empty.url,
        "token": TOKEN, "platformAccount": "typo-account"}});
    let set = app.gql(&app.support(), CONNECT, url_body).await;
    assert_eq!(set["data"]["platformConnectionSet"]["userErrors"], json!([]), "{set}");
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Failed, "{run:?}");
    assert!(errors(&run).iter().any(|e| e.contains("platformAccount")), "{run:?}");
    assert_eq!(numbers(&app, c.user1).await, before, "nothing removed");
}

backend_tests!(
    e3_a_number_the_user_deleted_never_comes_back_from_the_platform,
    e3_one_accounts_dead_platform_holds_up_no_other_account,
    e3_what_the_platform_still_lists_is_never_taken_for_gone,
    e3_two_processes_asked_at_once_make_one_run,
    e3_a_run_whose_process_died_is_failed_and_the_account_is_free_again,
);
