//! Live subscriptions over real websockets (SPEC E4, E1, T1): both protocols, the token checks,
//! expiry, role revocation, limits, slow consumers, rollbacks, and each subscription's events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::{graphql::ids::Kind, live::Topic, policy::Principal, service::sync};
use entity::SyncRunState;
use sea_orm::{ActiveValue::Set, ConnectionTrait, IntoActiveModel, TransactionTrait};
use serde_json::json;

use crate::{
    backend_tests,
    harness::{
        app::*,
        remote::*,
        ws_client::{Incoming, Proto, WsClient},
    },
};

const ACTIVE: &str = "subscription($u: ID) { activeStatusChanged(userId: $u) {
    eventId occurredAt changedBy { kind }
    user { id } activeStatus { id name isActive } activeRemoteExtension { id number } previousStatusId } }";

const NUMBERS: &str = "subscription($u: ID) { userNumbersChanged(userId: $u) {
    change deletedId user { id } userNumber { id label number ringDelaySeconds requireKeypress }
    dynamicStatus { id name } } }";

const MOBILITY: &str = "subscription($a: ID!) { mobilityChanged(accountId: $a) {
    change account { id } mobility { state settings { handoverNumber } }
    mobilityUsers { mobilityExtension user { id } } disabledUserIds } }";

const SYNC: &str = "subscription($a: ID!) { platformSyncRunUpdated(accountId: $a) {
    id state created errors version } }";

const SILENCE: Duration = Duration::from_millis(1500);

/// The global id of `user`'s status called `name`.
async fn status_named(app: &TestApp, user: uuid::Uuid, name: &str) -> String {
    let read = read_user(app, &app.support(), user).await;
    read["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no status {name}: {read}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A status of `user` named `name` routed to a new admin remote extension `number`.
async fn status_with_number(
    app: &TestApp,
    token: &str,
    user: uuid::Uuid,
    number: &str,
    name: &str,
) -> (String, String) {
    let re = provision_admin(app, user, number).await;
    let status = id_of(
        &rcall(
            app,
            token,
            "dynamicStatusCreate",
            json!({ "name": name, "presence": "AWAY", "remoteExtensionId": re }),
        )
        .await,
        "dynamicStatus",
    );
    (status, re)
}

// E4: a subscriber sees its own user's status change, with the new active remote extension, on
// both protocols; the legacy one too; keep-alives arrive.
async fn e4_a_user_sees_their_own_status_change_on_both_protocols(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.subscriptions.keepalive_seconds = 1).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let (road, re) = status_with_number(&app, &token, w.c.user1, "0701110004", "On the road").await;
    let available = status_named(&app, w.c.user1, "Available").await;
    app.quiesce().await;
    for (proto, target, previous) in [
        (Proto::TransportWs, road.as_str(), available.as_str()),
        (Proto::Legacy, available.as_str(), road.as_str()),
    ] {
        let mut ws = WsClient::ready(&app.address, proto, &token).await;
        ws.subscribe("s1", ACTIVE, json!({})).await;
        app.watching(Topic::ActiveStatus(w.c.user1), 1).await;
        let r = rcall(&app, &token, "dynamicStatusActivate", json!({ "id": target })).await;
        assert!(rcodes(&r).is_empty(), "{r}");
        let e = ws.event("s1").await["activeStatusChanged"].clone();
        assert_eq!(e["user"]["id"], gid(Kind::User, w.c.user1));
        assert_eq!(e["activeStatus"]["id"], target, "{proto:?}: {e}");
        assert_eq!(e["activeStatus"]["isActive"], true);
        assert_eq!(e["previousStatusId"], previous);
        assert_eq!(e["changedBy"]["kind"], "USER");
        if target == road {
            assert_eq!(e["activeRemoteExtension"]["id"], re.as_str());
            assert_eq!(e["activeRemoteExtension"]["number"], "0701110004");
        } else {
            assert!(e["activeRemoteExtension"].is_null(), "{e}");
        }
        // Nothing else was committed: nothing else arrives.
        assert_eq!(ws.next(SILENCE).await, Incoming::Silence);
        assert!(ws.keepalives >= 1, "{proto:?}: a keep-alive within the silence");
        drop(ws);
        app.watching(Topic::ActiveStatus(w.c.user1), 0).await;
    }
}

// T1 and the role table: a user cannot subscribe to another user's statuses, nor to another
// account; another account's ids are refused exactly like unknown ones.
async fn t1_subscriptions_refuse_other_users_and_accounts_like_unknown_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &app.token(w.c.user1)).await;
    let unknown_user = gid(Kind::User, uuid::Uuid::now_v7());
    let unknown_account = gid(Kind::Account, uuid::Uuid::now_v7());
    let cases = [
        (ACTIVE, json!({"u": gid(Kind::User, w.c.user2)}), "NOT_FOUND"),
        (NUMBERS, json!({"u": gid(Kind::User, w.c.dm)}), "NOT_FOUND"),
        (ACTIVE, json!({"u": gid(Kind::User, w.d.user1)}), "NOT_FOUND"),
        (ACTIVE, json!({"u": unknown_user}), "NOT_FOUND"),
        (ACTIVE, json!({"u": "garbage"}), "NOT_FOUND"),
        (MOBILITY, json!({"a": gid(Kind::Account, w.d.account)}), "NOT_FOUND"),
        (MOBILITY, json!({"a": unknown_account}), "NOT_FOUND"),
        (SYNC, json!({"a": gid(Kind::Account, w.d.account)}), "NOT_FOUND"),
        (SYNC, json!({"a": gid(Kind::Account, w.c.account)}), "FORBIDDEN"),
    ];
    let mut answers = Vec::new();
    for (i, (query, vars, code)) in cases.iter().enumerate() {
        let id = format!("r{i}");
        ws.subscribe(&id, query, vars.clone()).await;
        let payload = match ws.next(Duration::from_secs(10)).await {
            Incoming::Next { payload, .. } => payload,
            other => panic!("case {i}: expected a refusal, got {other:?}"),
        };
        assert_eq!(ws.next(Duration::from_secs(5)).await, Incoming::Complete(id.clone()));
        let codes: Vec<_> = payload["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["extensions"]["code"].clone())
            .collect();
        assert_eq!(codes, vec![json!(code)], "case {i}: {payload}");
        assert!(payload["data"].is_null(), "case {i}: no data: {payload}");
        answers.push(payload);
    }
    // Another tenant's user and an unknown id get the very same answer.
    assert_eq!(answers[2], answers[3]);
    assert_eq!(answers[5], answers[6]);
    // A refusal says who may.
    assert_eq!(
        answers[8]["errors"][0]["message"],
        "only Support, a Decision Maker or an account-wide Phone Manager of the account may watch the account's sync \
         runs"
    );
    // A location Phone Manager may watch a user of their location, not one of another.
    let mut pm = WsClient::ready(&app.address, Proto::TransportWs, &app.token(w.c.pm_loc1)).await;
    pm.subscribe("ok", ACTIVE, json!({"u": gid(Kind::User, w.c.user1)}))
        .await;
    pm.subscribe("no", ACTIVE, json!({"u": gid(Kind::User, w.c.user2)}))
        .await;
    assert_eq!(pm.refusal("no").await, vec!["NOT_FOUND"]);
    assert_eq!(pm.next(Duration::from_secs(5)).await, Incoming::Complete("no".into()));
    assert_eq!(pm.next(SILENCE).await, Incoming::Silence, "the allowed one stays open");
}

// A bad or missing token never receives data: the socket closes with 4403 before anything
// runs; an operation before the handshake closes with 4401.
async fn e4_a_bad_or_missing_token_never_receives_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let good = app.token(w.c.user1);
    let forged = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[2] = parts[2].chars().rev().collect();
        parts.join(".")
    };
    for proto in Proto::BOTH {
        for token in [None, Some("not-a-jwt"), Some(forged.as_str())] {
            let mut ws = WsClient::connect(&app.address, proto).await;
            ws.init(token).await;
            ws.subscribe("s1", ACTIVE, json!({})).await;
            if proto == Proto::Legacy {
                match ws.next(Duration::from_secs(10)).await {
                    Incoming::Error { id: None, .. } => {}
                    other => panic!("legacy: expected connection_error, got {other:?}"),
                }
            }
            let (code, reason) = ws.closed(Duration::from_secs(10)).await;
            assert_eq!(code, 4403, "{proto:?} {token:?}: {reason}");
        }
    }
    // graphql-transport-ws: subscribing before connection_init is 4401.
    let mut ws = WsClient::connect(&app.address, Proto::TransportWs).await;
    ws.subscribe("early", ACTIVE, json!({})).await;
    assert_eq!(ws.closed(Duration::from_secs(10)).await.0, 4401);
    // No connection_init at all: 4408 after the timeout.
    let app2 = spawn_app_with(Backend::Sqlite, |s| s.subscriptions.init_timeout_seconds = 1).await;
    let mut ws = WsClient::connect(&app2.address, Proto::TransportWs).await;
    assert_eq!(ws.closed(Duration::from_secs(10)).await.0, 4408);
}

// The socket closes when the token expires.
async fn e4_the_socket_closes_when_the_token_expires(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let short = app.state.tokens.mint_user(w.c.user1, 2).unwrap();
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &short).await;
    ws.subscribe("s1", ACTIVE, json!({})).await;
    let (code, reason) = ws.closed(Duration::from_secs(10)).await;
    assert_eq!((code, reason.as_str()), (4403, "Forbidden: token expired"));
}

// A revoked role takes effect: the holder's sockets close, and reconnecting brings the current
// rights (the Phone Manager may no longer watch the user).
async fn e4_a_revoked_role_closes_the_holders_sockets(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let pm = app.token(w.c.pm);
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &pm).await;
    ws.subscribe("s1", ACTIVE, json!({"u": gid(Kind::User, w.c.user1)}))
        .await;
    app.watching(Topic::ActiveStatus(w.c.user1), 1).await;
    app.watching(Topic::Roles(w.c.pm), 1).await;
    let body = app
        .gql(
            &app.support(),
            "mutation($u: ID!) { roleRevoke(input: {userId: $u, role: PHONE_MANAGER}) { deletedId userErrors { code } } }",
            json!({"u": gid(Kind::User, w.c.pm)}),
        )
        .await;
    assert!(body["data"]["roleRevoke"]["deletedId"].is_string(), "{body}");
    let (code, reason) = ws.closed(Duration::from_secs(10)).await;
    assert_eq!(code, 4403, "{reason}");
    let mut again = WsClient::ready(&app.address, Proto::TransportWs, &pm).await;
    again
        .subscribe("s2", ACTIVE, json!({"u": gid(Kind::User, w.c.user1)}))
        .await;
    assert_eq!(again.refusal("s2").await, vec!["NOT_FOUND"]);
}

// E1: a rolled-back mutation produces no event; the next committed one is the first to arrive.
async fn e1_a_rolled_back_mutation_produces_no_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let (road, _) = status_with_number(&app, &token, w.c.user1, "0701110004", "On the road").await;
    let busy = status_named(&app, w.c.user1, "Busy").await;
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    ws.subscribe("s1", NUMBERS, json!({})).await;
    app.watching(Topic::UserNumbers(w.c.user1), 1).await;

    // A change written and then rolled back (the way a failed request's transaction ends).
    let db = &app.state.db;
    let txn = db.begin().await.unwrap();
    let p = Principal::Support { name: "fixture".into() };
    let run = sync::create_run(&txn, &p, w.c.account).await.unwrap();
    api::service::outbox::record(
        &txn,
        &p,
        entity::event::Event::DynamicStatusUpdated(entity::event::StatusChanged {
            user_id: w.c.user1,
            version: 2,
            changes: Default::default(),
        })
        .about(w.c.account, uuid::Uuid::now_v7()),
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();
    app.state.wake.notify();
    assert!(sync::runs_by_id(db, &[run.id]).await.unwrap().is_empty());
    assert_eq!(ws.next(SILENCE).await, Incoming::Silence, "nothing from a rollback");

    let r = rcall(&app, &token, "dynamicStatusActivate", json!({ "id": road })).await;
    assert!(rcodes(&r).is_empty(), "{r}");
    let e = ws.event("s1").await["userNumbersChanged"].clone();
    assert_eq!(
        (e["change"].as_str(), e["dynamicStatus"]["id"].as_str()),
        (Some("ACTIVE_STATUS_CHANGED"), Some(road.as_str()))
    );
    // A refused mutation records nothing either.
    let r = rcall(&app, &token, "dynamicStatusDelete", json!({ "id": road })).await;
    assert_eq!(rcodes(&r), vec!["ACTIVE_STATUS_DELETE"]);
    let r = rcall(&app, &token, "dynamicStatusActivate", json!({ "id": busy })).await;
    assert!(rcodes(&r).is_empty(), "{r}");
    let e = ws.event("s1").await["userNumbersChanged"].clone();
    assert_eq!(e["dynamicStatus"]["id"], busy.as_str());
}

// E4: numbers and statuses created, changed and deleted arrive in commit order, each carrying
// the object (or the deleted id).
async fn e4_user_numbers_changed_reports_each_change_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    ws.subscribe("n", NUMBERS, json!({})).await;
    app.watching(Topic::UserNumbers(w.c.user1), 1).await;
    let desk = id_of(
        &rcall(&app, &token, "userNumberCreate", number("+4680001", false, "Desk")).await,
        "userNumber",
    );
    rcall(
        &app,
        &token,
        "userNumberUpdate",
        json!({"id": desk, "label": "Front desk"}),
    )
    .await;
    let status = id_of(
        &rcall(
            &app,
            &token,
            "dynamicStatusCreate",
            json!({"name": "Lunch", "presence": "AWAY"}),
        )
        .await,
        "dynamicStatus",
    );
    rcall(&app, &token, "dynamicStatusDelete", json!({"id": status})).await;
    rcall(&app, &token, "userNumberDelete", json!({"id": desk})).await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let e = ws.event("n").await["userNumbersChanged"].clone();
        assert_eq!(e["user"]["id"], gid(Kind::User, w.c.user1));
        seen.push(e);
    }
    let changes: Vec<_> = seen.iter().map(|e| e["change"].as_str().unwrap()).collect();
    assert_eq!(
        changes,
        [
            "NUMBER_CREATED",
            "NUMBER_UPDATED",
            "STATUS_CREATED",
            "STATUS_DELETED",
            "NUMBER_DELETED"
        ]
    );
    // Objects are read when the event goes out: here every one was gone by then, but the
    // deleted ids say what went.
    assert_eq!(seen[3]["deletedId"], status.as_str());
    assert_eq!(seen[4]["deletedId"], desk.as_str());
    assert!(seen[4]["userNumber"].is_null());

    // One change at a time, each event carries the object as it is.
    let cell = id_of(
        &rcall(&app, &token, "userNumberCreate", number("+4680002", false, "Cell")).await,
        "userNumber",
    );
    let e = ws.event("n").await["userNumbersChanged"].clone();
    assert_eq!(
        (e["change"].as_str(), e["userNumber"]["id"].as_str()),
        (Some("NUMBER_CREATED"), Some(cell.as_str()))
    );
    rcall(&app, &token, "userNumberUpdate", json!({"id": cell, "label": "Mobile"})).await;
    let e = ws.event("n").await["userNumbersChanged"].clone();
    assert_eq!(
        (e["change"].as_str(), e["userNumber"]["label"].as_str()),
        (Some("NUMBER_UPDATED"), Some("Mobile"))
    );
    let lunch = id_of(
        &rcall(
            &app,
            &token,
            "dynamicStatusCreate",
            json!({"name": "Lunch", "presence": "AWAY"}),
        )
        .await,
        "dynamicStatus",
    );
    let e = ws.event("n").await["userNumbersChanged"].clone();
    assert_eq!(
        (e["change"].as_str(), e["dynamicStatus"]["id"].as_str()),
        (Some("STATUS_CREATED"), Some(lunch.as_str()))
    );
    assert_eq!(e["dynamicStatus"]["name"], "Lunch");

    // A remote extension's ringing (issue 21 §3) rides on its number: an administrator
    // provisions one, then tunes it.
    let dm = app.token(w.c.dm);
    let input = json!({"userId": gid(Kind::User, w.c.user1), "number": "0701110009", "isRemoteExtension": true});
    let re = id_of(&rcall(&app, &dm, "userNumberCreate", input).await, "userNumber");
    let e = ws.event("n").await["userNumbersChanged"].clone();
    assert_eq!(
        (e["change"].as_str(), &e["userNumber"]["ringDelaySeconds"]),
        (Some("NUMBER_CREATED"), &json!(0))
    );
    let tuned = json!({"id": re, "ringDelaySeconds": 4, "requireKeypress": true});
    assert!(rcodes(&rcall(&app, &dm, "userNumberUpdate", tuned).await).is_empty());
    let e = ws.event("n").await["userNumbersChanged"].clone();
    assert_eq!(e["change"], "NUMBER_UPDATED");
    assert_eq!(
        (
            &e["userNumber"]["ringDelaySeconds"],
            &e["userNumber"]["requireKeypress"]
        ),
        (&json!(4), &json!(true))
    );
    assert_eq!(e["userNumber"]["id"], re.as_str());
}

// E4: an account's mobility state, settings and users; one batch is one event.
async fn e4_mobility_changed_carries_state_settings_and_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    app.quiesce().await;
    let account = gid(Kind::Account, w.a.account);
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &app.token(w.a.dm)).await;
    ws.subscribe("m", MOBILITY, json!({"a": account})).await;
    app.watching(Topic::Mobility(w.a.account), 1).await;
    activate_mobility(&app, &w.a).await;
    app.state.wake.notify();
    let requested = ws.event("m").await["mobilityChanged"].clone();
    assert_eq!(requested["change"], "ACTIVATION_REQUESTED");
    let completed = ws.event("m").await["mobilityChanged"].clone();
    assert_eq!(completed["change"], "ACTIVATION_COMPLETED");
    assert_eq!(completed["mobility"]["state"], "ACTIVE");
    assert_eq!(completed["account"]["id"], account.as_str());

    enable_mobility(&app, &w.a, &[(w.a.dm, "7001"), (w.a.pm, "7002"), (w.a.user1, "7003")]).await;
    app.state.wake.notify();
    let enabled = ws.event("m").await["mobilityChanged"].clone();
    assert_eq!(enabled["change"], "USERS_ENABLED");
    let mut exts: Vec<_> = enabled["mobilityUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["mobilityExtension"].as_str().unwrap().to_owned())
        .collect();
    exts.sort();
    assert_eq!(exts, ["7001", "7002", "7003"], "one event for the batch: {enabled}");

    let body = app
        .gql(
            &app.support(),
            "mutation($a: ID!) { mobilityUsersDisable(input: {accountId: $a, userIds: [$u]}) { userErrors { code } } }"
                .replace("[$u]", &format!("[\"{}\"]", gid(Kind::User, w.a.user1)))
                .as_str(),
            json!({"a": account}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let disabled = ws.event("m").await["mobilityChanged"].clone();
    assert_eq!(disabled["change"], "USERS_DISABLED");
    assert_eq!(disabled["disabledUserIds"], json!([gid(Kind::User, w.a.user1)]));
}

// E3/E4: sync runs are pushed as they change. The test drives a run through the service itself,
// so this process's sync workers are off (they would take the pending run).
async fn e4_sync_runs_are_pushed_as_they_change(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.plugins.platform.enabled = false).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::Legacy, &app.support()).await;
    ws.subscribe("r", SYNC, json!({"a": gid(Kind::Account, w.c.account)}))
        .await;
    app.watching(Topic::SyncRuns(w.c.account), 1).await;
    let p = Principal::Support { name: "fixture".into() };
    let db = &app.state.db;
    let run = sync::create_run(db, &p, w.c.account).await.unwrap();
    let version = run.version;
    let mut running = run.clone().into_active_model();
    running.state = Set(SyncRunState::Running);
    running.created = Set(3);
    sync::save_run(db, &p, running, version).await.unwrap();
    app.state.wake.notify();
    let first = ws.event("r").await["platformSyncRunUpdated"].clone();
    let second = ws.event("r").await["platformSyncRunUpdated"].clone();
    assert_eq!(
        (first["state"].as_str(), first["version"].as_i64()),
        (Some("PENDING"), Some(1))
    );
    assert_eq!(
        (second["state"].as_str(), second["created"].as_i64()),
        (Some("RUNNING"), Some(3))
    );
    assert_eq!(first["id"], gid(Kind::PlatformSyncRun, run.id));
}

// Limits per connection and per token; a completed subscription frees its place.
async fn e4_subscription_limits_per_connection_and_per_token(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.subscriptions.max_per_connection = 2;
        s.subscriptions.max_per_token = 3;
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    // Three asked on one connection: one is refused (which one depends on the order the server
    // starts them in) and completes.
    let mut one = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    for id in ["a", "b", "c"] {
        one.subscribe(id, ACTIVE, json!({})).await;
    }
    let first = refused_one(&mut one).await;
    // A second connection of the same token: one more fits under the token's 3.
    let mut two = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    for id in ["d", "e"] {
        two.subscribe(id, ACTIVE, json!({})).await;
    }
    let refused_two = refused_one(&mut two).await;
    // Stopping one frees its place.
    let open_one = ["a", "b", "c"].into_iter().find(|id| *id != first).unwrap();
    one.stop(open_one).await;
    assert_eq!(
        one.next(Duration::from_secs(5)).await,
        Incoming::Complete(open_one.into())
    );
    two.subscribe("f", ACTIVE, json!({})).await;
    assert_eq!(
        two.next(SILENCE).await,
        Incoming::Silence,
        "a place was freed ({refused_two} was refused)"
    );
}

/// Exactly one subscription of the socket is refused with `TOO_MANY_SUBSCRIPTIONS` and
/// completes; its id.
async fn refused_one(ws: &mut WsClient) -> String {
    let (id, payload) = match ws.next(Duration::from_secs(10)).await {
        Incoming::Next { id, payload } => (id, payload),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{payload}"
    );
    assert_eq!(ws.next(Duration::from_secs(5)).await, Incoming::Complete(id.clone()));
    assert_eq!(ws.next(SILENCE).await, Incoming::Silence, "the others stay open");
    id
}

// A subscriber that falls further behind than its queue is closed with a clear reason, and the
// others go on.
async fn e4_a_subscriber_too_far_behind_is_closed_with_a_reason(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.subscriptions.buffer = 1).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let re = provision_admin(&app, w.c.user1, "0701110004").await;
    let available = status_named(&app, w.c.user1, "Available").await;
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    ws.subscribe("n", NUMBERS, json!({})).await;
    ws.subscribe("a", ACTIVE, json!({})).await;
    app.watching(Topic::UserNumbers(w.c.user1), 1).await;
    app.watching(Topic::ActiveStatus(w.c.user1), 1).await;
    // One commit, two events for `n` (the status changed, and so did the active remote
    // extension) faster than a queue of one can take: `n` overflows; `a` gets its one event.
    let r = rcall(
        &app,
        &app.support(),
        "dynamicStatusUpdate",
        json!({"id": available, "remoteExtensionId": re}),
    )
    .await;
    assert!(rcodes(&r).is_empty(), "{r}");
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(ws.next(Duration::from_secs(10)).await);
    }
    let slow: Vec<_> = got
        .iter()
        .filter_map(|m| match m {
            Incoming::Next { id, payload } if id == "n" => Some(payload.clone()),
            _ => None,
        })
        .collect();
    assert!(got.contains(&Incoming::Complete("n".into())), "{got:?}");
    let last = slow.last().unwrap();
    assert_eq!(last["errors"][0]["extensions"]["code"], "SLOW_CONSUMER", "{got:?}");
    assert!(
        got.iter()
            .any(|m| matches!(m, Incoming::Next { id, payload } if id == "a" && payload["errors"].is_null())),
        "{got:?}"
    );
}

// On PostgreSQL an event committed while an older transaction is still open waits behind it
// (the log's horizon); the reader looks again shortly rather than at its next poll, so the event
// goes out as soon as that transaction ends, even one that writes no event (no NOTIFY).
async fn e4_an_event_behind_an_open_transaction_goes_out_when_it_ends(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return; // SQLite has one writer at a time: nothing commits behind another
    }
    let app = spawn_app_with(backend, |s| s.subscriptions.catch_up_ms = 60_000).await;
    let w = RemoteWorld::build(&app).await;
    let token = app.token(w.c.user1);
    let busy = status_named(&app, w.c.user1, "Busy").await;
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &token).await;
    ws.subscribe("s", ACTIVE, json!({})).await;
    app.watching(Topic::ActiveStatus(w.c.user1), 1).await;

    let blocker = app.state.db.begin().await.unwrap();
    blocker.execute_unprepared("SELECT pg_current_xact_id()").await.unwrap();
    let r = rcall(&app, &token, "dynamicStatusActivate", json!({ "id": busy })).await;
    assert!(rcodes(&r).is_empty(), "{r}");
    assert_eq!(
        ws.next(Duration::from_millis(700)).await,
        Incoming::Silence,
        "held behind the open transaction"
    );
    blocker.rollback().await.unwrap();
    let e = ws.event("s").await["activeStatusChanged"].clone();
    assert_eq!(e["activeStatus"]["id"], busy.as_str());
}

// Issue 17: a subscription of one root field is parked between its events (the socket keeps its
// feed, not async-graphql's execution) and each event is rendered by running the operation
// again. A directive on the root field makes async-graphql run it whole, as before. Both give the
// same messages for the same changes (the slow-consumer test shows a parked one's ending), with
// an alias, a fragment and a named operation among others, on both protocols.
async fn e4_a_parked_subscription_sends_what_one_run_whole_sends(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let parked_text = "query Q { viewer { kind } }
        subscription S($u: ID) { n: userNumbersChanged(userId: $u) { ...F user { __typename id } } }
        fragment F on UserNumbersChangedEvent { change deletedId userNumber { id label number } }";
    let whole_text = parked_text.replacen(
        "userNumbersChanged(userId: $u)",
        "userNumbersChanged(userId: $u) @include(if: true)",
        1,
    );
    let start = |text: String| json!({"query": text, "variables": {}, "operationName": "S"});
    let mut sockets = Vec::new();
    for proto in [Proto::TransportWs, Proto::Legacy] {
        for text in [parked_text.to_owned(), whole_text.clone()] {
            let mut ws = WsClient::ready(&app.address, proto, &token).await;
            let kind = if proto == Proto::Legacy { "start" } else { "subscribe" };
            ws.send(json!({"id": "n", "type": kind, "payload": start(text)})).await;
            sockets.push(ws);
        }
    }
    app.watching(Topic::UserNumbers(w.c.user1), 4).await;
    parked_become(&app, 2).await;
    let desk = id_of(
        &rcall(&app, &token, "userNumberCreate", number("+4680002", false, "Desk")).await,
        "userNumber",
    );
    rcall(&app, &token, "userNumberUpdate", json!({"id": desk, "label": "Front"})).await;
    rcall(&app, &token, "userNumberDelete", json!({"id": desk})).await;
    for pair in sockets.chunks_mut(2) {
        let [parked, whole] = pair else { unreachable!() };
        for _ in 0..3 {
            let (a, b) = (parked.next(SILENCE * 4).await, whole.next(SILENCE * 4).await);
            assert!(
                matches!(&a, Incoming::Next { payload, .. } if payload["data"]["n"]["user"]["__typename"] == "User"),
                "{a:?}"
            );
            assert_eq!(a, b);
        }
        assert_eq!(parked.next(SILENCE).await, Incoming::Silence);
        // Stopped by the client: no longer parked, no longer counted against the limits.
        parked.stop("n").await;
    }
    app.watching(Topic::UserNumbers(w.c.user1), 2).await;
    // The stops are handled by the sockets' tasks: wait for them, as for the starts above.
    parked_become(&app, 0).await;
}

/// Waits (up to 10 s) until `n` subscriptions are parked: the sockets' tasks park and unpark
/// them after the messages that start and stop them.
async fn parked_become(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.live.parked() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} parked, not {n}",
            app.state.live.parked()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Issue 17: a delivery's subscribers render it once per document, variables and principal.
// Two callers with the same text and variables but different rights each get their own view:
// a default status is editable for Support, not for the user.
async fn e4_subscribers_share_a_rendering_only_with_the_same_rights(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    app.quiesce().await;
    let token = app.token(w.c.user1);
    let available = status_named(&app, w.c.user1, "Available").await;
    let (road, _) = status_with_number(&app, &token, w.c.user1, "0701110005", "On the road").await;
    rcall(&app, &token, "dynamicStatusActivate", json!({ "id": road })).await;
    app.quiesce().await;
    let text = "subscription($u: ID) { activeStatusChanged(userId: $u) { activeStatus { id editable } } }";
    let vars = json!({ "u": gid(Kind::User, w.c.user1) });
    let mut sockets = Vec::new();
    for t in [token.clone(), app.support(), token.clone(), app.support()] {
        let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &t).await;
        ws.subscribe("a", text, vars.clone()).await;
        sockets.push(ws);
    }
    app.watching(Topic::ActiveStatus(w.c.user1), 4).await;
    let r = rcall(&app, &token, "dynamicStatusActivate", json!({ "id": available })).await;
    assert!(rcodes(&r).is_empty(), "{r}");
    let mut seen = Vec::new();
    for ws in &mut sockets {
        let e = ws.event("a").await["activeStatusChanged"]["activeStatus"].clone();
        assert_eq!(e["id"], available.as_str());
        seen.push(e["editable"].clone());
    }
    assert_eq!(seen, [json!(false), json!(true), json!(false), json!(true)]);
}

backend_tests!(
    e4_a_user_sees_their_own_status_change_on_both_protocols,
    t1_subscriptions_refuse_other_users_and_accounts_like_unknown_ids,
    e4_a_bad_or_missing_token_never_receives_data,
    e4_the_socket_closes_when_the_token_expires,
    e4_a_revoked_role_closes_the_holders_sockets,
    e1_a_rolled_back_mutation_produces_no_event,
    e4_user_numbers_changed_reports_each_change_in_order,
    e4_mobility_changed_carries_state_settings_and_users,
    e4_sync_runs_are_pushed_as_they_change,
    e4_subscription_limits_per_connection_and_per_token,
    e4_a_subscriber_too_far_behind_is_closed_with_a_reason,
    e4_an_event_behind_an_open_transaction_goes_out_when_it_ends,
    e4_a_parked_subscription_sends_what_one_run_whole_sends,
    e4_subscribers_share_a_rendering_only_with_the_same_rights,
);
