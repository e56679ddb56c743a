//! The HTTP surface: content negotiation, refused requests, probes, request ids, GraphiQL.

#![allow(clippy::unwrap_used)]

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

async fn accept_header_picks_the_media_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.support();
    for (accept, expected) in [
        (
            Some("application/graphql-response+json"),
            "application/graphql-response+json",
        ),
        (Some("application/json"), "application/json"),
        (None, "application/json"),
    ] {
        let mut req = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&token)
            .json(&json!({"query": "{ viewer { kind } }"}));
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[CONTENT_TYPE], expected, "Accept: {accept:?}");
        assert!(
            resp.headers().contains_key("x-request-id"),
            "every response carries a request id"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"]["viewer"]["kind"], "SUPPORT");
    }
    let resp = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&token)
        .header(ACCEPT, "text/html")
        .json(&json!({"query": "{ viewer { kind } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
}

async fn malformed_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.support();
    let url = format!("{}/graphql", app.address);
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(&url)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    // Non-JSON body types: 415.
    let resp = send("query=%7Bviewer%7Bkind%7D%7D", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = send("{ viewer { kind } }", "application/graphql").await.unwrap();
    assert_eq!(resp.status(), 415);
    // Batches: 400.
    let resp = send(
        r#"[{"query":"{ viewer { kind } }"},{"query":"{ viewer { kind } }"}]"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(top_codes(&body), ["BAD_REQUEST"]);
    // Broken JSON and missing query: 400.
    assert_eq!(send("{not json", "application/json").await.unwrap().status(), 400);
    assert_eq!(
        send(r#"{"variables": {}}"#, "application/json").await.unwrap().status(),
        400
    );
    // A syntax error and a validation error: BAD_REQUEST and no `data` entry; HTTP 400 under
    // application/graphql-response+json, 200 under application/json (and with no Accept).
    for query in ["{ viewer { kind ", "{ noSuchField }"] {
        let (status, body) = app.post(&token, query, json!({})).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(top_codes(&body), ["BAD_REQUEST"], "{query}");
        assert!(body.get("data").is_none(), "{query}: {body}");
        for accept in [Some("application/json"), None] {
            let mut req = app
                .client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({ "query": query }));
            if let Some(accept) = accept {
                req = req.header(ACCEPT, accept);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{query} with Accept {accept:?}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(top_codes(&body), ["BAD_REQUEST"], "{query}");
            assert!(body.get("data").is_none(), "{query}: {body}");
        }
    }
    // Request-level failures without a code of their own: an unknown operation, a missing variable.
    let resp = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header(ACCEPT, "application/graphql-response+json")
        .json(&json!({"query": "query A { viewer { kind } }", "operationName": "B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(top_codes(&resp.json::<Value>().await.unwrap()), ["BAD_REQUEST"]);
    for variables in [json!({}), json!({"id": null})] {
        let (status, body) = app
            .post(&token, "query($id: ID!) { node(id: $id) { id } }", variables)
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(top_codes(&body), ["BAD_REQUEST"]);
    }
    // Mutations over GET: 405; queries over GET work.
    let resp = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .query(&[(
            "query",
            "mutation { accountCreate(input: {name: \"X\", platform: MX_ONE}) { account { id } } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    let resp = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .query(&[("query", "{ viewer { kind } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["data"]["viewer"]["kind"], "SUPPORT");
    // Other methods: 405.
    let resp = app.client.put(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    // The GET mutation created nothing.
    assert_eq!(app.outbox_count().await, 0);
}

async fn probes_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let resp = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ready");
    // A request id sent by the caller is echoed back.
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
}

async fn graphiql_is_served_without_internet(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/graphiql"] {
        let resp = app.client.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = resp.text().await.unwrap();
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
        let assets: Vec<&str> = html
            .split(['"', '\''])
            .filter(|s| s.starts_with("/graphiql/assets/"))
            .collect();
        assert!(assets.len() >= 3, "page references its local assets: {assets:?}");
        for asset in assets {
            let resp = app.client.get(format!("{}{asset}", app.address)).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{asset}");
            assert!(resp.bytes().await.unwrap().len() > 1000, "{asset} has content");
        }
    }
}

/// A browser opening `/graphql` (it prefers `text/html` and sends no `query`, nor a token) is sent
/// to GraphiQL; every other `GET` is answered as before.
async fn a_browser_opening_graphql_is_sent_to_graphiql(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/graphql", app.address);
    let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for accept in [firefox, "text/html"] {
        let resp = client.get(&url).header(ACCEPT, accept).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{accept}");
        assert_eq!(resp.headers()[reqwest::header::LOCATION], "/graphiql", "{accept}");
    }
    // Followed, it lands on the page.
    let resp = app.client.get(&url).header(ACCEPT, firefox).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));

    // Anything else keeps its answer: a client without a query is told what is missing…
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("text/html, application/json"),
    ] {
        let mut req = client.get(&url);
        if let Some(a) = accept {
            req = req.header(ACCEPT, a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400, "{accept:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(top_codes(&body), ["BAD_REQUEST"], "{accept:?}");
    }
    // …a browser's query still needs a token…
    let resp = client
        .get(&url)
        .header(ACCEPT, firefox)
        .query(&[("query", "{ viewer { kind } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // …and runs with one.
    let resp = client
        .get(&url)
        .header(ACCEPT, firefox)
        .bearer_auth(app.support())
        .query(&[("query", "{ viewer { kind } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["data"]["viewer"]["kind"], "SUPPORT");
    // POST is never redirected.
    let resp = client
        .post(&url)
        .header(ACCEPT, "text/html")
        .bearer_auth(app.support())
        .json(&json!({"query": "{ viewer { kind } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
}

backend_tests!(
    a_browser_opening_graphql_is_sent_to_graphiql,
    accept_header_picks_the_media_type,
    malformed_requests_are_refused,
    probes_answer,
    graphiql_is_served_without_internet,
);
