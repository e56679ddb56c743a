//! Concurrent writers: SQLite queues them (no `database is locked` reaches a client), and a race
//! on a unique rule ends as a clean conflict, never an internal error.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

const CREATE: &str = "mutation($a: ID!, $n: String!, $x: String!) {
  userCreate(input: {accountId: $a, name: $n, extension: $x, phoneProfile: BASIC}) { user { id } userErrors { code } }
}";

async fn twenty_concurrent_writers_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (token, account) = (app.support(), gid(Kind::Account, w.a.account));
    let before = app.outbox_count().await;
    let calls = (0..20).map(|i| {
        app.post(
            &token,
            CREATE,
            json!({"a": account, "n": format!("Writer {i}"), "x": format!("{}", 7000 + i)}),
        )
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(calls).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(body["errors"].is_null(), "no top-level error: {body}");
        assert_eq!(codes(body, "userCreate"), Vec::<String>::new(), "{body}");
    }
    assert_eq!(app.outbox_count().await, before + 20);
}

async fn racing_on_one_extension_ends_in_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (token, account) = (app.support(), gid(Kind::Account, w.a.account));
    let calls = (0..20).map(|i| {
        app.post(
            &token,
            CREATE,
            json!({"a": account, "n": format!("Racer {i}"), "x": "7777"}),
        )
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(calls).await;
    let mut winners = 0;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(body["errors"].is_null(), "a race is never an internal error: {body}");
        match codes(body, "userCreate").as_slice() {
            [] => winners += 1,
            [code] => assert_eq!(code, "EXTENSION_CONFLICT"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let n = count(
        &app.state.db,
        "SELECT COUNT(*) AS n FROM app_user WHERE extension = '7777'",
    )
    .await;
    assert_eq!(n, 1);
}

async fn concurrent_updates_of_one_user_lose_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (token, id) = (app.support(), gid(Kind::User, w.a.user1));
    let update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { user { id } userErrors { code } } }";
    for round in 0..10 {
        let name = format!("Renamed {round}");
        let phone = format!("+1555000{round:04}");
        let (a, b) = tokio::join!(
            app.post(&token, update, json!({"i": {"id": id, "name": name}})),
            app.post(&token, update, json!({"i": {"id": id, "phoneNumber": phone}})),
        );
        assert_eq!(codes(&a.1, "userUpdate"), Vec::<String>::new(), "{}", a.1);
        assert_eq!(codes(&b.1, "userUpdate"), Vec::<String>::new(), "{}", b.1);
        let body = app
            .gql(
                &token,
                "query($i: ID!) { node(id: $i) { ... on User { name phoneNumber } } }",
                json!({"i": id}),
            )
            .await;
        assert_eq!(
            body["data"]["node"],
            json!({"name": name, "phoneNumber": phone}),
            "round {round}"
        );
    }
}

async fn each_mutation_field_sees_what_the_previous_one_did(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let user = gid(Kind::User, w.a.user2);
    // Three mutations in one request, run in order: the last payload reads after the revoke.
    let query = "mutation($u: ID!) {
      grant: roleAssign(input: {userId: $u, role: PHONE_MANAGER}) { roleAssignment { user { roles { role } } } }
      revoke: roleRevoke(input: {userId: $u, role: PHONE_MANAGER}) { deletedId }
      after: userUpdate(input: {id: $u, name: \"Ulf Updated\"}) { user { name roles { role } } }
    }";
    let body = app.gql(&app.support(), query, json!({"u": user})).await;
    assert_eq!(
        body["data"]["grant"]["roleAssignment"]["user"]["roles"],
        json!([{"role": "PHONE_MANAGER"}])
    );
    assert!(body["data"]["revoke"]["deletedId"].is_string(), "{body}");
    assert_eq!(
        body["data"]["after"]["user"],
        json!({"name": "Ulf Updated", "roles": []})
    );
}

backend_tests!(
    twenty_concurrent_writers_all_succeed,
    racing_on_one_extension_ends_in_one_winner,
    concurrent_updates_of_one_user_lose_nothing,
    each_mutation_field_sees_what_the_previous_one_did,
);
