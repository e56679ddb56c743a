//! Shared helpers of the Remote Extension tests: two MX-ONE tenants, the mutations through the
//! API with one selection each, a user's numbers and statuses read back, and the table counts a
//! refusal must leave alone.

#![allow(clippy::unwrap_used, dead_code)]

use api::{
    graphql::ids::Kind,
    policy::Principal,
    service::remote::{self, NumberInput},
};
use entity::{NumberOrigin, Platform};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::app::*;

/// Two MX-ONE tenants (C and D) and one on MiCloud Connect (M).
pub struct RemoteWorld {
    pub c: Tenant,
    pub d: Tenant,
    pub m: Tenant,
}

impl RemoteWorld {
    pub async fn build(app: &TestApp) -> RemoteWorld {
        RemoteWorld {
            c: tenant(&app.state, "Gamma Nordic", Platform::MxOne, 3000).await,
            d: tenant(&app.state, "Delta Nordic", Platform::MxOne, 4000).await,
            m: tenant(&app.state, "Mu Cloud", Platform::MicloudConnect, 5000).await,
        }
    }
}

/// What each Remote Extension mutation's payload is read with.
pub fn selection(mutation: &str) -> &'static str {
    match mutation {
        "userNumberCreate" | "userNumberUpdate" => {
            "userNumber { id label number isRemoteExtension origin callThrough callThroughEffective
             callThroughInactiveReason locked lockReasons deletable createdBy { kind } user { id } }"
        }
        "dynamicStatusCreate" | "dynamicStatusUpdate" | "dynamicStatusActivate" => {
            "dynamicStatus { id name presence message origin isActive editable version
             remoteExtension { id number }
             callUsing { kind number { id } } sendCallsTo { kind number { id } }
             whenBusy { kind number { id } } ifNoAnswer { kind number { id } }
             user { id activeRemoteExtension { id } activeStatus { id } } }"
        }
        "userNumberDelete" | "dynamicStatusDelete" => "deletedId",
        "clientProfileCreate" | "clientProfileUpdate" => {
            "clientProfile { id name isDefault allowUsersAddStatus callThroughAllowed }"
        }
        "userClientProfileSet" => "user { id clientProfile { id } } clientProfile { id name }",
        "dynamicStatusScheduleSet" => {
            "dynamicStatus { id version schedule { rules { days start end holidays } exceptions isFallback } }"
        }
        "userTimeZoneSet" => "user { id timeZone }",
        "accountTimeZoneSet" => "account { id timeZone }",
        "accountHolidaysSet" => "account { id holidays { date name } }",
        other => panic!("no selection for {other}"),
    }
}

/// Runs `mutation(input: $i)` as `token`; returns its payload (no top-level error allowed).
pub async fn rcall(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let input_type = format!("{}{}Input", mutation[..1].to_uppercase(), &mutation[1..]);
    let query = format!(
        "mutation($i: {input_type}!) {{ {mutation}(input: $i) {{ {} userErrors {{ field message code }} }} }}",
        selection(mutation)
    );
    let body = app.gql(token, &query, json!({ "i": input })).await;
    assert!(body["errors"].is_null(), "{mutation} {input}: {body}");
    body["data"][mutation].clone()
}

/// The codes of a payload's `userErrors`.
pub fn rcodes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The id (global) of the object a payload returned under `field`, which must be there.
pub fn id_of(payload: &Value, field: &str) -> String {
    assert!(rcodes(payload).is_empty(), "expected success: {payload}");
    payload[field]["id"].as_str().unwrap().to_owned()
}

const USER_READ: &str = "query($u: ID!) { node(id: $u) { ... on User {
    id canAddRemoteExtension canAddStatus
    clientProfile { id name allowUsersAddStatus callThroughAllowed }
    numbers(first: 30) { totalCount nodes { id label number isRemoteExtension origin callThrough
        callThroughEffective callThroughInactiveReason locked lockReasons deletable } }
    dynamicStatuses { id name presence message origin isActive version remoteExtension { id }
        callUsing { kind number { id } } sendCallsTo { kind number { id } }
        whenBusy { kind number { id } } ifNoAnswer { kind number { id } } }
    activeStatus { id name }
    activeRemoteExtension { id number } } } }";

/// User `user` as `token` reads it (`null` when not visible).
pub async fn read_user(app: &TestApp, token: &str, user: Uuid) -> Value {
    let body = app.gql(token, USER_READ, json!({ "u": gid(Kind::User, user) })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["node"].clone()
}

/// The number of `user` (as read back) with global id `id`.
pub fn number_in(read: &Value, id: &str) -> Value {
    read["numbers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The status of `user` (as read back) with global id `id`.
pub fn status_in(read: &Value, id: &str) -> Value {
    read["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Provisions a remote extension for `user` as Support (origin `ADMIN`) through the service;
/// returns its global id.
pub async fn provision_admin(app: &TestApp, user: Uuid, number: &str) -> String {
    let s = Principal::Support { name: "fixture".into() };
    let input = NumberInput {
        label: None,
        number: number.into(),
        is_remote_extension: true,
        call_through: false,
        origin: Some(NumberOrigin::Admin),
        ringing: Default::default(),
    };
    let n = remote::create_number(
        &app.state.db,
        &s,
        &app.state.settings.remote_extension,
        Some(api::service::GivenId::Key(user)),
        input,
    )
    .await
    .unwrap();
    gid(Kind::UserNumber, n.id)
}

/// Provisions a remote extension for `user` the way the platform sync will (origin `PLATFORM`);
/// returns its global id.
pub async fn provision_platform(app: &TestApp, user: Uuid, number: &str) -> String {
    let s = Principal::Support {
        name: "platform-sync".into(),
    };
    let n = remote::provision_platform_number(
        &app.state.db,
        &s,
        &app.state.settings.remote_extension,
        user,
        number,
        None,
    )
    .await
    .unwrap();
    gid(Kind::UserNumber, n.id)
}

/// Row counts of the Remote Extension tables and the outbox: what a refusal must leave alone.
pub async fn rsnapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "user_number",
        "dynamic_status",
        "remote_user",
        "client_profile",
        "outbox_event",
    ] {
        counts.push(count(&app.state.db, &format!("SELECT COUNT(*) AS n FROM {table}")).await);
    }
    counts
}

/// The outbox rows after position `after`: `(event type, payload)`, in log order.
pub async fn events_since(app: &TestApp, after: i64) -> Vec<(String, Value)> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::Position.gt(after))
        .order_by_asc(entity::outbox_event::Column::Position)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event_type, e.payload))
        .collect()
}

/// The last outbox position (0 when empty).
pub async fn outbox_head(app: &TestApp) -> i64 {
    count(
        &app.state.db,
        "SELECT COALESCE(MAX(position), 0) AS n FROM outbox_event",
    )
    .await
}

/// `userNumberCreate` input for one's own number.
pub fn number(n: &str, re: bool, label: &str) -> Value {
    json!({ "number": n, "isRemoteExtension": re, "label": label })
}

/// The event types (in order) recorded after `head`.
pub async fn types_since(app: &TestApp, head: i64) -> Vec<String> {
    events_since(app, head).await.into_iter().map(|(t, _)| t).collect()
}

/// A refused call: its codes are `expected`, and no table or outbox row changed.
pub async fn refused(app: &TestApp, token: &str, mutation: &str, input: Value, expected: &str) {
    let before = rsnapshot(app).await;
    let payload = rcall(app, token, mutation, input.clone()).await;
    assert_eq!(rcodes(&payload), vec![expected], "{mutation} {input}: {payload}");
    assert_eq!(rsnapshot(app).await, before, "{mutation} {input} changed nothing");
}
