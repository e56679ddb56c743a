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

/// Issue 17: a bulk enable's `mobilityUsers` written straight as JSON (`built::Listed`, over
/// HTTP, when the items show only what it writes) answers exactly as the same list resolved
/// field by field: aliases, `__typename`, a name that needs escaping, a missing phone number,
/// eligibility, in the client's order.
async fn a_written_list_answers_as_a_resolved_one(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let support = Principal::Support { name: "t".into() };
    let cfg = &app.state.settings.remote_extension;
    let rows = (0..4)
        .map(|i| UserFields {
            location_id: None,
            name: format!("Mo \"{i}\" \\ Ünal"),
            email: None,
            phone_number: (i % 2 == 0).then(|| format!("+1555000{i:04}")),
            extension: (10_000 + i).to_string(),
            phone_profile: PhoneProfile::Elite,
        })
        .collect();
    let users = directory::import_users(&app.state.db, &support, cfg, Some(w.a.account), rows)
        .await
        .unwrap();
    activate_mobility(&app, &w.a).await;
    let account = gid(Kind::Account, w.a.account);
    let token = app.token(w.a.dm);
    let input = |dry_run: bool| {
        let rows: Vec<Value> = (users.iter().enumerate())
            .map(|(j, u)| json!({ "userId": gid(Kind::User, u.id), "mobilityExtension": format!("{}", 50_000 + j) }))
            .collect();
        json!({ "i": { "accountId": account, "users": rows, "dryRun": dry_run } })
    };
    let items = "id name phoneNumber __typename x: extension mobilityExtension eligible n: name";
    let query = |items: &str| {
        format!(
            "mutation($i: MobilityUsersEnableInput!) {{ mobilityUsersEnable(input: $i) {{
                mobilityUsers {{ {items} }} userErrors {{ code }} }} }}"
        )
    };
    let list = |answer: &Value| answer["data"]["mobilityUsersEnable"]["mobilityUsers"].clone();
    let written = list(&app.gql(&token, &query(items), input(true)).await);
    // A nested object is not written: the list resolves field by field.
    let mut resolved = list(
        &app.gql(&token, &query(&format!("{items} user {{ id }}")), input(true))
            .await,
    );
    for item in resolved.as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("user");
    }
    assert_eq!(written.as_array().unwrap().len(), 4, "{written}");
    assert_eq!(written, resolved);
    // The keys in the client's order, as sent (a JSON object read here is sorted by key).
    let sent = (app.client.post(format!("{}/graphql", app.address)))
        .bearer_auth(&token)
        .json(&json!({ "query": query(items), "variables": input(true) }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first = &sent[sent.find("\"mobilityUsers\":[{").unwrap()..];
    let first = &first[..first.find('}').unwrap()];
    let at = |key: &str| {
        first
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {first}"))
    };
    let order = [
        "id",
        "name",
        "phoneNumber",
        "__typename",
        "x",
        "mobilityExtension",
        "eligible",
        "n",
    ];
    assert!(
        order.windows(2).all(|k| at(k[0]) < at(k[1])),
        "in the client's order: {first}"
    );
    assert_eq!(written[1]["phoneNumber"], Value::Null);
    assert_eq!(written[0]["name"], "Mo \"0\" \\ Ünal");
    // The real enable writes what the dry run showed.
    assert_eq!(list(&app.gql(&token, &query(items), input(false)).await), written);
}

backend_tests!(a_written_list_answers_as_a_resolved_one);

/// Issue 17: a `usersImport`'s `users` written straight as JSON answers as the same users
/// resolved field by field (read back through `node`, whose selection is not written).
async fn written_imported_users_answer_as_resolved_ones(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let token = app.token(w.a.dm);
    let mut rows = import_rows(0, 3);
    rows[1]["email"] = Value::Null;
    rows[2]["phoneNumber"] = Value::Null;
    rows[0]["name"] = json!("Ann \"Quoted\" \\ Ünal");
    let items = "id name email phoneNumber __typename x: extension n: name";
    let query = format!(
        "mutation($i: UsersImportInput!) {{ usersImport(input: $i) {{ users {{ {items} }} userErrors {{ code }} }} }}"
    );
    let variables = json!({ "i": { "accountId": gid(Kind::Account, w.a.account), "users": rows } });
    let answer = app.gql(&token, &query, variables).await;
    let written = answer["data"]["usersImport"]["users"].as_array().unwrap().clone();
    assert_eq!(written.len(), 3, "{answer}");
    assert_eq!(written[0]["name"], "Ann \"Quoted\" \\ Ünal");
    assert_eq!(written[1]["email"], Value::Null);
    assert_eq!(written[2]["phoneNumber"], Value::Null);
    for user in &written {
        let read = format!("query($id: ID!) {{ node(id: $id) {{ ... on User {{ {items} }} }} }}");
        let resolved = app.gql(&token, &read, json!({ "id": user["id"] })).await;
        assert_eq!(&resolved["data"]["node"], user);
    }
}

backend_tests!(written_imported_users_answer_as_resolved_ones);
