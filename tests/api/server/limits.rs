//! Request limits (QUALITY.md): each refused before any resolver runs, with its code and status.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;

async fn assert_too_complex(app: &TestApp, query: &str, why: &str) {
    let (status, body) = app.post(&app.support(), query, json!({})).await;
    assert_eq!(status, 400, "{why}: {body}");
    assert_eq!(top_codes(&body), ["QUERY_TOO_COMPLEX"], "{why}: {body}");
    assert!(body["data"].is_null(), "{why}: no resolver ran");
}

async fn document_limits(backend: Backend) {
    // Complexity is raised so that the depth rule alone is what refuses the deep query.
    let app = spawn_app_with(backend, |s| s.limits.max_complexity = 10_000_000).await;
    let deep = "{ me { location { account { users { nodes { location { account { users { nodes { location { account { id } } } } } } } } } } } }";
    assert_too_complex(&app, deep, "depth").await;
    let ok_depth = "{ me { location { account { users { nodes { id } } } } } }";
    assert_eq!(app.post(&app.support(), ok_depth, json!({})).await.0, 200);

    let aliases: String = (0..16).map(|i| format!("a{i}: viewer {{ kind }} ")).collect();
    assert_too_complex(&app, &format!("{{ {aliases} }}"), "aliases").await;
    let fifteen: String = (0..15).map(|i| format!("a{i}: viewer {{ kind }} ")).collect();
    assert_eq!(
        app.post(&app.support(), &format!("{{ {fifteen} }}"), json!({})).await.0,
        200
    );

    let directives = "@include(if: true) ".repeat(6);
    assert_too_complex(&app, &format!("{{ viewer {{ kind {directives} }} }}"), "directives").await;

    let long = format!("{{ viewer {{ kind }} }}{}", " ".repeat(15_000));
    assert_too_complex(&app, &long, "query length").await;
}

async fn complexity_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_too_complex(
        &app,
        "{ accounts(first: 100) { nodes { users(first: 100) { nodes { id name } } } } }",
        "complexity",
    )
    .await;
    let (status, _) = app
        .post(
            &app.support(),
            "{ accounts(first: 5) { nodes { users(first: 10) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
}

async fn page_size_and_body_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let query = "query($a: ID!, $n: Int) { account(id: $a) { users(first: $n) { nodes { id } } } }";
    let account = gid(Kind::Account, w.a.account);
    let body = app.gql(&app.support(), query, json!({"a": account, "n": 101})).await;
    assert_eq!(top_codes(&body), ["BAD_REQUEST"], "{body}");
    let body = app.gql(&app.support(), query, json!({"a": account, "n": 100})).await;
    assert_eq!(body["data"]["account"]["users"]["nodes"].as_array().unwrap().len(), 5);

    // A body over the authenticated limit (1 MiB): 413, whatever it holds.
    let padding = "x".repeat(1024 * 1024 + 1);
    let (status, _) = app
        .post(&app.support(), "{ viewer { kind } }", json!({ "pad": padding }))
        .await;
    assert_eq!(status, 413);
}

async fn request_timeout_rolls_back(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.limits.request_timeout_ms = 0).await;
    let query =
        "mutation { accountCreate(input: {name: \"Slow\", platform: MX_ONE}) { account { id } userErrors { code } } }";
    let body = app.gql(&app.support(), query, json!({})).await;
    assert_eq!(top_codes(&body), ["TIMEOUT"], "{body}");
    // Give a cancelled statement time to land if it were going to.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.outbox_count().await, 0);
    assert_eq!(count(&app.state.db, "SELECT COUNT(*) AS n FROM account").await, 0);
}

async fn rate_limit_is_per_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.limits.rate_limit_per_second = 1;
        s.limits.rate_limit_burst = 2;
    })
    .await;
    let w = World::build(&app).await;
    let (a, b) = (app.token(w.a.user1), app.token(w.a.user2));
    let q = "{ viewer { kind } }";
    let statuses = [app.post(&a, q, json!({})).await.0, app.post(&a, q, json!({})).await.0];
    assert_eq!(statuses, [200, 200]);
    let (status, body) = app.post(&a, q, json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(top_codes(&body), ["RATE_LIMITED"]);
    // Another token is unaffected.
    assert_eq!(app.post(&b, q, json!({})).await.0, 200);
}

async fn introspection_can_be_switched_off(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let body = app
        .gql(&app.support(), "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");

    let app = spawn_app_with(backend, |s| s.introspection = false).await;
    let (_, body) = app
        .post(&app.support(), "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(body["data"].is_null() || body["data"]["__schema"].is_null(), "{body}");
    let (status, body) = app.post(&app.support(), "{ viewr { kind } }", json!({})).await;
    assert_eq!(status, 400);
    assert!(!body.to_string().contains("Did you mean"), "no suggestions: {body}");
}

backend_tests!(
    document_limits,
    complexity_limit,
    page_size_and_body_limits,
    request_timeout_rolls_back,
    rate_limit_is_per_token,
    introspection_can_be_switched_off,
);
