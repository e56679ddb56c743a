//! `/metrics`: Support reads it on the main listener, anyone on `[metrics] listen`; operations
//! are counted by transport, type and outcome, and what the database holds is read at the scrape.
//! Each figure the plugins and subscriptions add is moved here by a real cause (`plugins`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod plugins;

use std::time::Duration;

use api::startup::Application;
use reqwest::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::ws_client::{Incoming, Proto, WsClient};

/// The value of the sample `name{labels}` (labels as the text writes them), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes as Support until `done` holds for the text (at most 20 s); the text.
async fn scrape_until(app: &TestApp, what: &str, done: impl Fn(&str) -> bool) -> String {
    let support = app.support();
    for _ in 0..400 {
        let (status, text) = scrape(app, Some(&support)).await;
        assert_eq!(status, 200, "{text}");
        if done(&text) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {}", scrape(app, Some(&support)).await.1);
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn operations_are_counted_and_support_reads_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = app.support();
    // Two queries, one mutation refused with a user error (still an answered operation), one
    // document that does not validate, and one over the websocket.
    for _ in 0..2 {
        app.gql(&support, "{ viewer { kind } }", json!({})).await;
    }
    app.gql(
        &app.token(w.a.user1),
        "mutation($i: MobilityDeactivateInput!) { mobilityDeactivate(input: $i) { userErrors { code } } }",
        json!({ "i": { "accountId": gid(api::graphql::ids::Kind::Account, w.a.account) } }),
    )
    .await;
    app.post(&support, "{ viewer { nope } }", json!({})).await;
    // A document that does not parse: refused before an operation is picked.
    app.post(&support, "{ viewer ", json!({})).await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &support).await;
    ws.subscribe("q", "{ viewer { kind } }", json!({})).await;
    assert!(matches!(ws.next(Duration::from_secs(10)).await, Incoming::Next { .. }));
    assert!(matches!(ws.next(Duration::from_secs(10)).await, Incoming::Complete(_)));
    // Subscriptions count at their first answer: one refused (an account that does not exist),
    // one taken and then stopped before any event (`ok`).
    let gone = gid(api::graphql::ids::Kind::Account, uuid::Uuid::now_v7());
    let watch = "subscription($a: ID!) { mobilityChanged(accountId: $a) { __typename } }";
    ws.subscribe("refused", watch, json!({ "a": gone })).await;
    let codes = ws.refusal("refused").await;
    let account = gid(api::graphql::ids::Kind::Account, w.a.account);
    ws.subscribe("taken", watch, json!({ "a": account })).await;
    ws.stop("taken").await;
    let refused_as = format!(
        r#"reach_graphql_operations_total{{transport="websocket",operation="subscription",outcome="{}"}}"#,
        codes[0].to_lowercase()
    );
    let taken_as = r#"reach_graphql_operations_total{transport="websocket",operation="subscription",outcome="ok"}"#;
    scrape_until(&app, "both subscriptions counted", |text| {
        sample(text, &refused_as) == Some(1.0) && sample(text, taken_as) == Some(1.0)
    })
    .await;

    let (status, text) = scrape(&app, Some(&support)).await;
    assert_eq!(status, 200, "{text}");
    let ops = |labels: &str| sample(&text, &format!("reach_graphql_operations_total{{{labels}}}"));
    for (labels, expected) in [
        (r#"transport="http",operation="query",outcome="ok""#, 2.0),
        (r#"transport="http",operation="mutation",outcome="ok""#, 1.0),
        (r#"transport="http",operation="query",outcome="bad_request""#, 1.0),
        (r#"transport="http",operation="none",outcome="bad_request""#, 1.0),
        (r#"transport="websocket",operation="query",outcome="ok""#, 1.0),
    ] {
        assert_eq!(ops(labels), Some(expected), "{labels}: {text}");
    }
    let timed = |labels: &str| {
        sample(
            &text,
            &format!("reach_graphql_operation_duration_seconds_count{{{labels}}}"),
        )
    };
    // The two answered queries and the one that failed validation.
    assert_eq!(timed(r#"transport="http",operation="query""#), Some(3.0), "{text}");
    assert_eq!(sample(&text, "reach_websocket_connections"), Some(1.0), "{text}");
    // Read from the database at the scrape: the newest event's position, and the plugins' lag.
    let newest = count(
        &app.state.db,
        "SELECT COALESCE(MAX(position), 0) AS n FROM outbox_event",
    )
    .await;
    assert!(newest > 0);
    assert_eq!(sample(&text, "reach_outbox_position"), Some(newest as f64), "{text}");
    assert!(text.contains("reach_plugin_lag_events{plugin=\""), "{text}");
    assert!(text.contains("reach_plugin_lag_seconds{plugin=\""), "{text}");
    assert!(
        sample(&text, r#"reach_db_pool_connections{state="idle"}"#).is_some(),
        "{text}"
    );
    // The pool's ceiling, beside what it uses: how close it runs to making requests wait.
    assert_eq!(sample(&text, "reach_db_pool_max_connections"), Some(5.0), "{text}");
    // The allocator's figures: a running server has a heap, held in pages at least as large.
    let allocated = sample(&text, "reach_process_heap_allocated_bytes").expect("heap allocated");
    let resident = sample(&text, "reach_process_heap_resident_bytes").expect("heap resident");
    assert!(allocated > 1_000_000.0 && resident >= allocated, "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text ends with # EOF");
    drop(ws);

    // Not for users, nor without a token.
    let (status, body) = scrape(&app, Some(&app.token(w.a.dm))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("FORBIDDEN") && body.contains("only Support"), "{body}");
    assert_eq!(scrape(&app, None).await.0, 401);
}

async fn metrics_can_be_switched_off(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.metrics.enabled = false).await;
    assert_eq!(scrape(&app, Some(&app.support())).await.0, 404);
}

async fn a_listener_of_their_own_needs_no_token(backend: Backend) {
    let (mut settings, _guard) = fresh_database(&backend).await;
    settings.metrics.listen = Some("127.0.0.1:0".into());
    let app = Application::build(settings, false).await.unwrap();
    let metrics = app.metrics_addr().expect("bound");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let resp = reqwest::get(format!("http://{metrics}/metrics")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        resp.headers()
    );
    assert!(resp.text().await.unwrap().contains("reach_outbox_position"));
    let _ = tx.send(());
    running.await.unwrap().unwrap();
}

backend_tests!(
    operations_are_counted_and_support_reads_them,
    metrics_can_be_switched_off,
    a_listener_of_their_own_needs_no_token,
);
