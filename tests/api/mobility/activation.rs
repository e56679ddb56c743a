//! Connect for Mobile, rule by rule (SPEC M1–M6): buying and completing the activation, stored
//! numbers kept, the settings changed at the version read, and the notifications a change sends.
//! Each test asserts the answer, a read-back (changed, or unchanged after a refusal) and the
//! outbox rows.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;

use super::common::{call, codes_of, errors, events_since, read, snapshot};

fn account_input(t: &Tenant) -> Value {
    json!({ "accountId": gid(Kind::Account, t.account) })
}

fn activation(t: &Tenant) -> Value {
    json!({
        "accountId": gid(Kind::Account, t.account), "confirmPurchase": true,
        "voicemailAccessNumber": "8991", "accessNumberId": gid(Kind::AccessNumber, t.access_number),
    })
}

async fn m1_activation_is_bought_by_an_account_manager(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    let fresh = read(&app, &dm, w.a.account).await;
    assert_eq!(fresh["state"], "NOT_ACTIVATED");
    assert_eq!(fresh["available"], true);
    assert_eq!(fresh["settings"]["version"], 0);
    assert!(fresh["settings"]["reverseDialNumber"].is_null());
    assert_eq!(fresh["defaults"]["voicemailAccessNumber"], "8991");

    // M1: the purchase must be confirmed; nothing changes, nothing is recorded.
    let before = snapshot(&app).await;
    let mut input = activation(&w.a);
    input["confirmPurchase"] = json!(false);
    let p = call(&app, &dm, "mobilityActivate", input).await;
    assert_eq!(
        errors(&p),
        vec![(json!(["confirmPurchase"]), "PURCHASE_NOT_CONFIRMED".into())]
    );
    assert!(p["mobility"].is_null());
    assert_eq!(read(&app, &dm, w.a.account).await, fresh);
    assert_eq!(snapshot(&app).await, before);

    // Every bad field is reported at once; an unknown access number is a validation failure.
    let mut input = activation(&w.a);
    input["voicemailAccessNumber"] = json!("12");
    input["accessNumberId"] = json!(gid(Kind::AccessNumber, Uuid::new_v4()));
    input["reverseDialNumber"] = json!("123");
    input["handoverNumber"] = json!("64656973330000000");
    let p = call(&app, &dm, "mobilityActivate", input).await;
    let mut got = errors(&p);
    got.sort_by_key(|(f, _)| f.to_string());
    assert_eq!(
        got,
        vec![
            (json!(["accessNumberId"]), "VALIDATION_FAILED".into()),
            (json!(["handoverNumber"]), "VALIDATION_FAILED".into()),
            (json!(["reverseDialNumber"]), "VALIDATION_FAILED".into()),
            (json!(["voicemailAccessNumber"]), "VALIDATION_FAILED".into()),
        ]
    );
    // Another account's access number answers exactly like an unknown one.
    let mut input = activation(&w.a);
    input["accessNumberId"] = json!(gid(Kind::AccessNumber, w.b.access_number));
    let other = call(&app, &dm, "mobilityActivate", input).await;
    let mut input = activation(&w.a);
    input["accessNumberId"] = json!(gid(Kind::AccessNumber, Uuid::new_v4()));
    assert_eq!(other, call(&app, &dm, "mobilityActivate", input).await);
    assert_eq!(codes_of(&other), vec!["VALIDATION_FAILED"]);
    assert_eq!(snapshot(&app).await, before);

    // M1, M2: accepted → PENDING_SUPPORT, defaults fill the numbers left out.
    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityActivate", activation(&w.a)).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobility"]["state"], "PENDING_SUPPORT");
    let now = read(&app, &dm, w.a.account).await;
    assert_eq!(now["state"], "PENDING_SUPPORT");
    let s = &now["settings"];
    assert_eq!(s["version"], 1);
    assert_eq!(s["voicemailAccessNumber"], "8991");
    assert_eq!(s["accessNumber"]["id"], gid(Kind::AccessNumber, w.a.access_number));
    assert_eq!(s["reverseDialNumber"], "6465697332");
    assert_eq!(s["handoverNumber"], "6465697333");
    assert_eq!(s["updatedBy"]["name"], "Dana DM");
    assert_eq!(events_since(&app, events).await, vec!["mobility.activation_requested"]);

    // Once activated, again is refused; so is an account on MX-ONE.
    let before = snapshot(&app).await;
    let p = call(&app, &dm, "mobilityActivate", activation(&w.a)).await;
    assert_eq!(codes_of(&p), vec!["ALREADY_ACTIVATED"]);
    let p = call(&app, &app.token(w.b.dm), "mobilityActivate", activation(&w.b)).await;
    assert_eq!(codes_of(&p), vec!["PLATFORM_NOT_SUPPORTED"]);
    assert_eq!(read(&app, &app.token(w.b.dm), w.b.account).await["available"], false);
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(read(&app, &dm, w.a.account).await, now);
}

async fn m2_stored_numbers_survive_a_new_activation(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let mut input = activation(&w.a);
    input["reverseDialNumber"] = json!("1234567890");
    input["handoverNumber"] = json!(" 1234567891 ");
    let p = call(&app, &dm, "mobilityActivate", input).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let s = read(&app, &dm, w.a.account).await["settings"].clone();
    assert_eq!(
        (s["reverseDialNumber"].clone(), s["handoverNumber"].clone()),
        (json!("1234567890"), json!("1234567891"))
    );

    // Deactivated by Support, activated again with other numbers: the stored ones stay (M2).
    let p = call(&app, &support, "mobilityDeactivate", account_input(&w.a)).await;
    assert_eq!(p["mobility"]["state"], "NOT_ACTIVATED");
    let mut input = activation(&w.a);
    input["reverseDialNumber"] = json!("9999999999");
    let p = call(&app, &dm, "mobilityActivate", input).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let s = read(&app, &dm, w.a.account).await["settings"].clone();
    assert_eq!(s["reverseDialNumber"], "1234567890");
    assert_eq!(s["handoverNumber"], "1234567891");
    assert_eq!(s["version"], 3, "activate, deactivate, activate");
}

/// M1: the activation dialog's "Send email notification" checkbox is set with the activation, in
/// its one transaction and event; left out, the stored value stays; a refused activation leaves
/// it alone.
async fn m1_the_activation_sets_the_email_checkbox(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let email = |read: &Value| read["settings"]["sendEmailNotification"].clone();
    assert_eq!(email(&read(&app, &dm, w.a.account).await), false);

    let before = snapshot(&app).await;
    let mut refused = activation(&w.a);
    refused["sendEmailNotification"] = json!(true);
    refused["voicemailAccessNumber"] = json!("12");
    let p = call(&app, &dm, "mobilityActivate", refused).await;
    assert_eq!(codes_of(&p), vec!["VALIDATION_FAILED"]);
    assert_eq!(email(&read(&app, &dm, w.a.account).await), false);
    assert_eq!(snapshot(&app).await, before);

    let mut input = activation(&w.a);
    input["sendEmailNotification"] = json!(true);
    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityActivate", input).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let now = read(&app, &dm, w.a.account).await;
    assert_eq!((email(&now), &now["settings"]["version"]), (json!(true), &json!(1)));
    assert_eq!(events_since(&app, events).await, vec!["mobility.activation_requested"]);
    let payload = last_payload(&app).await;
    assert_eq!(payload["sendEmailNotification"], true, "{payload}");

    // Left out at the next activation: the stored value stays, whichever it is.
    for stored in [true, false] {
        let p = call(&app, &support, "mobilityDeactivate", account_input(&w.a)).await;
        assert_eq!(codes_of(&p), Vec::<String>::new());
        let mut set = account_input(&w.a);
        set["enabled"] = json!(stored);
        let p = call(&app, &dm, "mobilityEmailNotificationSet", set).await;
        assert_eq!(codes_of(&p), Vec::<String>::new());
        let p = call(&app, &dm, "mobilityActivate", activation(&w.a)).await;
        assert_eq!(codes_of(&p), Vec::<String>::new());
        assert_eq!(email(&read(&app, &dm, w.a.account).await), stored);
        assert_eq!(last_payload(&app).await["sendEmailNotification"], stored);
    }
}

async fn m3_support_completes_the_activation(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let complete = json!({ "accountId": gid(Kind::Account, w.a.account), "mobilityRouter": " mr1.example.net ", "groupName": "alpha" });
    let before = snapshot(&app).await;
    let p = call(&app, &support, "mobilityActivationComplete", complete.clone()).await;
    assert_eq!(codes_of(&p), vec!["INVALID_STATE"], "not bought yet");
    assert_eq!(snapshot(&app).await, before, "INVALID_STATE wrote nothing");
    call(&app, &dm, "mobilityActivate", activation(&w.a)).await;
    let pending = read(&app, &dm, w.a.account).await;
    let before = snapshot(&app).await;
    let p = call(&app, &dm, "mobilityActivationComplete", complete.clone()).await;
    assert_eq!(codes_of(&p), vec!["FORBIDDEN"], "M3: Support only");
    let mut blank = complete.clone();
    blank["groupName"] = json!("  ");
    blank["mobilityRouter"] = json!("r".repeat(65));
    let p = call(&app, &support, "mobilityActivationComplete", blank).await;
    assert_eq!(
        errors(&p),
        vec![
            (json!(["mobilityRouter"]), "VALIDATION_FAILED".into()),
            (json!(["groupName"]), "VALIDATION_FAILED".into())
        ]
    );
    assert_eq!(read(&app, &dm, w.a.account).await, pending);
    assert_eq!(snapshot(&app).await, before);

    let events = app.outbox_count().await;
    let p = call(&app, &support, "mobilityActivationComplete", complete.clone()).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let s = read(&app, &dm, w.a.account).await;
    assert_eq!(s["state"], "ACTIVE");
    assert_eq!(s["settings"]["mobilityRouter"], "mr1.example.net");
    assert_eq!(s["settings"]["groupName"], "alpha");
    assert_eq!(
        s["settings"]["updatedBy"],
        json!({ "kind": "SUPPORT", "name": "tester" })
    );
    assert_eq!(events_since(&app, events).await, vec!["mobility.activation_completed"]);
    let p = call(&app, &support, "mobilityActivationComplete", complete).await;
    assert_eq!(codes_of(&p), vec!["INVALID_STATE"]);
}

async fn m4_only_support_changes_settings_at_the_version_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let a = gid(Kind::Account, w.a.account);
    let p = call(
        &app,
        &support,
        "mobilitySettingsUpdate",
        json!({ "accountId": a, "expectedVersion": 0, "handoverNumber": "5550001111" }),
    )
    .await;
    assert_eq!(
        codes_of(&p),
        vec!["INVALID_STATE"],
        "nothing to change before activation"
    );

    let version = activate_mobility(&app, &w.a).await;
    let active = read(&app, &dm, w.a.account).await;
    let before = snapshot(&app).await;
    for who in [w.a.dm, w.a.pm, w.a.pm_loc1, w.a.user1] {
        let p = call(
            &app,
            &app.token(who),
            "mobilitySettingsUpdate",
            json!({ "accountId": a, "expectedVersion": version, "handoverNumber": "5550001111" }),
        )
        .await;
        assert_eq!(codes_of(&p), vec!["FORBIDDEN"], "M4");
        // The refusal says who may.
        assert_eq!(
            p["userErrors"][0]["message"],
            "only Support may change the mobility settings"
        );
    }
    let p = call(
        &app,
        &support,
        "mobilitySettingsUpdate",
        json!({ "accountId": a, "expectedVersion": version - 1, "handoverNumber": "5550001111" }),
    )
    .await;
    assert_eq!(errors(&p), vec![(json!(["expectedVersion"]), "STALE_VERSION".into())]);
    assert_eq!(
        read(&app, &dm, w.a.account).await,
        active,
        "nothing changed, version included"
    );
    assert_eq!(snapshot(&app).await, before);

    // A change: version +1, one event listing the changed fields only.
    let events = app.outbox_count().await;
    let p = call(
        &app,
        &support,
        "mobilitySettingsUpdate",
        json!({ "accountId": a, "expectedVersion": version, "handoverNumber": "5550001111",
                "groupName": "alpha-group", "accessNumberId": gid(Kind::AccessNumber, w.a.access_number) }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobility"]["settings"]["version"], version + 1);
    let now = read(&app, &dm, w.a.account).await;
    assert_eq!(now["settings"]["handoverNumber"], "5550001111");
    assert_eq!(now["settings"]["mobilityRouter"], active["settings"]["mobilityRouter"]);
    assert_eq!(events_since(&app, events).await, vec!["mobility.settings_updated"]);
    let event = last_payload(&app).await;
    assert_eq!(
        event["changes"],
        json!([{ "field": "handoverNumber", "old": "6465697333", "new": "5550001111" }]),
        "unchanged values given again are not changes"
    );

    // The same values again change nothing: no version, no event.
    let p = call(
        &app,
        &support,
        "mobilitySettingsUpdate",
        json!({ "accountId": a, "expectedVersion": version + 1, "handoverNumber": "5550001111" }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(read(&app, &dm, w.a.account).await, now);
    assert_eq!(app.outbox_count().await, events + 1);
}

/// The payload of the newest outbox event.
async fn last_payload(app: &TestApp) -> Value {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::outbox_event::Entity::find()
        .order_by_desc(entity::outbox_event::Column::Position)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .payload
}

const NOTIFICATIONS: &str = "query($a: ID!) { account(id: $a) { mobility { notifications(first: 10) {
    totalCount nodes { id createdBy { kind } changes { field oldValue newValue }
    recipients { user { id } email status attempts } } } } } }";

async fn m5_m6_changes_notify_the_enabled_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let a = gid(Kind::Account, w.a.account);
    let mut version = activate_mobility(&app, &w.a).await;
    enable_mobility(
        &app,
        &w.a,
        &[(w.a.user1, "4001"), (w.a.pm_loc1, "4002"), (w.a.pm, "4003")],
    )
    .await;
    // pm_loc1 has no email address: recorded as skipped.
    let p = app
        .gql(
            &support,
            "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": gid(Kind::User, w.a.pm_loc1), "email": null } }),
        )
        .await;
    assert_eq!(codes(&p, "userUpdate"), Vec::<String>::new());
    let update = |version: i64, handover: &str| json!({ "accountId": a, "expectedVersion": version, "handoverNumber": handover, "voicemailAccessNumber": "8992" });
    let notifications = || async { count(&app.state.db, "SELECT COUNT(*) AS n FROM mobility_notification").await };

    // M6: flag off → a change queues nothing.
    let p = call(&app, &support, "mobilitySettingsUpdate", update(version, "5550000001")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    version += 1;
    assert_eq!(notifications().await, 0);

    // M5: the flag changes no setting and sends nothing; the same value again is a no-op.
    let settings = read(&app, &dm, w.a.account).await["settings"].clone();
    let events = app.outbox_count().await;
    let on = json!({ "accountId": a, "enabled": true });
    let p = call(&app, &dm, "mobilityEmailNotificationSet", on.clone()).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    version += 1;
    let now = read(&app, &dm, w.a.account).await["settings"].clone();
    assert_eq!(now["sendEmailNotification"], true);
    for field in [
        "mobilityRouter",
        "groupName",
        "voicemailAccessNumber",
        "accessNumber",
        "reverseDialNumber",
        "handoverNumber",
    ] {
        assert_eq!(now[field], settings[field], "M5 leaves {field} alone");
    }
    assert_eq!(now["version"], version);
    assert_eq!(
        events_since(&app, events).await,
        vec!["mobility.email_notification_changed"]
    );
    call(&app, &dm, "mobilityEmailNotificationSet", on).await;
    assert_eq!(read(&app, &dm, w.a.account).await["settings"], now, "same value: no-op");
    assert_eq!(app.outbox_count().await, events + 1);
    assert_eq!(notifications().await, 0, "M5 never queues mail");

    // M6: a change with the flag on → one notification, every enabled user, the changed fields.
    let events = app.outbox_count().await;
    let p = call(&app, &support, "mobilitySettingsUpdate", update(version, "5550000002")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    version += 1;
    assert_eq!(
        events_since(&app, events).await,
        vec!["mobility.settings_updated", "mobility.notification_queued"]
    );
    let body = app.gql(&dm, NOTIFICATIONS, json!({ "a": a })).await;
    let list = &body["data"]["account"]["mobility"]["notifications"];
    assert_eq!(list["totalCount"], 1, "{body}");
    let n = &list["nodes"][0];
    assert_eq!(
        n["changes"],
        json!([{ "field": "handoverNumber", "oldValue": "5550000001", "newValue": "5550000002" }]),
        "voicemail was 8992 already: not a change"
    );
    assert_eq!(n["createdBy"]["kind"], "SUPPORT");
    let mut recipients: Vec<(String, String, String)> = n["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"]["id"].as_str().unwrap().to_owned(),
                r["email"].to_string(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    recipients.sort();
    let mut expected = vec![
        (
            gid(Kind::User, w.a.user1),
            json!("u3@alphacorp.example").to_string(),
            "PENDING".to_owned(),
        ),
        (
            gid(Kind::User, w.a.pm_loc1),
            Value::Null.to_string(),
            "SKIPPED".to_owned(),
        ),
        (
            gid(Kind::User, w.a.pm),
            json!("u1@alphacorp.example").to_string(),
            "PENDING".to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(recipients, expected);

    // No change → nothing queued; a disabled user is no longer a recipient.
    call(&app, &support, "mobilitySettingsUpdate", update(version, "5550000002")).await;
    assert_eq!(notifications().await, 1);
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.user1)] }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    call(&app, &support, "mobilitySettingsUpdate", update(version, "5550000003")).await;
    let body = app.gql(&dm, NOTIFICATIONS, json!({ "a": a })).await;
    let newest = &body["data"]["account"]["mobility"]["notifications"]["nodes"][0];
    assert_eq!(newest["changes"][0]["newValue"], "5550000003", "newest first");
    assert_eq!(newest["recipients"].as_array().unwrap().len(), 2, "{newest}");
    assert_eq!(
        count(&app.state.db, "SELECT COUNT(*) AS n FROM notification_delivery").await,
        5
    );

    // Plain users and location Phone Managers do not read delivery state.
    for who in [w.a.user1, w.a.pm_loc1] {
        let body = app.gql(&app.token(who), NOTIFICATIONS, json!({ "a": a })).await;
        assert!(body["data"]["account"]["mobility"]["notifications"].is_null(), "{body}");
    }
}

backend_tests!(
    m1_the_activation_sets_the_email_checkbox,
    m1_activation_is_bought_by_an_account_manager,
    m2_stored_numbers_survive_a_new_activation,
    m3_support_completes_the_activation,
    m4_only_support_changes_settings_at_the_version_read,
    m5_m6_changes_notify_the_enabled_users,
);
