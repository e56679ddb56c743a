//! Subscriptions across real `reach serve` processes on one PostgreSQL database (SPEC E4): an
//! event committed through one process reaches subscribers on another, woken by `NOTIFY`; with
//! the `LISTEN` connection killed, the next events still arrive. The catch-up poll is set to ten
//! minutes, so only the notifications can deliver within the test's waits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sea_orm::ConnectionTrait;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    backend_tests,
    harness::{
        app::*,
        remote::*,
        ws_client::{Incoming, Proto, WsClient},
    },
    server::cli::{Server, listening, start, temp_dir},
};

const ACTIVE: &str = "subscription { activeStatusChanged { activeStatus { id name } } }";
const ACTIVATE: &str = "mutation($i: DynamicStatusActivateInput!) { dynamicStatusActivate(input: $i) {
    dynamicStatus { id } userErrors { code } } }";

/// A `reach serve` process on the test's database.
fn server(app: &TestApp) -> (Server, String) {
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let env = [
        ("REACH_DATABASE_URL", url.as_str()),
        ("REACH_SUBSCRIPTIONS__CATCH_UP_MS", "600000"),
    ];
    let (server, _, address) = listening(start(&temp_dir(), &[], &env));
    (server, address)
}

async fn activate(address: &str, token: &str, status: &str) {
    let body: Value = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": ACTIVATE, "variables": {"i": {"id": status}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["dynamicStatusActivate"]["userErrors"], json!([]), "{body}");
}

/// The backends currently listening for process `pid`.
async fn listeners(app: &TestApp, pid: u32, terminate: bool) -> i64 {
    let name = format!("{}:{pid}", api::live::listen::APPLICATION_NAME);
    let sql = if terminate {
        format!("SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = '{name}'")
    } else {
        format!("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE application_name = '{name}'")
    };
    count(&app.state.db, &sql).await
}

async fn e4_an_event_through_one_process_reaches_subscribers_on_another(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return; // several processes on one database: the PostgreSQL set-up
    }
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let token = app.token(w.c.user1);
    let (road, _) = {
        let re = provision_admin(&app, w.c.user1, "0701110004").await;
        let s = rcall(
            &app,
            &token,
            "dynamicStatusCreate",
            json!({ "name": "On the road", "presence": "AWAY", "remoteExtensionId": re }),
        )
        .await;
        (id_of(&s, "dynamicStatus"), re)
    };
    let read = read_user(&app, &token, w.c.user1).await;
    let available = read["activeStatus"]["id"].as_str().unwrap().to_owned();
    let (subscriber, on_a) = server(&app);
    let (_writer, on_b) = server(&app);
    let pid = subscriber.0.id();
    let mut ws = WsClient::ready(&on_a, Proto::TransportWs, &token).await;
    ws.subscribe("s", ACTIVE, json!({})).await;

    // A registers the subscription a moment after the message, and may first pass on changes
    // committed just before it (the fixtures'): change through B until A shows this change.
    let mut live = false;
    'tries: for _ in 0..10 {
        activate(&on_b, &token, &road).await;
        loop {
            match ws.next(Duration::from_secs(3)).await {
                Incoming::Next { payload, .. }
                    if payload["data"]["activeStatusChanged"]["activeStatus"]["id"] == road.as_str() =>
                {
                    live = true;
                    break 'tries;
                }
                Incoming::Next { .. } => continue,
                Incoming::Silence => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        // Not registered yet: make the next activation a change again.
        activate(&on_b, &token, &available).await;
    }
    assert!(live, "no event reached process A");

    // Kill process A's LISTEN connection and commit through B at once: A finds the change when
    // it has connected again.
    assert_eq!(listeners(&app, pid, true).await, 1, "one LISTEN connection to kill");
    activate(&on_b, &token, &available).await;
    let e = ws.event("s").await;
    assert_eq!(
        e["activeStatusChanged"]["activeStatus"]["id"],
        available.as_str(),
        "{e}"
    );

    // A listens again, and the next change arrives through it.
    for _ in 0..100 {
        if listeners(&app, pid, false).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listeners(&app, pid, false).await, 1, "process A listens again");
    activate(&on_b, &token, &road).await;
    let e = ws.event("s").await;
    assert_eq!(e["activeStatusChanged"]["activeStatus"]["id"], road.as_str(), "{e}");
    // Without the trigger's notification nothing would have woken A within the test: check that
    // the trigger is there, so the test is about what it says.
    let triggers = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM pg_trigger WHERE tgname = 'outbox_event_notify'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(triggers, 1);
}

backend_tests!(e4_an_event_through_one_process_reaches_subscribers_on_another);
