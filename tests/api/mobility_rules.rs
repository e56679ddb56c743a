//! Connect for Mobile, rule by rule (SPEC M1–M12, T1): each test asserts the answer, a read-back
//! (changed, or unchanged after a refusal) and the outbox rows.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::*;

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

fn account_input(t: &Tenant) -> Value {
    json!({ "accountId": gid(Kind::Account, t.account) })
}

fn activation(t: &Tenant) -> Value {
    json!({
        "accountId": gid(Kind::Account, t.account), "confirmPurchase": true,
        "voicemailAccessNumber": "8991", "accessNumberId": gid(Kind::AccessNumber, t.access_number),
    })
}

fn enable_input(t: &Tenant, rows: &[(Uuid, &str)]) -> Value {
    let users: Vec<Value> = rows
        .iter()
        .map(|(id, x)| json!({ "userId": gid(Kind::User, *id), "mobilityExtension": x }))
        .collect();
    json!({ "accountId": gid(Kind::Account, t.account), "users": users })
}

/// Event types recorded after `from` rows of the outbox.
async fn events_since(app: &TestApp, from: i64) -> Vec<String> {
    app.outbox_types().await.split_off(from as usize)
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

async fn m7_m8_the_enable_batch_is_all_or_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let good = enable_input(&w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]);
    let p = call(&app, &dm, "mobilityUsersEnable", good.clone()).await;
    assert_eq!(errors(&p), vec![(json!(["accountId"]), "ADDON_NOT_ACTIVE".into())]);
    activate_mobility(&app, &w.a).await;

    // M7, M8: every bad row is reported with its index, and nothing is written.
    let before = snapshot(&app).await;
    let bad = enable_input(
        &w.a,
        &[
            (w.a.user1, "4001"),
            (w.a.user2, "4002"),
            (Uuid::new_v4(), "4003"),
            (w.b.user1, "4004"),
            (w.a.dm, "1001"),
            (w.a.pm, "40a"),
            (w.a.pm_loc1, "4001"),
            (w.a.user1, "4009"),
            (w.a.pm, "12"),
        ],
    );
    let p = call(&app, &dm, "mobilityUsersEnable", bad).await;
    let e = |i: usize, f: &str, c: &str| (json!(["users", i.to_string(), f]), c.to_owned());
    assert_eq!(
        errors(&p),
        vec![
            e(1, "userId", "INELIGIBLE_PHONE_PROFILE"),
            e(2, "userId", "NOT_FOUND"),
            e(3, "userId", "NOT_FOUND"),
            e(4, "mobilityExtension", "EXTENSION_CONFLICT"),
            e(5, "mobilityExtension", "VALIDATION_FAILED"),
            e(6, "mobilityExtension", "EXTENSION_CONFLICT"),
            e(7, "userId", "VALIDATION_FAILED"),
            e(8, "userId", "VALIDATION_FAILED"),
            e(8, "mobilityExtension", "VALIDATION_FAILED"),
        ]
    );
    assert_eq!(p["mobilityUsers"], json!([]));
    assert_eq!(snapshot(&app).await, before);

    // The summary step: checked, answered, nothing written.
    let mut dry = good.clone();
    dry["dryRun"] = json!(true);
    let p = call(&app, &dm, "mobilityUsersEnable", dry).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["dryRun"], true);
    let exts: Vec<&str> = p["mobilityUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mobilityExtension"].as_str().unwrap())
        .collect();
    assert_eq!(exts, vec!["4001", "4002"]);
    assert_eq!(snapshot(&app).await, before);

    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityUsersEnable", good.clone()).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["dryRun"], false);
    assert_eq!(p["mobilityUsers"][0]["user"]["id"], gid(Kind::User, w.a.user1));
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_enabled"; 2]);
    let me = app
        .gql(
            &app.token(w.a.user1),
            "{ me { mobility { mobilityExtension eligible } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"]["mobility"],
        json!({ "mobilityExtension": "4001", "eligible": true })
    );

    // Enabled already; and a plain user may enable nobody.
    let before = snapshot(&app).await;
    let p = call(
        &app,
        &support,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.user1, "4005")]),
    )
    .await;
    assert_eq!(errors(&p), vec![e(0, "userId", "ALREADY_ENABLED")]);
    let p = call(
        &app,
        &app.token(w.a.user1),
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "4005")]),
    )
    .await;
    assert_eq!(errors(&p), vec![(json!(["accountId"]), "FORBIDDEN".into())]);
    assert_eq!(snapshot(&app).await, before);
}

async fn m8_mobility_and_user_extensions_never_meet(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = app.support();
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001")]).await;
    let before = snapshot(&app).await;
    // M8, reverse direction: a new or changed user extension may not take a mobility extension.
    let create = "mutation($a: ID!) { userCreate(input: {accountId: $a, name: \"New\", extension: \"4001\", phoneProfile: ELITE}) { userErrors { field code } } }";
    let body = app
        .gql(&support, create, json!({ "a": gid(Kind::Account, w.a.account) }))
        .await;
    assert_eq!(codes(&body, "userCreate"), vec!["EXTENSION_CONFLICT"]);
    let update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { field code } } }";
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.pm), "extension": "4001" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), vec!["EXTENSION_CONFLICT"]);
    // Another account may use the same number.
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.b.pm), "extension": "4001" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let after = snapshot(&app).await;
    assert_eq!(after[..6], before[..6], "only the other account's update wrote");
    // A user's changed extension frees the old one for mobility at once.
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.pm), "extension": "1999" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let p = call(
        &app,
        &support,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "1001")]),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new(), "1001 was pm's and is free now");
    let claims = {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entity::extension_claim::Entity::find()
            .filter(entity::extension_claim::Column::AccountId.eq(w.a.account))
            .count(&app.state.db)
            .await
            .unwrap()
    };
    assert_eq!(claims, 5 + 2, "five users' extensions and two mobility extensions");
}

async fn m9_an_enabled_users_extension_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]).await;
    let input = |who: Uuid, x: &str| json!({ "userId": gid(Kind::User, who), "mobilityExtension": x });
    let before = snapshot(&app).await;
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.pm_loc1, "4003")).await;
    assert_eq!(errors(&p), vec![(json!(["userId"]), "NOT_ENABLED".into())]);
    for taken in ["4002", "1003"] {
        let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, taken)).await;
        assert_eq!(
            errors(&p),
            vec![(json!(["mobilityExtension"]), "EXTENSION_CONFLICT".into())]
        );
    }
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4x")).await;
    assert_eq!(codes_of(&p), vec!["VALIDATION_FAILED"]);
    // M9: the same value is a no-op that records nothing.
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4001")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobilityUser"]["mobilityExtension"], "4001");
    assert_eq!(snapshot(&app).await, before);

    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4101")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobilityUser"]["mobilityExtension"], "4101");
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_updated"]);
    let body = app
        .gql(
            &dm,
            "query($u: ID!) { node(id: $u) { ... on User { mobility { mobilityExtension } } } }",
            json!({ "u": gid(Kind::User, w.a.user1) }),
        )
        .await;
    assert_eq!(body["data"]["node"]["mobility"]["mobilityExtension"], "4101");
    // The old extension is free at once.
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.pm, "4001")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
}

async fn m10_disabling_is_atomic_and_frees_extensions(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let a = gid(Kind::Account, w.a.account);
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]).await;
    let before = snapshot(&app).await;
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.user1), gid(Kind::User, w.a.pm_loc1), gid(Kind::User, w.b.user1)] }),
    )
    .await;
    assert_eq!(
        errors(&p),
        vec![
            (json!(["userIds", "1"]), "NOT_ENABLED".into()),
            (json!(["userIds", "2"]), "NOT_FOUND".into())
        ]
    );
    assert_eq!(snapshot(&app).await, before, "M10: all or nothing");
    let p = call(&app, &support, "mobilityDeactivate", json!({ "accountId": a })).await;
    assert_eq!(codes_of(&p), vec!["USERS_STILL_ENABLED"]);

    let events = app.outbox_count().await;
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.user1), gid(Kind::User, w.a.pm)] }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_disabled"; 2]);
    assert_eq!(count(&app.state.db, "SELECT COUNT(*) AS n FROM mobility_user").await, 0);
    // Their extensions are free again at once.
    let p = call(
        &app,
        &dm,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "4001")]),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.pm_loc1)] }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    // With nobody enabled, Support may deactivate.
    let p = call(&app, &support, "mobilityDeactivate", json!({ "accountId": a })).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(read(&app, &dm, w.a.account).await["state"], "NOT_ACTIVATED");
}

const LIST: &str = "query($a: ID!, $s: String, $f: MobilityUserFilter, $n: Int, $c: String) {
  account(id: $a) { mobility { users(first: $n, after: $c, search: $s, filter: $f) {
    totalCount nodes { name mobilityExtension } pageInfo { hasNextPage endCursor } } } } }";

async fn list(app: &TestApp, token: &str, account: Uuid, vars: Value) -> (Vec<String>, Value) {
    let mut vars = vars;
    vars["a"] = json!(gid(Kind::Account, account));
    let body = app.gql(token, LIST, vars).await;
    let users = body["data"]["account"]["mobility"]["users"].clone();
    let names = users["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    (names, users)
}

async fn m11_the_list_searches_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = api::policy::Principal::Support { name: "t".into() };
    let rows = ["Zoe Zed", "anna Ames", "Bob Brown", "Cleo Chu"]
        .iter()
        .enumerate()
        .map(|(i, n)| api::service::directory::UserFields {
            location_id: Some(Some(if i % 2 == 0 { w.a.loc1 } else { w.a.loc2 })),
            name: (*n).into(),
            email: Some(format!("x{i}@mail.example")),
            phone_number: Some(format!("+1555777{i:04}")),
            extension: format!("{}", 3000 + i),
            phone_profile: entity::PhoneProfile::Elite,
        })
        .collect();
    let extra = api::service::directory::import_users(
        &app.state.db,
        &support,
        &app.state.settings.remote_extension,
        Some(w.a.account),
        rows,
    )
    .await
    .unwrap();
    activate_mobility(&app, &w.a).await;
    enable_mobility(
        &app,
        &w.a,
        &[
            (extra[0].id, "4100"),
            (extra[1].id, "4200"),
            (extra[2].id, "4300"),
            (w.a.user1, "4400"),
        ],
    )
    .await;
    let dm = app.token(w.a.dm);

    let (names, _) = list(&app, &dm, w.a.account, json!({})).await;
    assert_eq!(
        names,
        vec!["anna Ames", "Bob Brown", "Uma One", "Zoe Zed"],
        "by name, case-insensitive"
    );
    // M11: the toolbar search covers name, number, extension and mobility extension, not email.
    for (search, expected) in [
        ("ANNA", vec!["anna Ames"]),
        ("5557770002", vec!["Bob Brown"]),
        ("3002", vec!["Bob Brown"]),
        ("4400", vec!["Uma One"]),
        ("mail.example", vec![]),
        ("%", vec![]),
    ] {
        let (names, _) = list(&app, &dm, w.a.account, json!({ "s": search })).await;
        assert_eq!(names, expected, "search {search}");
    }
    let (names, _) = list(
        &app,
        &dm,
        w.a.account,
        json!({ "f": { "mobilityExtension": "4", "name": "o" } }),
    )
    .await;
    assert_eq!(names, vec!["Bob Brown", "Uma One", "Zoe Zed"]);
    let (names, _) = list(
        &app,
        &dm,
        w.a.account,
        json!({ "f": { "extension": "300", "phoneNumber": "0001" } }),
    )
    .await;
    assert_eq!(names, vec!["anna Ames"]);
    // A filtered list's first page from either end, built and resolved: its matches are
    // gathered and counted first, then sorted into the page (issue 17).
    let ends = "query($a: ID!, $s: String, $f: MobilityUserFilter) { account(id: $a) { mobility {
        head: users(first: 2, search: $s, filter: $f) { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage } }
        tail: users(last: 2, search: $s, filter: $f) { totalCount nodes { name } pageInfo { hasNextPage hasPreviousPage } }
        resolved: users(last: 2, search: $s, filter: $f) { totalCount edges { node { name } } } } } }";
    let all = vec!["anna Ames", "Bob Brown", "Uma One", "Zoe Zed"];
    let with_o = vec!["Bob Brown", "Uma One", "Zoe Zed"];
    for (search, filter, all) in [
        (None, json!({ "mobilityExtension": "4" }), all),
        (None, json!({ "name": "o" }), with_o.clone()),
        (Some("O"), json!({ "mobilityExtension": "4" }), with_o),
    ] {
        let vars = json!({ "a": gid(Kind::Account, w.a.account), "s": search, "f": filter });
        let body = app.gql(&dm, ends, vars).await;
        let m = &body["data"]["account"]["mobility"];
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|n| {
                    n["name"]
                        .as_str()
                        .unwrap_or_else(|| n["node"]["name"].as_str().unwrap())
                        .to_owned()
                })
                .collect()
        };
        assert_eq!(names(&m["head"]["nodes"]), all[..2], "{filter}: {body}");
        assert_eq!(names(&m["tail"]["nodes"]), all[all.len() - 2..], "{filter}: {body}");
        assert_eq!(names(&m["resolved"]["edges"]), all[all.len() - 2..], "{filter}: {body}");
        for page in ["head", "tail", "resolved"] {
            assert_eq!(m[page]["totalCount"], all.len(), "{filter} {page}: {body}");
        }
        assert_eq!(
            m["head"]["pageInfo"],
            json!({ "hasNextPage": true, "hasPreviousPage": false })
        );
        assert_eq!(
            m["tail"]["pageInfo"],
            json!({ "hasNextPage": false, "hasPreviousPage": true })
        );
    }

    // Cursor pagination stays correct while rows are added.
    let (page1, users) = list(&app, &dm, w.a.account, json!({ "n": 2 })).await;
    assert_eq!(page1, vec!["anna Ames", "Bob Brown"]);
    assert_eq!(users["totalCount"], 4);
    enable_mobility(&app, &w.a, &[(extra[3].id, "4500")]).await; // "Cleo Chu" sorts into page 2
    let cursor = users["pageInfo"]["endCursor"].clone();
    let (page2, users) = list(&app, &dm, w.a.account, json!({ "n": 2, "c": cursor })).await;
    assert_eq!(page2, vec!["Cleo Chu", "Uma One"]);
    assert_eq!(users["pageInfo"]["hasNextPage"], true);

    // A location Phone Manager sees its locations only.
    let (names, _) = list(&app, &app.token(w.a.pm_loc1), w.a.account, json!({})).await;
    assert_eq!(names, vec!["Bob Brown", "Uma One", "Zoe Zed"], "loc1 only");

    // The wizard's first step: eligible and not enabled, searchable.
    let eligible = "query($a: ID!, $s: String) { account(id: $a) { mobility { eligibleUsers(first: 50, search: $s) { nodes { name } } } } }";
    let body = app
        .gql(&dm, eligible, json!({ "a": gid(Kind::Account, w.a.account) }))
        .await;
    let names: Vec<&str> = body["data"]["account"]["mobility"]["eligibleUsers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["Dana DM", "Lee LocalPM", "Pat PM"],
        "Ulf Two is BASIC; the others are enabled"
    );
    let body = app
        .gql(
            &dm,
            eligible,
            json!({ "a": gid(Kind::Account, w.a.account), "s": "1002" }),
        )
        .await;
    assert_eq!(
        body["data"]["account"]["mobility"]["eligibleUsers"]["nodes"],
        json!([{ "name": "Lee LocalPM" }])
    );
}

async fn m12_a_downgraded_user_stays_enabled_but_ineligible(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = app.support();
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001")]).await;
    let update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }";
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.user1), "phoneProfile": "BASIC" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let body = app
        .gql(
            &support,
            "query($a: ID!) { account(id: $a) { mobility { users { nodes { name eligible mobilityExtension } } } } }",
            json!({ "a": gid(Kind::Account, w.a.account) }),
        )
        .await;
    assert_eq!(
        body["data"]["account"]["mobility"]["users"]["nodes"],
        json!([{ "name": "Uma One", "eligible": false, "mobilityExtension": "4001" }])
    );
}

async fn t1_another_tenants_mobility_is_unknown(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let c = tenant(&app.state, "Gamma Corp", entity::Platform::MicloudConnect, 3000).await;
    activate_mobility(&app, &w.a).await;
    activate_mobility(&app, &c).await;
    enable_mobility(&app, &c, &[(c.user1, "4001")]).await;
    let before = snapshot(&app).await;
    let c_state = read(&app, &app.support(), c.account).await;
    let (ghost_account, ghost_user) = (gid(Kind::Account, Uuid::new_v4()), gid(Kind::User, Uuid::new_v4()));
    let (ca, cu) = (gid(Kind::Account, c.account), gid(Kind::User, c.user1));
    for who in [w.a.dm, w.a.pm, w.a.pm_loc1, w.a.user1] {
        let token = app.token(who);
        let cases = |account: &str, user: &str| {
            vec![
                (
                    "mobilityActivate",
                    json!({ "accountId": account, "confirmPurchase": true, "voicemailAccessNumber": "8991", "accessNumberId": gid(Kind::AccessNumber, c.access_number) }),
                ),
                (
                    "mobilityActivationComplete",
                    json!({ "accountId": account, "mobilityRouter": "r", "groupName": "g" }),
                ),
                (
                    "mobilitySettingsUpdate",
                    json!({ "accountId": account, "expectedVersion": 2, "groupName": "x" }),
                ),
                (
                    "mobilityEmailNotificationSet",
                    json!({ "accountId": account, "enabled": true }),
                ),
                ("mobilityDeactivate", json!({ "accountId": account })),
                (
                    "mobilityUsersEnable",
                    json!({ "accountId": account, "users": [{ "userId": user, "mobilityExtension": "4999" }] }),
                ),
                (
                    "mobilityUsersDisable",
                    json!({ "accountId": account, "userIds": [user] }),
                ),
                (
                    "mobilityUserUpdate",
                    json!({ "userId": user, "mobilityExtension": "4999" }),
                ),
            ]
        };
        for ((name, real), (_, ghost)) in cases(&ca, &cu).into_iter().zip(cases(&ghost_account, &ghost_user)) {
            let a = call(&app, &token, name, real).await;
            let b = call(&app, &token, name, ghost).await;
            assert_eq!(a, b, "T1: {name} as {who} answers as for an unknown id");
            assert_eq!(codes_of(&a), vec!["NOT_FOUND"], "{name}: {a}");
        }
        // Rows of tenant A's own account, naming C's user: NOT_FOUND at the row.
        let p = call(
            &app,
            &token,
            "mobilityUsersEnable",
            enable_input(&w.a, &[(c.user1, "4998")]),
        )
        .await;
        if who != w.a.user1 {
            assert_eq!(errors(&p), vec![(json!(["users", "0", "userId"]), "NOT_FOUND".into())]);
        }
        let body = app
            .gql(
                &token,
                "query($a: ID!, $m: ID!) { account(id: $a) { id } node(id: $m) { id } }",
                json!({ "a": ca, "m": gid(Kind::MobilityUser, c.user1) }),
            )
            .await;
        assert_eq!(body["data"], json!({ "account": null, "node": null }));
    }
    assert_eq!(snapshot(&app).await, before, "T1: nothing changed");
    assert_eq!(read(&app, &app.support(), c.account).await, c_state);
    // Support sees the MobilityUser node.
    let body = app
        .gql(
            &app.support(),
            "query($m: ID!) { node(id: $m) { ... on MobilityUser { mobilityExtension } } }",
            json!({ "m": gid(Kind::MobilityUser, c.user1) }),
        )
        .await;
    assert_eq!(body["data"]["node"]["mobilityExtension"], "4001");
}

backend_tests!(
    m1_activation_is_bought_by_an_account_manager,
    m2_stored_numbers_survive_a_new_activation,
    m3_support_completes_the_activation,
    m4_only_support_changes_settings_at_the_version_read,
    m5_m6_changes_notify_the_enabled_users,
    m7_m8_the_enable_batch_is_all_or_nothing,
    m8_mobility_and_user_extensions_never_meet,
    m9_an_enabled_users_extension_changes,
    m10_disabling_is_atomic_and_frees_extensions,
    m11_the_list_searches_filters_and_pages,
    m12_a_downgraded_user_stays_enabled_but_ineligible,
    t1_another_tenants_mobility_is_unknown,
);
