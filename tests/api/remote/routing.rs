//! Remote Extension routing, rule by rule (SPEC R7–R9, E1): a status's remote extension, R8's
//! auto-fill of `callUsing` and `sendCallsTo`, the target kinds each field takes, and the active
//! status and remote extension. Each test asserts the answer, a read-back and the outbox rows.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

async fn r7_a_status_uses_one_of_the_users_own_remote_extensions(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    provision_admin(&app, w.c.user1, "0701110004").await;
    let plain = id_of(
        &rcall(&app, &user, "userNumberCreate", number("+4680001", false, "Desk")).await,
        "userNumber",
    );
    let elsewhere = provision_admin(&app, w.c.user2, "0702220002").await;
    let status = |re: &str| json!({ "name": "Out", "presence": "AWAY", "remoteExtensionId": re });
    refused(&app, &user, "dynamicStatusCreate", status(&plain), "VALIDATION_FAILED").await;
    refused(&app, &user, "dynamicStatusCreate", status(&elsewhere), "NOT_FOUND").await;
    refused(&app, &user, "dynamicStatusCreate", status("garbage"), "NOT_FOUND").await;
}

backend_tests!(r7_a_status_uses_one_of_the_users_own_remote_extensions);

fn target(status: &Value, field: &str) -> (Value, Value) {
    let t = &status[field];
    (t["kind"].clone(), t["number"]["id"].clone())
}

async fn r8_the_remote_extension_fills_call_using_and_send_calls_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let x = provision_admin(&app, w.c.user1, "0701110004").await;
    let y = id_of(
        &rcall(&app, &user, "userNumberCreate", number("0733333333", true, "Cabin")).await,
        "userNumber",
    );
    let num = |id: &str| (json!("NUMBER"), json!(id));
    let kind = |k: &str| (json!(k), Value::Null);

    let s = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Road", "presence": "AWAY", "remoteExtensionId": x }),
    )
    .await;
    let s = &s["dynamicStatus"];
    assert_eq!((target(s, "callUsing"), target(s, "sendCallsTo")), (num(&x), num(&x)));
    assert_eq!(
        (target(s, "whenBusy"), target(s, "ifNoAnswer")),
        (kind("VOICEMAIL"), kind("VOICEMAIL"))
    );

    // A field the same request sets wins.
    let input =
        json!({ "name": "Focus", "presence": "BUSY", "remoteExtensionId": x, "sendCallsTo": { "kind": "VOICEMAIL" } });
    let t = rcall(&app, &user, "dynamicStatusCreate", input).await;
    let t = &t["dynamicStatus"];
    assert_eq!(
        (target(t, "callUsing"), target(t, "sendCallsTo")),
        (num(&x), kind("VOICEMAIL"))
    );

    // Changing only callUsing later leaves the remote extension alone.
    let id = s["id"].as_str().unwrap();
    let u = rcall(
        &app,
        &user,
        "dynamicStatusUpdate",
        json!({ "id": id, "callUsing": { "kind": "DESK_PHONE" } }),
    )
    .await;
    let u = &u["dynamicStatus"];
    assert_eq!(u["remoteExtension"]["id"], x.as_str());
    assert_eq!(
        (target(u, "callUsing"), target(u, "sendCallsTo")),
        (kind("DESK_PHONE"), num(&x))
    );
    assert_eq!(u["version"], 2);
    // Setting the remote extension on update fills both again, unless the request sets one.
    let input = json!({ "id": id, "expectedVersion": 2, "remoteExtensionId": y, "callUsing": { "kind": "SOFTPHONE" } });
    let v = rcall(&app, &user, "dynamicStatusUpdate", input).await;
    let v = &v["dynamicStatus"];
    assert_eq!(
        (target(v, "callUsing"), target(v, "sendCallsTo")),
        (kind("SOFTPHONE"), num(&y))
    );
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(status_in(&read, id)["remoteExtension"]["id"], y.as_str());

    // Kinds that do not fit a field, and numbers where none belong.
    for bad in [
        json!({ "id": id, "whenBusy": { "kind": "DESK_PHONE" } }),
        json!({ "id": id, "callUsing": { "kind": "VOICEMAIL" } }),
        json!({ "id": id, "sendCallsTo": { "kind": "VOICEMAIL", "numberId": y } }),
    ] {
        refused(&app, &user, "dynamicStatusUpdate", bad, "VALIDATION_FAILED").await;
    }
    let plain = id_of(
        &rcall(&app, &user, "userNumberCreate", number("+4680001", false, "Desk")).await,
        "userNumber",
    );
    let calls_with_plain = json!({ "id": id, "callUsing": { "kind": "NUMBER", "numberId": plain } });
    refused(
        &app,
        &user,
        "dynamicStatusUpdate",
        calls_with_plain,
        "VALIDATION_FAILED",
    )
    .await;
}

backend_tests!(r8_the_remote_extension_fills_call_using_and_send_calls_to);

async fn r9_activation_switches_the_active_status_and_remote_extension(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let read = read_user(&app, &user, w.c.user1).await;
    let available = read["activeStatus"]["id"].as_str().unwrap().to_owned();
    assert_eq!(read["activeStatus"]["name"], "Available");
    let x = provision_admin(&app, w.c.user1, "0701110004").await;
    let s = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Road", "presence": "AWAY", "remoteExtensionId": x }),
    )
    .await;
    assert_eq!(
        s["dynamicStatus"]["isActive"], false,
        "a user with statuses keeps the active one"
    );
    let s = id_of(&s, "dynamicStatus");

    let head = outbox_head(&app).await;
    let r = rcall(&app, &user, "dynamicStatusActivate", json!({ "id": s })).await;
    assert_eq!(r["dynamicStatus"]["isActive"], true);
    assert_eq!(r["dynamicStatus"]["user"]["activeRemoteExtension"]["id"], x.as_str());
    let events = events_since(&app, head).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "active_status.changed");
    let key = |g: &str| api::graphql::ids::decode(g).unwrap().1.to_string();
    assert_eq!(events[0].1["activeStatusId"], key(&s).as_str());
    assert_eq!(events[0].1["activeRemoteExtensionId"], key(&x).as_str());
    assert_eq!(events[0].1["previousStatusId"], key(&available).as_str());
    let read = read_user(&app, &user, w.c.user1).await;
    let active: Vec<&Value> = read["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["isActive"] == true)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(read["activeStatus"]["id"], s.as_str());
    assert_eq!(read["activeRemoteExtension"]["number"], "0701110004");

    // Activating the active status changes nothing and records nothing (E1).
    let head = outbox_head(&app).await;
    rcall(&app, &user, "dynamicStatusActivate", json!({ "id": s })).await;
    assert_eq!(outbox_head(&app).await, head);
    // Changing the active status's remote extension changes the active remote extension.
    let y = id_of(
        &rcall(&app, &user, "userNumberCreate", number("0733333333", true, "Cabin")).await,
        "userNumber",
    );
    let head = outbox_head(&app).await;
    rcall(
        &app,
        &user,
        "dynamicStatusUpdate",
        json!({ "id": s, "remoteExtensionId": y }),
    )
    .await;
    let events = events_since(&app, head).await;
    assert_eq!(
        types_since(&app, head).await,
        ["dynamic_status.updated", "active_status.changed"]
    );
    assert_eq!(events[1].1["activeRemoteExtensionId"], key(&y).as_str());
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(read["activeRemoteExtension"]["id"], y.as_str());
}

backend_tests!(r9_activation_switches_the_active_status_and_remote_extension);
