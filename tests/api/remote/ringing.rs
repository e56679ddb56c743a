//! Voicemail-safe ringing on remote extensions (issue 21 §3): the delay before ringing, "answer
//! too soon" and "answer too late", and the key press, on `userNumberUpdate` and
//! `userNumberCreate`. Each refusal is checked to change nothing (the read-back and the outbox).

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

const RINGING: &str = "query($n: ID!) { node(id: $n) { ... on UserNumber {
    ringDelaySeconds answerTooSoonMs answerTooLateMs requireKeypress } } }";

/// The ringing of number `id` as `token` reads it.
async fn ringing(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(token, RINGING, json!({ "n": id })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["node"].clone()
}

fn ring(delay: i64, soon: i64, late: i64, keypress: bool) -> Value {
    json!({ "ringDelaySeconds": delay, "answerTooSoonMs": soon, "answerTooLateMs": late, "requireKeypress": keypress })
}

/// `userNumberUpdate` of `id` with `fields`.
fn update(id: &str, fields: Value) -> Value {
    let mut input = fields;
    input["id"] = json!(id);
    input
}

/// An update of `id` with `fields` that goes through; its payload.
async fn applied(app: &TestApp, token: &str, id: &str, fields: Value) -> Value {
    let payload = rcall(app, token, "userNumberUpdate", update(id, fields.clone())).await;
    assert_eq!(rcodes(&payload), Vec::<String>::new(), "{fields}: {payload}");
    payload
}

/// A refused update of `id`: `code` on `field`, and the number's ringing and the outbox as they
/// were.
async fn refused_on(app: &TestApp, token: &str, id: &str, fields: Value, code: &str, field: &str) {
    let (before, head) = (ringing(app, &app.support(), id).await, outbox_head(app).await);
    let payload = rcall(app, token, "userNumberUpdate", update(id, fields.clone())).await;
    assert_eq!(rcodes(&payload), vec![code], "{fields}: {payload}");
    assert_eq!(payload["userErrors"][0]["field"], json!([field]), "{fields}: {payload}");
    assert!(payload["userNumber"].is_null(), "{payload}");
    assert_eq!(ringing(app, &app.support(), id).await, before, "{fields}: unchanged");
    assert_eq!(types_since(app, head).await, Vec::<String>::new(), "{fields}: no event");
}

async fn remote_extensions_ring_as_their_user_sets(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (user, dm, support) = (app.token(w.c.user1), app.token(w.c.dm), app.support());
    let provisioned =
        json!({ "userId": gid(Kind::User, w.c.user1), "number": "0701110004", "isRemoteExtension": true });
    let provisioned = id_of(&rcall(&app, &dm, "userNumberCreate", provisioned).await, "userNumber");
    let own = rcall(&app, &user, "userNumberCreate", number("09818123456", true, "Home")).await;
    let own = id_of(&own, "userNumber");
    let head = outbox_head(&app).await;
    let mobile = rcall(&app, &user, "userNumberCreate", number("+46701234567", false, "Mobile")).await;
    let mobile = id_of(&mobile, "userNumber");
    let created = events_since(&app, head).await;
    assert!(created[0].1.get("ringDelaySeconds").is_none(), "{created:?}");

    // Defaults on remote extensions; nothing on other numbers.
    assert_eq!(ringing(&app, &user, &own).await, ring(0, 1_500, 19_000, false));
    assert_eq!(ringing(&app, &user, &provisioned).await, ring(0, 1_500, 19_000, false));
    assert_eq!(
        ringing(&app, &user, &mobile).await,
        json!({ "ringDelaySeconds": null, "answerTooSoonMs": null, "answerTooLateMs": null, "requireKeypress": null })
    );

    // The user sets all four on their own remote extension: one event with the four changes.
    let head = outbox_head(&app).await;
    applied(&app, &user, &own, ring(4, 2_000, 25_000, true)).await;
    assert_eq!(ringing(&app, &user, &own).await, ring(4, 2_000, 25_000, true));
    let events = events_since(&app, head).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "user_number.updated");
    assert_eq!(
        events[0].1["changes"],
        json!({
            "ringDelaySeconds": { "old": 0, "new": 4 },
            "answerTooSoonMs": { "old": 1_500, "new": 2_000 },
            "answerTooLateMs": { "old": 19_000, "new": 25_000 },
            "requireKeypress": { "old": false, "new": true },
        })
    );
    // The same values again change nothing and record nothing.
    let head = outbox_head(&app).await;
    applied(&app, &user, &own, ring(4, 2_000, 25_000, true)).await;
    assert_eq!(types_since(&app, head).await, Vec::<String>::new());

    // Each field's range, and "too late" after "too soon" (or 0, off).
    for (fields, field) in [
        (json!({ "ringDelaySeconds": 31 }), "ringDelaySeconds"),
        (json!({ "ringDelaySeconds": -1 }), "ringDelaySeconds"),
        (json!({ "answerTooSoonMs": 10_001 }), "answerTooSoonMs"),
        (json!({ "answerTooSoonMs": -1 }), "answerTooSoonMs"),
        (json!({ "answerTooLateMs": 300_001 }), "answerTooLateMs"),
        (json!({ "answerTooLateMs": -5 }), "answerTooLateMs"),
        (json!({ "answerTooLateMs": 2_000 }), "answerTooLateMs"),
        (json!({ "answerTooLateMs": 1_999 }), "answerTooLateMs"),
        (
            json!({ "answerTooSoonMs": 9_000, "answerTooLateMs": 8_000 }),
            "answerTooLateMs",
        ),
        // Only one field is bad: the rest of the request is not applied either.
        (
            json!({ "ringDelaySeconds": 9, "answerTooSoonMs": 20_000 }),
            "answerTooSoonMs",
        ),
    ] {
        refused_on(&app, &user, &own, fields, "VALIDATION_FAILED", field).await;
    }
    // A shorter "too late" first, then a "too soon" past it: refused on the field given.
    applied(&app, &user, &own, json!({ "answerTooLateMs": 5_000 })).await;
    refused_on(
        &app,
        &user,
        &own,
        json!({ "answerTooSoonMs": 5_000 }),
        "VALIDATION_FAILED",
        "answerTooSoonMs",
    )
    .await;
    // "Too late" off: "too soon" may go to its limit.
    let off = json!({ "answerTooLateMs": 0, "answerTooSoonMs": 10_000 });
    applied(&app, &user, &own, off).await;
    assert_eq!(ringing(&app, &user, &own).await, ring(4, 10_000, 0, true));
    applied(&app, &user, &own, ring(30, 0, 300_000, false)).await;
    assert_eq!(ringing(&app, &user, &own).await, ring(30, 0, 300_000, false));

    // Only remote extensions ring this way.
    refused_on(
        &app,
        &user,
        &mobile,
        json!({ "requireKeypress": true }),
        "VALIDATION_FAILED",
        "requireKeypress",
    )
    .await;
    refused_on(
        &app,
        &dm,
        &mobile,
        json!({ "ringDelaySeconds": 3 }),
        "VALIDATION_FAILED",
        "ringDelaySeconds",
    )
    .await;

    // A provisioned number: its administrators set them, its user may not.
    refused_on(
        &app,
        &user,
        &provisioned,
        json!({ "ringDelaySeconds": 5 }),
        "FORBIDDEN",
        "ringDelaySeconds",
    )
    .await;
    applied(&app, &dm, &provisioned, ring(5, 1_000, 20_000, true)).await;
    assert_eq!(ringing(&app, &user, &provisioned).await, ring(5, 1_000, 20_000, true));
    // The user still relabels it (R5) beside its ringing.
    let label = applied(&app, &user, &provisioned, json!({ "label": "Work mobile" })).await;
    assert_eq!(label["userNumber"]["label"], "Work mobile", "{label}");
    // Support covers every account.
    applied(&app, &support, &own, json!({ "ringDelaySeconds": 2 })).await;

    // A remote extension made an ordinary number hides its ringing, and keeps it for when it is
    // one again.
    applied(&app, &user, &own, json!({ "isRemoteExtension": false })).await;
    assert_eq!(ringing(&app, &user, &own).await["ringDelaySeconds"], Value::Null);
    applied(&app, &user, &own, json!({ "isRemoteExtension": true })).await;
    assert_eq!(ringing(&app, &user, &own).await, ring(2, 0, 300_000, false));
    // A new remote extension may start with its own ringing; the same checks apply.
    let mut work = number("09818123457", true, "Work");
    for (key, value) in ring(6, 1_000, 0, true).as_object().unwrap() {
        work[key] = value.clone();
    }
    let head = outbox_head(&app).await;
    let work = id_of(&rcall(&app, &user, "userNumberCreate", work).await, "userNumber");
    assert_eq!(ringing(&app, &user, &work).await, ring(6, 1_000, 0, true));
    let created = events_since(&app, head).await;
    assert_eq!(created[0].0, "user_number.created");
    for (key, value) in ring(6, 1_000, 0, true).as_object().unwrap() {
        assert_eq!(&created[0].1[key], value, "the event carries {key}: {created:?}");
    }
    let mut for_user =
        json!({ "userId": gid(Kind::User, w.c.user1), "number": "0701110005", "isRemoteExtension": true });
    for_user["answerTooLateMs"] = json!(60_000);
    let for_user = id_of(&rcall(&app, &dm, "userNumberCreate", for_user).await, "userNumber");
    assert_eq!(ringing(&app, &user, &for_user).await, ring(0, 1_500, 60_000, false));
    for (extra, field) in [
        (
            json!({ "isRemoteExtension": false, "requireKeypress": true }),
            "requireKeypress",
        ),
        (json!({ "ringDelaySeconds": 31 }), "ringDelaySeconds"),
        (
            json!({ "answerTooSoonMs": 3_000, "answerTooLateMs": 3_000 }),
            "answerTooLateMs",
        ),
    ] {
        let mut input = number("09818123458", true, "Spare");
        for (key, value) in extra.as_object().unwrap() {
            input[key] = value.clone();
        }
        refused(&app, &user, "userNumberCreate", input.clone(), "VALIDATION_FAILED").await;
        let payload = rcall(&app, &user, "userNumberCreate", input).await;
        assert_eq!(payload["userErrors"][0]["field"], json!([field]), "{payload}");
    }

    // Another tenant's administrator does not know the number (T1).
    let other = app.token(w.d.dm);
    let payload = rcall(
        &app,
        &other,
        "userNumberUpdate",
        update(&own, json!({ "ringDelaySeconds": 1 })),
    )
    .await;
    assert_eq!(rcodes(&payload), vec!["NOT_FOUND"], "{payload}");
    assert_eq!(ringing(&app, &user, &own).await, ring(2, 0, 300_000, false));
}

backend_tests!(remote_extensions_ring_as_their_user_sets);
