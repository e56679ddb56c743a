//! The plugin registry (SPEC E1): a plugin gets every committed event once, in log order, from
//! its own place in the log; a restart resumes there; a failing plugin holds up neither the
//! others nor the API; and on PostgreSQL an event committed after a later-numbered one is still
//! delivered.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use api::{policy::Principal, service::outbox};
use entity::{
    event::{self, Event, Logged},
    outbox_event,
};
use integrations::{Plugin, PluginError, PluginHost, RunningPlugins, Wake};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set, TransactionTrait};

use crate::{backend_tests, harness::app::*};

/// Records the positions it is given; fails the first `fail` calls.
struct Recorder {
    name: &'static str,
    seen: Mutex<Vec<i64>>,
    fail: Mutex<usize>,
}

impl Recorder {
    fn new(name: &'static str, fail: usize) -> Arc<Self> {
        Arc::new(Self {
            name,
            seen: Mutex::new(Vec::new()),
            fail: Mutex::new(fail),
        })
    }

    fn seen(&self) -> Vec<i64> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn summary(&self) -> String {
        "records events".into()
    }

    async fn handle(&self, event: &Logged) -> Result<(), PluginError> {
        let mut fail = self.fail.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return Err(PluginError("not today".into()));
        }
        self.seen.lock().unwrap().push(event.position);
        Ok(())
    }
}

fn host(app: &TestApp, plugins: &[Arc<Recorder>]) -> RunningPlugins {
    let mut settings = app.state.settings.plugins.clone();
    settings.poll_interval_ms = 50;
    let mut host = PluginHost::new(app.state.db.clone(), settings, Wake::default());
    for p in plugins {
        host.register(p.clone());
    }
    host.start()
}

/// Every event's position in log order.
async fn log(app: &TestApp) -> Vec<i64> {
    outbox_event::Entity::find()
        .order_by_asc(outbox_event::Column::Txid)
        .order_by_asc(outbox_event::Column::Position)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.position)
        .collect()
}

async fn until(limit: Duration, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn e1_plugins_get_each_event_once_in_order_and_resume_after_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    World::build(&app).await;
    let first = Recorder::new("recorder", 0);
    let running = host(&app, std::slice::from_ref(&first));
    let all = log(&app).await;
    assert!(all.len() > 20);
    until(Duration::from_secs(20), || first.seen().len() >= all.len()).await;
    running.shutdown(Duration::from_secs(5)).await;
    assert_eq!(first.seen(), all, "each event once, in log order");

    // Events committed while no process runs the plugin wait for it.
    World::build(&app).await;
    let after = log(&app).await[all.len()..].to_vec();
    let restarted = Recorder::new("recorder", 0);
    let running = host(&app, std::slice::from_ref(&restarted));
    until(Duration::from_secs(20), || restarted.seen().len() >= after.len()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.shutdown(Duration::from_secs(5)).await;
    assert_eq!(restarted.seen(), after, "resumed where it stopped, nothing again");
}

async fn e1_a_failing_plugin_holds_up_nobody(backend: Backend) {
    let app = spawn_app(backend).await;
    World::build(&app).await;
    let all = log(&app).await;
    // Three failures keep the flaky plugin back for at least 1 + 2 + 4 s of backoff.
    let (steady, flaky) = (Recorder::new("steady", 0), Recorder::new("flaky", 3));
    let running = host(&app, &[steady.clone(), flaky.clone()]);
    until(Duration::from_secs(20), || steady.seen().len() >= all.len()).await;
    assert!(
        flaky.seen().is_empty(),
        "the flaky plugin is still retrying its first event"
    );
    // The API is not held up either.
    let body = app
        .gql(&app.support(), "{ viewer { kind } }", serde_json::json!({}))
        .await;
    assert_eq!(body["data"]["viewer"]["kind"], "SUPPORT");
    let started = std::time::Instant::now();
    let recorded =
        "SELECT COUNT(*) AS n FROM plugin_cursor WHERE plugin = 'flaky' AND failures > 0 AND last_error = 'not today'";
    while count(&app.state.db, recorded).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the failure is recorded on the plugin's cursor"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    until(Duration::from_secs(30), || flaky.seen().len() >= all.len()).await;
    running.shutdown(Duration::from_secs(5)).await;
    assert_eq!(flaky.seen(), all, "after its failures, every event once, in order");
    assert_eq!(steady.seen(), all);
}

async fn e1_an_event_committed_late_is_not_skipped(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return; // SQLite commits one writer at a time: positions are final in order
    }
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let recorder = Recorder::new("recorder", 0);
    let running = host(&app, std::slice::from_ref(&recorder));
    let known = log(&app).await.len();
    until(Duration::from_secs(20), || recorder.seen().len() >= known).await;

    // A transaction takes a position and stays open while a later one commits.
    let support = Principal::Support { name: "test".into() };
    let slow = app.state.db.begin().await.unwrap();
    let event = |name: &str| {
        Event::LocationCreated(event::Named { name: name.into() }).about(w.a.account, uuid::Uuid::now_v7())
    };
    outbox::record(&slow, &support, event("slow")).await.unwrap();
    outbox::record(&app.state.db, &support, event("fast")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        recorder.seen().len(),
        known,
        "the later event waits for the open transaction"
    );
    slow.commit().await.unwrap();
    until(Duration::from_secs(20), || recorder.seen().len() >= known + 2).await;
    running.shutdown(Duration::from_secs(5)).await;
    let all = log(&app).await;
    assert_eq!(recorder.seen(), all, "both delivered, the slow one first");
    let positions = &all[known..];
    assert!(positions[0] < positions[1], "the slow event holds the smaller position");
}

/// Rows this version cannot read — a newer version's event type, a known type whose payload
/// lacks its shape — are passed over: the plugin gets the events around them, in order.
async fn e1_an_event_this_version_cannot_read_is_skipped(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let recorder = Recorder::new("recorder", 0);
    let running = host(&app, std::slice::from_ref(&recorder));
    let known = log(&app).await.len();
    until(Duration::from_secs(20), || recorder.seen().len() >= known).await;

    let support = Principal::Support { name: "test".into() };
    let located = |name: &str| {
        Event::LocationCreated(event::Named { name: name.into() }).about(w.a.account, uuid::Uuid::now_v7())
    };
    let unreadable = |kind: &str| outbox_event::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        event_type: Set(kind.into()),
        account_id: Set(Some(w.a.account)),
        aggregate_type: Set("Account".into()),
        aggregate_id: Set(w.a.account),
        actor: Set("support:test".into()),
        payload: Set(serde_json::json!({ "from": "a newer version" })),
        occurred_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let db = &app.state.db;
    outbox::record(db, &support, located("before")).await.unwrap();
    unreadable("account.renamed").insert(db).await.unwrap();
    unreadable("user.created").insert(db).await.unwrap();
    outbox::record(db, &support, located("after")).await.unwrap();
    app.state.wake.notify();
    let all = log(&app).await;
    let readable = [all[known], all[known + 3]];
    until(Duration::from_secs(20), || recorder.seen().len() >= known + 2).await;
    // A later event still arrives: the plugin's place moved past the skipped rows.
    outbox::record(db, &support, located("later")).await.unwrap();
    app.state.wake.notify();
    until(Duration::from_secs(20), || recorder.seen().len() >= known + 3).await;
    running.shutdown(Duration::from_secs(5)).await;
    let seen = recorder.seen();
    assert_eq!(seen[known..known + 2], readable[..], "the readable events, in order");
    assert_eq!(seen.len(), known + 3, "nothing else: {seen:?}");
}

backend_tests!(
    e1_an_event_this_version_cannot_read_is_skipped,
    e1_plugins_get_each_event_once_in_order_and_resume_after_a_restart,
    e1_a_failing_plugin_holds_up_nobody,
    e1_an_event_committed_late_is_not_skipped,
);
