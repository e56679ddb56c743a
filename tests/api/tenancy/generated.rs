//! The tenant rule T1 on every mutation and subscription of the schema (issue 16 item 3): the
//! list of operations, their ID fields and the inputs come from the schema itself
//! (`harness::tenancy_schema`), so a new mutation or a new id is checked without anyone
//! remembering it.
//!
//! For each non-Support role of the caller's account (Decision Maker, account-wide Phone Manager,
//! Phone Manager of a location, plain user), each ID field is filled in turn with an object of
//! another tenant that exists, and with a random id that never existed, every other ID being the
//! caller's own; where an operation takes several ids, also all of them at once. The two whole
//! answers (HTTP status, data and errors, messages included) must be byte-identical, refused,
//! and change nothing. Two pairs of tenants run it: MiCloud Connect (Connect for Mobile) and
//! MX-ONE (Remote Extension, platform sync), each tenant holding an object of every kind; the
//! mutations run once more from a MiCloud account that has not bought the add-on yet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::graphql::ids::Kind;
use entity::Platform;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::fake_platform::FakePlatform;
use crate::harness::remote::{id_of, provision_admin, rcall};
use crate::harness::tenancy_schema::{Field, Schema, kinds_of};
use crate::harness::ws_client::{Incoming, Proto, WsClient};
use crate::mobility::common::call as mobility_call;

/// The mutations that take no id at all: nothing of another tenant can be named in them.
const NO_ID_MUTATIONS: [&str; 1] = ["accountCreate"];

/// The objects of one tenant, one of each kind it can hold, as global ids.
type Objects = Vec<(Kind, String)>;

fn find(objects: &Objects, kind: Kind) -> Option<String> {
    objects.iter().find(|(k, _)| *k == kind).map(|(_, id)| id.clone())
}

/// The directory objects every tenant has.
fn directory_objects(t: &Tenant) -> Objects {
    vec![
        (Kind::Account, gid(Kind::Account, t.account)),
        (Kind::Location, gid(Kind::Location, t.loc1)),
        (Kind::AccessNumber, gid(Kind::AccessNumber, t.access_number)),
        (Kind::User, gid(Kind::User, t.user1)),
    ]
}

/// A tenant's webhook endpoint and a delivery to it (a ping; the plugin is off in this test).
async fn webhook_objects(app: &TestApp, t: &Tenant) -> Objects {
    let s = app.support();
    let create = "mutation($a: ID!) { webhookEndpointCreate(input: {accountId: $a, url: \"http://127.0.0.1:9/hook\"}) {
        webhookEndpoint { id } userErrors { code } } }";
    let body = app.gql(&s, create, json!({ "a": gid(Kind::Account, t.account) })).await;
    let endpoint = body["data"]["webhookEndpointCreate"]["webhookEndpoint"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let test = "mutation($i: ID!) { webhookEndpointTest(input: {id: $i}) { delivery { id } } }";
    let body = app.gql(&s, test, json!({ "i": endpoint })).await;
    let delivery = body["data"]["webhookEndpointTest"]["delivery"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    vec![(Kind::WebhookEndpoint, endpoint), (Kind::WebhookDelivery, delivery)]
}

/// An MX-ONE tenant's objects: a remote extension (`number`, unique across accounts), a status using it, a client profile, a
/// platform connection and a pending sync run (no sync runs in this process: nothing calls out).
async fn mx_objects(app: &TestApp, t: &Tenant, platform: &FakePlatform, number: &str) -> Objects {
    let s = app.support();
    let mut objects = directory_objects(t);
    let number = provision_admin(app, t.user1, number).await;
    let status = json!({ "userId": gid(Kind::User, t.user1), "name": "Fixture", "presence": "AVAILABLE",
        "remoteExtensionId": number });
    let status = id_of(&rcall(app, &s, "dynamicStatusCreate", status).await, "dynamicStatus");
    let account = gid(Kind::Account, t.account);
    let profile = json!({ "accountId": account, "name": "Fixture" });
    let profile = id_of(&rcall(app, &s, "clientProfileCreate", profile).await, "clientProfile");
    let connect = "mutation($i: PlatformConnectionSetInput!) { platformConnectionSet(input: $i) {
        userErrors { code } } }";
    let input = json!({ "accountId": account, "baseUrl": platform.url, "token": "t1-token",
        "platformAccount": "t1" });
    let body = app.gql(&s, connect, json!({ "i": input })).await;
    assert_eq!(body["data"]["platformConnectionSet"]["userErrors"], json!([]), "{body}");
    let run = "mutation($a: ID!) { platformSyncRun(input: { accountId: $a }) { syncRun { id } } }";
    let body = app.gql(&s, run, json!({ "a": account })).await;
    let run = body["data"]["platformSyncRun"]["syncRun"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    objects.extend([
        (Kind::UserNumber, number),
        (Kind::DynamicStatus, status),
        (Kind::ClientProfile, profile),
        (Kind::PlatformSyncRun, run),
    ]);
    objects.extend(webhook_objects(app, t).await);
    objects
}

/// A MiCloud Connect tenant's objects: Connect for Mobile active, user 1 enabled, and one
/// settings-change notification with its delivery to user 1.
async fn mc_objects(app: &TestApp, t: &Tenant) -> Objects {
    use entity::{mobility_notification as notification, notification_delivery as delivery};
    let s = app.support();
    let mut objects = directory_objects(t);
    activate_mobility(app, t).await;
    enable_mobility(app, t, &[(t.user1, "4001")]).await;
    let account = gid(Kind::Account, t.account);
    let on = json!({ "accountId": account, "enabled": true });
    let p = mobility_call(app, &s, "mobilityEmailNotificationSet", on).await;
    let version = p["mobility"]["settings"]["version"].clone();
    let change = json!({ "accountId": account, "expectedVersion": version, "groupName": "fixture" });
    let p = mobility_call(app, &s, "mobilitySettingsUpdate", change).await;
    assert_eq!(p["userErrors"], json!([]), "{p}");
    let db = &app.state.db;
    let n = notification::Entity::find()
        .filter(notification::Column::AccountId.eq(t.account))
        .one(db)
        .await
        .unwrap()
        .expect("the settings change queued a notification");
    let d = delivery::Entity::find()
        .filter(delivery::Column::NotificationId.eq(n.id))
        .one(db)
        .await
        .unwrap()
        .expect("the notification has a recipient");
    objects.extend([
        (Kind::MobilityUser, gid(Kind::MobilityUser, t.user1)),
        (Kind::MobilityNotification, gid(Kind::MobilityNotification, n.id)),
        (Kind::NotificationRecipient, gid(Kind::NotificationRecipient, d.id)),
    ]);
    objects.extend(webhook_objects(app, t).await);
    objects
}

/// Row counts of every business table, and the outbox: what a refused call must leave alone.
async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let tables = [
        "account",
        "location",
        "access_number",
        "app_user",
        "role_assignment",
        "mobility_account",
        "mobility_user",
        "mobility_notification",
        "notification_delivery",
        "extension_claim",
        "user_number",
        "dynamic_status",
        "remote_user",
        "client_profile",
        "platform_connection",
        "platform_sync_run",
        "webhook_endpoint",
        "webhook_delivery",
        "outbox_event",
    ];
    let mut counts = Vec::new();
    for table in tables {
        counts.push((
            table,
            count(&app.state.db, &format!("SELECT COUNT(*) AS n FROM {table}")).await,
        ));
    }
    counts
}

/// One probe of an operation: the ID at `path` (all IDs when `None`) names an object of `kind`
/// of the other tenant, or a random one; the caller's own objects fill the other IDs.
struct Case {
    path: Option<String>,
    kind: Kind,
}

/// The probes of `op`: each ID path with each kind it takes, and all of them at once.
fn cases(schema: &Schema, op: &Field) -> Vec<Case> {
    let paths = schema.id_paths(op);
    let mut out = Vec::new();
    for path in &paths {
        for kind in kinds_of(path).unwrap() {
            out.push(Case {
                path: Some(path.clone()),
                kind: *kind,
            });
        }
    }
    if paths.len() > 1 {
        out.push(Case {
            path: None,
            kind: Kind::Account,
        });
    }
    out
}

/// The variables of `op` for `case`, the probed IDs taken from `probe`.
fn variables(schema: &Schema, op: &Field, case: &Case, own: &Objects, probe: &dyn Fn(Kind) -> String) -> Value {
    let id = |path: &str| {
        let kinds = kinds_of(path).unwrap();
        match &case.path {
            Some(p) if p == path => probe(case.kind),
            Some(_) => find(own, kinds[0]).unwrap_or_else(|| gid(kinds[0], Uuid::new_v4())),
            None => probe(kinds[0]),
        }
    };
    schema.variables(op, &id)
}

fn label(op: &Field, case: &Case) -> String {
    format!(
        "{} ({} as {:?})",
        op.name,
        case.path.as_deref().unwrap_or("every id"),
        case.kind
    )
}

/// Whether an answer refuses: a top-level error, or `userErrors` in the payload.
fn refused(body: &Value, op: &str) -> bool {
    let non_empty = |v: &Value| v.as_array().is_some_and(|a| !a.is_empty());
    non_empty(&body["errors"]) || non_empty(&body["data"][op]["userErrors"])
}

/// The operations' ID paths all have a kind, and the mutations without one are the known ones.
fn check_table(schema: &Schema) {
    let mut no_id = Vec::new();
    for op in schema.mutations.iter().chain(&schema.subscriptions) {
        let paths = schema.id_paths(op);
        if paths.is_empty() {
            no_id.push(op.name.as_str());
        }
        for path in paths {
            assert!(
                kinds_of(&path).is_some(),
                "add the kind of `{path}` to the T1 table (tenancy_schema::kinds_of)"
            );
        }
    }
    assert_eq!(
        no_id, NO_ID_MUTATIONS,
        "the operations that take no id changed: update NO_ID_MUTATIONS"
    );
}

/// Every mutation, as every non-Support role of `own`'s account: another tenant's objects
/// (`theirs`) answer exactly what random ids answer, and are refused.
async fn mutations(app: &TestApp, schema: &Schema, callers: &[Uuid], own: &Objects, theirs: &Objects) {
    let random = |k: Kind| gid(k, Uuid::new_v4());
    let other = |k: Kind| find(theirs, k).unwrap_or_else(|| panic!("the other tenant needs a {k:?}"));
    for who in callers {
        let token = app.token(*who);
        for op in &schema.mutations {
            for case in cases(schema, op) {
                let (b, r) = (
                    variables(schema, op, &case, own, &other),
                    variables(schema, op, &case, own, &random),
                );
                let doc = schema.document("mutation", op, &b);
                let theirs = app.post(&token, &doc, b.clone()).await;
                let unknown = app.post(&token, &doc, r).await;
                let what = format!("{} by {who}", label(op, &case));
                assert_eq!(
                    theirs, unknown,
                    "T1: {what} must answer as for an unknown id; input {b}"
                );
                assert!(refused(&theirs.1, &op.name), "T1: {what} must be refused: {theirs:?}");
            }
        }
    }
}

/// The answer to subscription `id`: the refusal (`error`, or `next` with errors), or what
/// shows that it was accepted.
async fn answer(ws: &mut WsClient, id: &str) -> Value {
    loop {
        match ws.next(Duration::from_secs(5)).await {
            Incoming::Next { id: got, payload } if got == id => return json!({ "next": payload }),
            Incoming::Error { id: Some(got), payload } if got == id => return json!({ "error": payload }),
            // The end of an earlier refused operation.
            Incoming::Complete(got) if got != id => continue,
            other => return json!({ "accepted": format!("{other:?}") }),
        }
    }
}

/// Every subscription with an ID, over both websocket protocols: another tenant's objects are
/// refused exactly like random ids.
async fn subscriptions(app: &TestApp, schema: &Schema, callers: &[Uuid], own: &Objects, theirs: &Objects) {
    let random = |k: Kind| gid(k, Uuid::new_v4());
    let other = |k: Kind| find(theirs, k).unwrap_or_else(|| panic!("the other tenant needs a {k:?}"));
    for who in callers {
        for proto in Proto::BOTH {
            let mut ws = WsClient::ready(&app.address, proto, &app.token(*who)).await;
            for (n, op) in schema.subscriptions.iter().enumerate() {
                for (i, case) in cases(schema, op).into_iter().enumerate() {
                    let (b, r) = (
                        variables(schema, op, &case, own, &other),
                        variables(schema, op, &case, own, &random),
                    );
                    let doc = schema.document("subscription", op, &b);
                    let (b_id, r_id) = (format!("b{n}.{i}"), format!("r{n}.{i}"));
                    ws.subscribe(&b_id, &doc, b.clone()).await;
                    let theirs = answer(&mut ws, &b_id).await;
                    ws.subscribe(&r_id, &doc, r).await;
                    let unknown = answer(&mut ws, &r_id).await;
                    let what = format!("{} by {who} over {proto:?}", label(op, &case));
                    assert_eq!(theirs, unknown, "T1: {what} must be refused as an unknown id; {b}");
                    let errors = theirs.get("error").or(theirs["next"].get("errors"));
                    assert!(
                        errors.is_some_and(|e| !e.is_null()),
                        "T1: {what} must be refused: {theirs}"
                    );
                }
            }
        }
    }
}

// issue 16 item 3: T1 on every mutation and subscription, generated from the schema.
async fn t1_every_operation_answers_another_tenants_ids_as_unknown(backend: Backend) {
    let schema = Schema::load().await;
    check_table(&schema);
    // Nothing runs in the background, so the row counts move only with the calls under test.
    let app = spawn_app_with(backend, |s| {
        s.plugins.platform.enabled = false;
        s.plugins.email.enabled = false;
        s.plugins.webhooks.enabled = false;
    })
    .await;
    let platform = FakePlatform::start("t1-token").await;
    let (a_mc, b_mc) = (
        tenant(&app.state, "Alpha Cloud", Platform::MicloudConnect, 1000).await,
        tenant(&app.state, "Beta Cloud", Platform::MicloudConnect, 2000).await,
    );
    let (a_mx, b_mx) = (
        tenant(&app.state, "Gamma Nordic", Platform::MxOne, 3000).await,
        tenant(&app.state, "Delta Nordic", Platform::MxOne, 4000).await,
    );
    let (own_mc, their_mc) = (mc_objects(&app, &a_mc).await, mc_objects(&app, &b_mc).await);
    let (own_mx, their_mx) = (
        mx_objects(&app, &a_mx, &platform, "0101").await,
        mx_objects(&app, &b_mx, &platform, "0102").await,
    );
    // The other tenant of the same platform first; kinds its platform cannot hold come from
    // the other platform's tenant (as much another account).
    let theirs_for_mc: Objects = their_mc.iter().chain(&their_mx).cloned().collect();
    let theirs_for_mx: Objects = their_mx.iter().chain(&their_mc).cloned().collect();
    // A caller whose add-on is not bought yet reaches the checks after the state (the access
    // number of `mobilityActivate`).
    let fresh = tenant(&app.state, "Epsilon Cloud", Platform::MicloudConnect, 5000).await;
    let own_fresh = directory_objects(&fresh);
    let before = snapshot(&app).await;
    for (t, own, theirs) in [(&a_mc, &own_mc, &theirs_for_mc), (&a_mx, &own_mx, &theirs_for_mx)] {
        let callers = [t.dm, t.pm, t.pm_loc1, t.user1];
        mutations(&app, &schema, &callers, own, theirs).await;
        subscriptions(&app, &schema, &callers, own, theirs).await;
    }
    let callers = [fresh.dm, fresh.pm, fresh.pm_loc1, fresh.user1];
    mutations(&app, &schema, &callers, &own_fresh, &theirs_for_mc).await;
    assert_eq!(snapshot(&app).await, before, "T1: the refused calls changed nothing");
}

backend_tests!(t1_every_operation_answers_another_tenants_ids_as_unknown);
