//! Remote Extension statuses and profiles, rule by rule (SPEC R10, R11, E1): default statuses,
//! read-only admin statuses, the protected active status, client profiles and call through.
//! Each test asserts the answer, a read-back and the outbox rows.

#![allow(clippy::unwrap_used)]

use api::{config::remote::DefaultStatus, graphql::ids::Kind};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

fn names(read: &Value) -> Vec<(String, String, bool)> {
    read["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap().to_owned();
            (text("name"), text("origin"), s["isActive"].as_bool().unwrap())
        })
        .collect()
}

async fn r10_new_users_get_the_default_statuses(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let read = read_user(&app, &app.token(w.c.user1), w.c.user1).await;
    let expected = [
        "Available",
        "Busy",
        "Away",
        "In a meeting",
        "Do not disturb",
        "Out of office",
    ];
    let got = names(&read);
    assert_eq!(got.iter().map(|(n, _, _)| n.as_str()).collect::<Vec<_>>(), expected);
    assert!(got.iter().all(|(_, origin, _)| origin == "ADMIN"));
    assert_eq!(got.iter().filter(|(_, _, active)| *active).count(), 1);
    assert_eq!(read["activeStatus"]["name"], "Available");
    // Recorded with the user: six statuses created, then the active status set.
    let events = events_since(&app, 0).await;
    let of_user: Vec<&str> = events
        .iter()
        .filter(|(t, p)| t.starts_with("dynamic_status") && p["userId"] == w.c.user1.to_string().as_str())
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(of_user.len(), 6, "{events:?}");
    // Users of other platforms get none.
    let other = read_user(&app, &app.token(w.m.user1), w.m.user1).await;
    assert_eq!(other["dynamicStatuses"], json!([]));
    assert!(other["activeStatus"].is_null() && other["clientProfile"].is_null());
}

backend_tests!(r10_new_users_get_the_default_statuses);

async fn r10_the_default_statuses_are_configurable(backend: Backend) {
    let status = |name: &str, presence: &str| DefaultStatus {
        name: name.into(),
        presence: presence.into(),
        message: Some("set by IT".into()),
        call_using: "SOFTPHONE".into(),
        send_calls_to: "ALL_DEVICES".into(),
        when_busy: "NO_DIVERSION".into(),
        if_no_answer: "PBX_DEFAULT".into(),
    };
    let app = spawn_app_with(backend, |s| {
        s.remote_extension.default_statuses = vec![status("Open", "AVAILABLE"), status("Closed", "DO_NOT_DISTURB")];
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    let read = read_user(&app, &app.token(w.c.user2), w.c.user2).await;
    let got = names(&read);
    assert_eq!(
        got,
        [
            ("Open".into(), "ADMIN".into(), true),
            ("Closed".into(), "ADMIN".into(), false)
        ]
    );
    let first = &read["dynamicStatuses"][0];
    assert_eq!(first["message"], "set by IT");
    assert_eq!(
        [
            &first["callUsing"]["kind"],
            &first["sendCallsTo"]["kind"],
            &first["whenBusy"]["kind"],
            &first["ifNoAnswer"]["kind"]
        ],
        [
            &json!("SOFTPHONE"),
            &json!("ALL_DEVICES"),
            &json!("NO_DIVERSION"),
            &json!("PBX_DEFAULT")
        ]
    );
}

backend_tests!(r10_the_default_statuses_are_configurable);

async fn r10_admin_statuses_are_read_only_and_the_active_one_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm) = (app.token(w.c.user1), app.token(w.c.dm));
    let read = read_user(&app, &user, w.c.user1).await;
    let active = read["activeStatus"]["id"].as_str().unwrap().to_owned();
    let busy = read["dynamicStatuses"][1]["id"].as_str().unwrap().to_owned();

    // The active default is an admin status: read-only for the user, protected for everyone.
    refused(
        &app,
        &user,
        "dynamicStatusDelete",
        json!({ "id": active }),
        "STATUS_READONLY",
    )
    .await;
    refused(
        &app,
        &dm,
        "dynamicStatusDelete",
        json!({ "id": active }),
        "ACTIVE_STATUS_DELETE",
    )
    .await;
    refused(
        &app,
        &user,
        "dynamicStatusUpdate",
        json!({ "id": busy, "message": "x" }),
        "STATUS_READONLY",
    )
    .await;
    refused(
        &app,
        &user,
        "dynamicStatusDelete",
        json!({ "id": busy }),
        "STATUS_READONLY",
    )
    .await;

    // The user's own statuses are theirs to change and delete; a stale version is refused.
    let own = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Lunch", "presence": "AWAY", "message": "back at 1" }),
    )
    .await;
    assert_eq!(
        (
            own["dynamicStatus"]["origin"].clone(),
            own["dynamicStatus"]["editable"].clone()
        ),
        (json!("USER"), json!(true))
    );
    let own = id_of(&own, "dynamicStatus");
    let r = rcall(
        &app,
        &user,
        "dynamicStatusUpdate",
        json!({ "id": own, "expectedVersion": 1, "message": null }),
    )
    .await;
    assert_eq!(
        (
            r["dynamicStatus"]["message"].clone(),
            r["dynamicStatus"]["version"].clone()
        ),
        (Value::Null, json!(2))
    );
    let stale = json!({ "id": own, "expectedVersion": 1, "name": "Late lunch" });
    refused(&app, &user, "dynamicStatusUpdate", stale, "STALE_VERSION").await;
    let same = rcall(
        &app,
        &user,
        "dynamicStatusUpdate",
        json!({ "id": own, "name": "Lunch" }),
    )
    .await;
    assert_eq!(same["dynamicStatus"]["version"], 2, "no change, no new version");

    // An administrator covering the user may change and delete admin statuses (R12).
    let head = outbox_head(&app).await;
    let r = rcall(
        &app,
        &dm,
        "dynamicStatusUpdate",
        json!({ "id": busy, "message": "in calls" }),
    )
    .await;
    assert_eq!(r["dynamicStatus"]["message"], "in calls");
    let r = rcall(&app, &dm, "dynamicStatusDelete", json!({ "id": busy })).await;
    assert_eq!(r["deletedId"], busy.as_str());
    rcall(&app, &user, "dynamicStatusActivate", json!({ "id": own })).await;
    refused(
        &app,
        &user,
        "dynamicStatusDelete",
        json!({ "id": own }),
        "ACTIVE_STATUS_DELETE",
    )
    .await;
    rcall(&app, &user, "dynamicStatusActivate", json!({ "id": active })).await;
    let r = rcall(&app, &user, "dynamicStatusDelete", json!({ "id": own })).await;
    assert_eq!(r["deletedId"], own.as_str());
    let types: Vec<String> = events_since(&app, head).await.into_iter().map(|(t, _)| t).collect();
    let expected = [
        "dynamic_status.updated",
        "dynamic_status.deleted",
        "active_status.changed",
        "active_status.changed",
        "dynamic_status.deleted",
    ];
    assert_eq!(types, expected);
    let read = read_user(&app, &user, w.c.user1).await;
    assert!(status_in(&read, &busy).is_null() && status_in(&read, &own).is_null());
    assert_eq!(read["activeStatus"]["id"], active.as_str());
}

backend_tests!(r10_admin_statuses_are_read_only_and_the_active_one_stays);

async fn r10_r11_client_profiles_decide_what_users_may_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm) = (app.token(w.c.user1), app.token(w.c.dm));
    let account = gid(Kind::Account, w.c.account);
    let head = outbox_head(&app).await;
    let input = json!({ "accountId": account, "name": "Locked down", "allowUsersAddStatus": false, "callThroughAllowed": false });
    let p = rcall(&app, &dm, "clientProfileCreate", input).await;
    assert_eq!(p["clientProfile"]["isDefault"], false);
    let profile = id_of(&p, "clientProfile");
    let set = json!({ "userId": gid(Kind::User, w.c.user1), "clientProfileId": profile });
    let r = rcall(&app, &dm, "userClientProfileSet", set.clone()).await;
    assert_eq!(r["user"]["clientProfile"]["id"], profile.as_str());
    let types: Vec<String> = events_since(&app, head).await.into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["client_profile.created", "user.client_profile_changed"]);
    let head = outbox_head(&app).await;
    rcall(&app, &dm, "userClientProfileSet", set).await;
    assert_eq!(outbox_head(&app).await, head, "the same profile again records nothing");

    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(read["canAddStatus"], false);
    let status = json!({ "name": "Mine", "presence": "BUSY" });
    refused(&app, &user, "dynamicStatusCreate", status.clone(), "FORBIDDEN").await;
    let mut for_user = status;
    for_user["userId"] = json!(gid(Kind::User, w.c.user1));
    let r = rcall(&app, &dm, "dynamicStatusCreate", for_user).await;
    assert_eq!(
        r["dynamicStatus"]["origin"], "ADMIN",
        "an administrator still may (R12)"
    );

    let re = provision_admin(&app, w.c.user1, "0701110004").await;
    let on = json!({ "id": re, "callThrough": true });
    refused(&app, &user, "userNumberUpdate", on.clone(), "CALL_THROUGH_NOT_ALLOWED").await;
    let create = json!({ "number": "0733333333", "isRemoteExtension": true, "label": "Cabin", "callThrough": true });
    refused(&app, &user, "userNumberCreate", create, "CALL_THROUGH_NOT_ALLOWED").await;

    // Back to the account's default (null): both allowed again.
    let reset = json!({ "userId": gid(Kind::User, w.c.user1), "clientProfileId": null });
    let r = rcall(&app, &dm, "userClientProfileSet", reset).await;
    assert_eq!(r["clientProfile"]["name"], "Default");
    let r = rcall(&app, &user, "userNumberUpdate", on).await;
    assert_eq!(r["userNumber"]["callThrough"], true);
    let list = app
        .gql(
            &dm,
            "query($a: ID!) { account(id: $a) { clientProfiles { name isDefault } } }",
            json!({ "a": account }),
        )
        .await;
    assert_eq!(
        list["data"]["account"]["clientProfiles"],
        json!([{"name": "Default", "isDefault": true}, {"name": "Locked down", "isDefault": false}])
    );
}

backend_tests!(r10_r11_client_profiles_decide_what_users_may_do);

async fn r11_call_through_is_effective_only_on_the_active_remote_extension(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm) = (app.token(w.c.user1), app.token(w.c.dm));
    let re = provision_admin(&app, w.c.user1, "0701110004").await;
    let plain = rcall(
        &app,
        &user,
        "userNumberCreate",
        json!({ "number": "+4680001", "label": "Desk" }),
    )
    .await;
    let plain = id_of(&plain, "userNumber");
    let reason = |read: &Value, id: &str| {
        let n = number_in(read, id);
        (
            n["callThroughEffective"].clone(),
            n["callThroughInactiveReason"].clone(),
        )
    };
    refused(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": plain, "callThrough": true }),
        "VALIDATION_FAILED",
    )
    .await;
    let create = json!({ "number": "+4680002", "label": "Other", "callThrough": true });
    refused(&app, &user, "userNumberCreate", create, "VALIDATION_FAILED").await;

    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(reason(&read, &plain), (json!(false), json!("NOT_REMOTE_EXTENSION")));
    assert_eq!(reason(&read, &re), (json!(false), json!("DISABLED")));
    let head = outbox_head(&app).await;
    let r = rcall(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": re, "callThrough": true }),
    )
    .await;
    assert_eq!(
        (
            r["userNumber"]["callThroughEffective"].clone(),
            r["userNumber"]["callThroughInactiveReason"].clone()
        ),
        (json!(false), json!("NOT_IN_ACTIVE_STATUS"))
    );
    let events = events_since(&app, head).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].1["changes"]["callThrough"],
        json!({"old": false, "new": true})
    );

    let s = rcall(
        &app,
        &user,
        "dynamicStatusCreate",
        json!({ "name": "Road", "presence": "AWAY", "remoteExtensionId": re }),
    )
    .await;
    rcall(
        &app,
        &user,
        "dynamicStatusActivate",
        json!({ "id": id_of(&s, "dynamicStatus") }),
    )
    .await;
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(reason(&read, &re), (json!(true), Value::Null));

    // The profile takes it away (its users see the change at once), and gives it back.
    let default = read["clientProfile"]["id"].as_str().unwrap().to_owned();
    let off = json!({ "id": default, "callThroughAllowed": false });
    let r = rcall(&app, &dm, "clientProfileUpdate", off).await;
    assert_eq!(r["clientProfile"]["callThroughAllowed"], false);
    let read = read_user(&app, &user, w.c.user1).await;
    assert_eq!(reason(&read, &re), (json!(false), json!("NOT_ALLOWED_BY_PROFILE")));
    rcall(
        &app,
        &dm,
        "clientProfileUpdate",
        json!({ "id": default, "callThroughAllowed": true }),
    )
    .await;
    let r = rcall(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": re, "callThrough": false }),
    )
    .await;
    assert_eq!(r["userNumber"]["callThroughInactiveReason"], "DISABLED");
    let head = outbox_head(&app).await;
    rcall(
        &app,
        &user,
        "userNumberUpdate",
        json!({ "id": re, "callThrough": false }),
    )
    .await;
    assert_eq!(
        outbox_head(&app).await,
        head,
        "a change to the same value records nothing"
    );
}

backend_tests!(r11_call_through_is_effective_only_on_the_active_remote_extension);
