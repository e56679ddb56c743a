//! Issue 17: the small listings' plain pages (`accounts`, `me { numbers }`, `me {
//! dynamicStatuses }`) are answered without the executor once their text has passed validation
//! (`graphql::direct`), and the answer is the executor's, byte for byte, for every caller.

#![allow(clippy::unwrap_used)]

use api::{policy::Principal, service::remote};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

/// The status and body of `query` for `token`, as sent on the wire.
async fn raw(app: &TestApp, token: &str, query: &str) -> (u16, Vec<u8>) {
    let resp = (app.client)
        .post(format!("{}/graphql", app.address))
        .header(reqwest::header::ACCEPT, "application/graphql-response+json")
        .bearer_auth(token)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

/// The cursors of `at`'s edges in the answer to `query`.
async fn cursors(app: &TestApp, token: &str, query: &str, at: &str) -> Vec<String> {
    let body = app.gql(token, query, json!({})).await;
    (body.pointer(at).and_then(Value::as_array))
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().to_owned())
        .collect()
}

async fn direct_answers_are_the_executors(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    // Tenant B is on MX-ONE: its users have statuses; one of them gets numbers whose labels
    // need escaping.
    let support = Principal::Support { name: "t".into() };
    let cfg = &app.state.settings.remote_extension;
    for i in 0..7 {
        let input = remote::NumberInput {
            label: Some(format!("Cabin \"{i}\" \\ Süd ✓")),
            number: format!("07000{i:05}"),
            is_remote_extension: i % 2 == 0,
            call_through: false,
            origin: Some(entity::NumberOrigin::Admin),
            ringing: Default::default(),
        };
        let user = Some(api::service::GivenId::Key(w.b.user1));
        remote::create_number(&app.state.db, &support, cfg, user, input)
            .await
            .unwrap();
    }
    let s = app.support();
    let own = app.token(w.b.user1);
    let accounts = cursors(&app, &s, "{ accounts { edges { cursor } } }", "/data/accounts/edges").await;
    let numbers = cursors(
        &app,
        &own,
        "{ me { numbers { edges { cursor } } } }",
        "/data/me/numbers/edges",
    )
    .await;
    assert_eq!((accounts.len(), numbers.len()), (2, 7));

    // Each document and whether it is answered directly (for a user; `me` is null for Support,
    // which the executor answers).
    let mut documents: Vec<(String, bool)> = [
        ("{ accounts(first: 50) { totalCount nodes { name platform } } }", true),
        (
            "{ a: accounts(first: 1) { n: totalCount __typename nodes { id __typename extensionLength } \
             pageInfo { hasNextPage hasPreviousPage __typename } } }",
            true,
        ),
        (
            "{ accounts(last: 1) { nodes { name } pageInfo { hasPreviousPage hasNextPage } } }",
            true,
        ),
        ("{ accounts(first: 0) { totalCount pageInfo { hasNextPage } } }", true),
        ("{ accounts(first: null) { totalCount } }", true),
        (
            "{ me { numbers(first: 50) { totalCount nodes { label number } } } }",
            true,
        ),
        (
            "query Mine { m: me { n: numbers(first: 3) { nodes { id label } pageInfo { hasNextPage } } } }",
            true,
        ),
        (
            "{ me { numbers(last: 2) { totalCount nodes { number } pageInfo { hasPreviousPage } } } }",
            true,
        ),
        ("{ me { dynamicStatuses { name presence message } } }", true),
        ("{ me { s: dynamicStatuses { __typename id origin n: name } } }", true),
        // Refused arguments: the executor words the error.
        ("{ accounts(first: 500) { totalCount } }", false),
        ("{ accounts(first: 2, last: 2) { totalCount } }", false),
        ("{ me { numbers(after: \"not a cursor\") { totalCount } } }", false),
        // More than a built page shows.
        ("{ me { numbers { totalCount edges { cursor } } } }", false),
    ]
    .into_iter()
    .map(|(q, d)| (q.to_owned(), d))
    .collect();
    for (i, c) in [&accounts[0], &accounts[1]].into_iter().enumerate() {
        let page = if i == 0 { "first: 5, after" } else { "last: 5, before" };
        let q = format!("{{ accounts({page}: \"{c}\") {{ totalCount nodes {{ name }} }} }}");
        documents.push((q, true));
    }
    for c in [&numbers[2], &numbers[6]] {
        let q = format!(
            "{{ me {{ numbers(first: 2, after: \"{c}\") {{ nodes {{ label }} pageInfo {{ hasNextPage }} }} }} }}"
        );
        documents.push((q.clone(), true));
        documents.push((q.replace("first: 2, after", "last: 2, before"), true));
    }
    // Each text runs twice first, so that it passed validation.
    for (query, _) in &documents {
        for _ in 0..2 {
            raw(&app, &s, query).await;
        }
    }
    let callers = [
        ("Support", s.clone()),
        ("MX-ONE user with numbers", own.clone()),
        ("MX-ONE Decision Maker", app.token(w.b.dm)),
        ("MiCloud Connect user", app.token(w.a.user1)),
    ];
    let mut answered = 0;
    for (n, (caller, token)) in callers.iter().enumerate() {
        for (i, (query, direct)) in documents.iter().enumerate() {
            let before = app.state.metrics.direct_answers();
            let answer = raw(&app, token, query).await;
            let by_direct = app.state.metrics.direct_answers() - before;
            // The same document under a text never sent before runs through the executor.
            let executor = raw(&app, token, &format!("{query} # {n} {i}")).await;
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            assert_eq!(
                (answer.0, text(&answer.1)),
                (executor.0, text(&executor.1)),
                "{caller}: {query}"
            );
            let expected = *direct && !(*caller == "Support" && query.contains("me {"));
            assert_eq!(by_direct, u64::from(expected), "{caller}: {query}: {}", text(&answer.1));
            answered += by_direct;
        }
    }
    assert!(answered > 40, "{answered}");
    // What the answers hold (beyond being the executor's).
    let body = app
        .gql(
            &own,
            "{ me { numbers(first: 50) { totalCount nodes { label } } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["me"]["numbers"]["totalCount"], 7, "{body}");
    assert_eq!(
        body["data"]["me"]["numbers"]["nodes"][1]["label"],
        "Cabin \"1\" \\ Süd ✓"
    );
    let body = app.gql(&s, "{ me { dynamicStatuses { name } } }", json!({})).await;
    assert_eq!(body, json!({ "data": { "me": null } }));
}

backend_tests!(direct_answers_are_the_executors);
