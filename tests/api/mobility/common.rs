//! Shared by the Connect for Mobile tests: each mobility mutation through the API with its
//! payload's selection, the `userErrors` of a payload, `Account.mobility` read back, the row
//! counts a refusal must leave alone and the events recorded since a point of the outbox.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::app::*;

const READ: &str = "query($a: ID!) { account(id: $a) { mobility { available state settings {
    mobilityRouter groupName voicemailAccessNumber accessNumber { id number } reverseDialNumber
    handoverNumber sendEmailNotification version updatedBy { kind name } }
    defaults { reverseDialNumber handoverNumber voicemailAccessNumber } } } }";

/// What each mobility mutation's payload is read with.
fn selection(mutation: &str) -> &'static str {
    match mutation {
        "mobilityUsersEnable" => "dryRun mobilityUsers { id mobilityExtension enabledBy { kind } user { id } }",
        "mobilityUserUpdate" => "mobilityUser { id mobilityExtension }",
        "mobilityUsersDisable" => "users { id }",
        _ => "mobility { state settings { version } }",
    }
}

/// Runs `mutation(input: $i)` as `token` and returns its payload (no top-level error allowed).
pub async fn call(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let input_type = format!("{}{}Input", mutation[..1].to_uppercase(), &mutation[1..]);
    let query = format!(
        "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ {} userErrors {{ field message code }} }} }}",
        selection(mutation)
    );
    let body = app.gql(token, &query, json!({ "i": input })).await;
    assert!(body["errors"].is_null(), "{mutation} {input}: {body}");
    body["data"][mutation].clone()
}

/// The `(field, code)` pairs of a payload's `userErrors`.
pub fn errors(payload: &Value) -> Vec<(Value, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

/// The codes of a payload's `userErrors`.
pub fn codes_of(payload: &Value) -> Vec<String> {
    errors(payload).into_iter().map(|(_, c)| c).collect()
}

/// `Account.mobility` as `token` reads it.
pub async fn read(app: &TestApp, token: &str, account: Uuid) -> Value {
    let body = app.gql(token, READ, json!({ "a": gid(Kind::Account, account) })).await;
    body["data"]["account"]["mobility"].clone()
}

/// Row counts of the mobility tables and the outbox: what a refusal must leave alone.
pub async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "mobility_account",
        "mobility_user",
        "mobility_notification",
        "notification_delivery",
        "extension_claim",
        "app_user",
        "outbox_event",
    ] {
        counts.push(count(&app.state.db, &format!("SELECT COUNT(*) AS n FROM {table}")).await);
    }
    counts
}

pub fn enable_input(t: &Tenant, rows: &[(Uuid, &str)]) -> Value {
    let users: Vec<Value> = rows
        .iter()
        .map(|(id, x)| json!({ "userId": gid(Kind::User, *id), "mobilityExtension": x }))
        .collect();
    json!({ "accountId": gid(Kind::Account, t.account), "users": users })
}

/// Event types recorded after `from` rows of the outbox.
pub async fn events_since(app: &TestApp, from: i64) -> Vec<String> {
    app.outbox_types().await.split_off(from as usize)
}
