//! Remote Extension under concurrent requests, on SQLite and PostgreSQL: fifty activations of
//! one user's statuses at once leave exactly one active status, switched atomically one after
//! the other (R9), and fifty users adding the same remote-extension number at once leave it with
//! exactly one of them, every other request answered `NUMBER_IN_USE_ELSEWHERE` (R4). Neither race
//! may end in a top-level or internal error (SPEC §6, STYLE: races end as clean conflicts).
//!
//! The test helpers raise the rate limit (`limits.rate_limit_*`, default 50/s with a burst of
//! 100) to 10 000 for every test, so fifty requests from one token are never `RATE_LIMITED`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use api::{
    graphql::ids::{self, Kind},
    policy::Principal,
    service::directory::{self, UserFields},
};
use entity::{PhoneProfile, remote_user, user_number};
use futures::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

/// How many requests race in each test.
const RACERS: usize = 50;

const ACTIVATE: &str = "mutation($i: DynamicStatusActivateInput!) {
  dynamicStatusActivate(input: $i) { dynamicStatus { id isActive } userErrors { field code } } }";

const CREATE_NUMBER: &str = "mutation($i: UserNumberCreateInput!) {
  userNumberCreate(input: $i) { userNumber { id number user { id } } userErrors { field code } } }";

/// More database connections than the tests' default 5, so that more of the racing transactions
/// are open at once; and room for `read_user`, whose full page of numbers with every field is
/// above the default `limits.max_complexity` (1000).
fn race_settings(s: &mut api::config::Settings) {
    s.database_max_connections = 20;
    s.limits.max_complexity = 5_000;
}

/// The payload of `field` in a raced response: HTTP 200 and no top-level error, whatever the
/// outcome.
fn raced_payload(status: u16, body: &Value, field: &str) -> Value {
    assert_eq!(status, 200, "a race is never an HTTP failure: {body}");
    assert!(
        body["errors"].is_null(),
        "a race is never a top-level or internal error: {body}"
    );
    body["data"][field].clone()
}

/// A global id's uuid as a string, the way outbox payloads hold it.
fn raw(global: &str) -> String {
    ids::decode(global)
        .unwrap_or_else(|| panic!("not a global id: {global}"))
        .1
        .to_string()
}

/// R9: fifty parallel `dynamicStatusActivate` calls on fifty different statuses of one user.
async fn fifty_parallel_activations_leave_one_active(backend: Backend) {
    let app = spawn_app_with(backend, race_settings).await;
    let w = RemoteWorld::build(&app).await;
    let user = w.c.user1;
    let token = app.token(user);
    let dm = app.token(w.c.dm);
    let re = provision_admin(&app, user, "0700100").await;

    // Six default statuses and 45 of the user's own (every other one with the remote
    // extension, so the active remote extension moves too): 51, of which 50 are not active.
    for i in 0..45 {
        let mut input = json!({ "name": format!("Status {i}"), "presence": "AVAILABLE" });
        if i % 2 == 1 {
            input["remoteExtensionId"] = json!(re);
        }
        id_of(
            &rcall(&app, &token, "dynamicStatusCreate", input).await,
            "dynamicStatus",
        );
    }
    let before = read_user(&app, &token, user).await;
    let initial = before["activeStatus"]["id"].as_str().unwrap().to_owned();
    let targets: Vec<String> = before["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .filter(|id| *id != initial)
        .collect();
    assert_eq!(targets.len(), RACERS, "{before}");
    let head = outbox_head(&app).await;

    // The user switches, and now and then their Decision Maker does (R12), all at once.
    let calls = targets.iter().enumerate().map(|(i, id)| {
        let who = if i % 5 == 0 { &dm } else { &token };
        app.post(who, ACTIVATE, json!({ "i": { "id": id } }))
    });
    let results: Vec<(u16, Value)> = join_all(calls).await;
    let mut switched = Vec::new();
    for ((status, body), id) in results.iter().zip(&targets) {
        let payload = raced_payload(*status, body, "dynamicStatusActivate");
        let codes = rcodes(&payload);
        assert!(
            codes.is_empty(),
            "no rule refuses activating one of the user's own statuses, race or not (R9): {body}"
        );
        assert_eq!(payload["dynamicStatus"]["id"], json!(id), "{body}");
        switched.push(id.clone());
    }

    // Exactly one active status, the same in every view of it.
    let after = read_user(&app, &token, user).await;
    let active: Vec<&Value> = after["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["isActive"] == json!(true))
        .collect();
    assert_eq!(active.len(), 1, "exactly one active status (R9): {after}");
    let final_id = active[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(after["activeStatus"]["id"], json!(final_id), "{after}");
    let expected_re = &status_in(&after, &final_id)["remoteExtension"]["id"];
    assert_eq!(
        &after["activeRemoteExtension"]["id"], expected_re,
        "the active remote extension is the active status's (R9): {after}"
    );
    let record = remote_user::Entity::find_by_id(user)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let column = record.active_status_id.expect("an active status is stored");
    assert_eq!(gid(Kind::DynamicStatus, column), final_id);
    let row = entity::dynamic_status::Entity::find_by_id(column)
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("remote_user.active_status_id names a status");
    assert_eq!(row.user_id, user, "the active status is one of the user's own");

    // One event per switch, chained: each names the status the one before it made active, so
    // no switch was lost or interleaved with another (R9, E1).
    let events = events_since(&app, head).await;
    assert!(
        events.iter().all(|(t, _)| t == "active_status.changed"),
        "activations record only active_status.changed: {events:?}"
    );
    assert_eq!(events.len(), switched.len(), "one event per successful switch");
    let mut previous = raw(&initial);
    let mut seen = HashSet::new();
    for (_, payload) in &events {
        assert_eq!(payload["previousStatusId"], json!(previous), "{payload}");
        let now = payload["activeStatusId"].as_str().unwrap().to_owned();
        let global = gid(Kind::DynamicStatus, Uuid::parse_str(&now).unwrap());
        let status_re = status_in(&after, &global)["remoteExtension"]["id"].clone();
        let expected = status_re.as_str().map(raw);
        assert_eq!(payload["activeRemoteExtensionId"], json!(expected), "{payload}");
        assert!(seen.insert(now.clone()), "each status was made active once: {payload}");
        previous = now;
    }
    assert_eq!(previous, raw(&final_id), "the last event names the final active status");
    let wanted: HashSet<String> = switched.iter().map(|g| raw(g)).collect();
    assert_eq!(seen, wanted, "the events name exactly the statuses switched to");
}

/// R4: fifty users (two MX-ONE accounts) add the same remote-extension number at once.
async fn fifty_parallel_creates_of_one_remote_extension_number(backend: Backend) {
    let app = spawn_app_with(backend, race_settings).await;
    let w = RemoteWorld::build(&app).await;
    let s = Principal::Support { name: "fixture".into() };
    let mut users = Vec::new();
    for (t, base) in [(&w.c, 3100), (&w.d, 4100)] {
        users.extend([t.dm, t.pm, t.pm_loc1, t.user1, t.user2]);
        let rows = (0..20)
            .map(|i| UserFields {
                location_id: Some(api::service::GivenId::Key(t.loc2)),
                name: format!("Racer {base} {i}"),
                email: None,
                phone_number: None,
                extension: (base + i).to_string(),
                phone_profile: PhoneProfile::Essentials,
            })
            .collect();
        let created = directory::import_users(
            &app.state.db,
            &s,
            &app.state.settings.remote_extension,
            Some(t.account),
            rows,
        )
        .await
        .unwrap();
        users.extend(created.iter().map(|u| u.id));
    }
    assert_eq!(users.len(), RACERS);
    // R2: each may add remote extensions of their own once an admin has provisioned one.
    for (i, user) in users.iter().enumerate() {
        provision_admin(&app, *user, &format!("07{i:05}")).await;
    }
    let tokens: Vec<String> = users.iter().map(|u| app.token(*u)).collect();
    // The race on PostgreSQL ends either in the pre-check or on the unique index, depending on
    // timing; a few rounds (other numbers, other labels) make the index path likely to be taken.
    for (round, number) in ["09818123456", "09818123457", "09818123458"].into_iter().enumerate() {
        let label = ["Home", "Home 2", "Home 3"][round];
        race_for_number(&app, &users, &tokens, number, label).await;
    }
}

/// All `users` add `number` at once: one wins, the rest hear `NUMBER_IN_USE_ELSEWHERE` (R4).
async fn race_for_number(app: &TestApp, users: &[Uuid], tokens: &[String], number: &str, label: &str) {
    let head = outbox_head(app).await;
    let input = json!({ "i": { "number": number, "isRemoteExtension": true, "label": label } });
    let calls = tokens.iter().map(|t| app.post(t, CREATE_NUMBER, input.clone()));
    let results: Vec<(u16, Value)> = join_all(calls).await;
    let mut winners = Vec::new();
    for ((status, body), user) in results.iter().zip(users) {
        let payload = raced_payload(*status, body, "userNumberCreate");
        match rcodes(&payload).as_slice() {
            [] => {
                assert_eq!(payload["userNumber"]["number"], json!(number), "{body}");
                assert_eq!(
                    payload["userNumber"]["user"]["id"],
                    json!(gid(Kind::User, *user)),
                    "{body}"
                );
                winners.push(*user);
            }
            [code] => {
                assert_eq!(code, "NUMBER_IN_USE_ELSEWHERE", "R4 {number}: {body}");
                assert!(payload["userNumber"].is_null(), "{body}");
            }
            other => panic!("one error per refusal, got {other:?}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one user gets {number} (R4)");

    let rows = user_number::Entity::find()
        .filter(user_number::Column::Number.eq(number))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one row holds the number: {rows:?}");
    assert_eq!(rows[0].user_id, winners[0]);
    assert!(rows[0].is_remote_extension);

    // Refusals record nothing (E1): the winner's event is the only one.
    let events = events_since(app, head).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "user_number.created");
    assert_eq!(events[0].1["number"], json!(number));
    assert_eq!(events[0].1["userId"], json!(winners[0]));
}

backend_tests!(
    fifty_parallel_activations_leave_one_active,
    fifty_parallel_creates_of_one_remote_extension_number,
);
