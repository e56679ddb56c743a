//! Shared by the platform sync tests: the fake platform's token and account, settings with short
//! timeouts and small pages (with or without the process's own sync), the connection and run
//! mutations, a runner the test drives, a run's errors and changes, a user's numbers as read
//! back, and a wait for a condition.

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
use entity::platform_sync_run;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{app::*, fake_platform::FakePlatform};

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

pub(crate) fn errors(run: &platform_sync_run::Model) -> Vec<String> {
    run.errors
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn changes(run: &platform_sync_run::Model) -> [i32; 5] {
    [run.created, run.updated, run.removed, run.kept, run.exported]
}

/// `(number, label, origin, onPlatform, missingOnPlatformSince is set)` of the user's numbers.
pub(crate) async fn numbers(app: &TestApp, user: Uuid) -> Vec<(String, String, String, bool, bool)> {
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

pub(crate) const RUN: &str = "mutation($i: PlatformSyncRunInput!) { platformSyncRun(input: $i) {
    created syncRun { id state } userErrors { code field } } }";

/// Asks for a run through the API and waits for it to end; the run as read through `node`.
pub(crate) async fn request_and_wait(app: &TestApp, account: Uuid) -> Value {
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
pub(crate) async fn wait_for<F, Fut>(check: F)
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
