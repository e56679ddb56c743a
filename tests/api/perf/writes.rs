//! Bulk writes by design: a `usersImport` or `mobilityUsersEnable` runs the same few SQL
//! statements for 10 rows as for 1,000 (issue 17; the times are `cargo bench --bench writes`'s).

#![allow(clippy::unwrap_used)]

use api::{
    graphql::ids::Kind,
    policy::Principal,
    service::directory::{self, UserFields},
};
use entity::PhoneProfile;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

/// No plugins or subscriptions (their background statements would run through the counted
/// pool), and time for a 1,000-row write on a loaded machine.
fn counting(s: &mut api::config::Settings) {
    quiet(s);
    s.limits.request_timeout_ms = 120_000;
}

const IMPORT: &str =
    "mutation($i: UsersImportInput!) { usersImport(input: $i) { users { id name extension } userErrors { code } } }";
const ENABLE: &str = "mutation($i: MobilityUsersEnableInput!) { mobilityUsersEnable(input: $i) {
    mobilityUsers { id mobilityExtension } userErrors { code } } }";

/// The statements `query` ran, and its answer's `field.list` length.
async fn statements_for(app: &TestApp, token: &str, query: &str, variables: Value, path: [&str; 2]) -> (u64, usize) {
    let (n, body) = app.counted(token, query, variables).await;
    assert_eq!(body["data"][path[0]]["userErrors"], json!([]), "{body}");
    (n, body["data"][path[0]][path[1]].as_array().unwrap().len())
}

fn import_rows(from: usize, n: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            json!({
                "name": format!("Bulk Person {i:04}"),
                "email": format!("bulk.{i:04}@example.com"),
                "phoneNumber": format!("+1555{i:07}"),
                "extension": format!("{}", 30_000 + i),
                "phoneProfile": "PREMIER",
            })
        })
        .collect()
}

/// Issue 17: an import of 1,000 users runs as many statements as one of 10 — on MiCloud Connect
/// and on MX-ONE, where each new user also gets their Remote Extension record and statuses.
async fn import_statements_do_not_grow_with_rows(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    for (t, from) in [(&w.a, 0), (&w.b, 2000)] {
        let account = gid(Kind::Account, t.account);
        let token = app.token(t.dm);
        let import = |from, n| json!({ "i": { "accountId": account, "users": import_rows(from, n) } });
        let path = ["usersImport", "users"];
        let (few, n) = statements_for(&app, &token, IMPORT, import(from, 10), path).await;
        assert_eq!(n, 10);
        let (many, n) = statements_for(&app, &token, IMPORT, import(from + 10, 1000), path).await;
        assert_eq!(n, 1000);
        assert_eq!(few, many, "1,000 rows run as many statements as 10");
        assert!(few <= 12, "a handful of statements per import, not one per row: {few}");
    }
}

backend_tests!(import_statements_do_not_grow_with_rows);

/// Issue 17: enabling 1,000 users runs as many statements as enabling 10.
async fn enable_statements_do_not_grow_with_rows(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let support = Principal::Support { name: "t".into() };
    let cfg = &app.state.settings.remote_extension;
    let mut users = Vec::new();
    for (from, n) in [(0, 10), (10, 1000)] {
        let rows = (from..from + n)
            .map(|i| UserFields {
                location_id: None,
                name: format!("Mobile {i:04}"),
                email: None,
                phone_number: None,
                extension: (10_000 + i).to_string(),
                phone_profile: PhoneProfile::Elite,
            })
            .collect();
        let db = &app.state.db;
        users.extend(
            directory::import_users(db, &support, cfg, Some(w.a.account), rows)
                .await
                .unwrap(),
        );
    }
    activate_mobility(&app, &w.a).await;
    let account = gid(Kind::Account, w.a.account);
    let token = app.token(w.a.dm);
    let enable = |users: &[entity::user::Model], from: usize| {
        let rows: Vec<Value> = (users.iter().enumerate())
            .map(|(j, u)| json!({ "userId": gid(Kind::User, u.id), "mobilityExtension": format!("{}", 50_000 + from + j) }))
            .collect();
        json!({ "i": { "accountId": account, "users": rows } })
    };
    let path = ["mobilityUsersEnable", "mobilityUsers"];
    let (few, n) = statements_for(&app, &token, ENABLE, enable(&users[..10], 0), path).await;
    assert_eq!(n, 10);
    let (many, n) = statements_for(&app, &token, ENABLE, enable(&users[10..], 10), path).await;
    assert_eq!(n, 1000);
    assert_eq!(few, many, "1,000 rows run as many statements as 10");
    assert!(few <= 12, "a handful of statements per enable, not one per row: {few}");
}

backend_tests!(enable_statements_do_not_grow_with_rows);
