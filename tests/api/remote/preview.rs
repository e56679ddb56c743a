//! The routing preview (issue 21 §4): the status at a moment and why, the ring plan with its
//! timers, the diversions and the way out, for the user and the administrators covering them,
//! in at most three statements and without writing anything; and a property test that the
//! preview at `t` names the status the scheduler activates at `t`.

#![allow(clippy::unwrap_used)]

use api::{graphql::ids::Kind, policy::Principal, service::remote::schedule};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

const PREVIEW: &str = "query($u: ID, $at: DateTime, $c: String) {
  routingPreview(userId: $u, at: $at, callerNumber: $c) {
    at reason status { id name } callerNumber dependsOnCaller
    incoming {
      ring { target { kind number { id number } } startsAfterSeconds answerTooSoonMs answerTooLateMs
             requireKeypress }
      whenBusy { kind number { id } } ifNoAnswer { kind number { id } }
    }
    outgoing { callUsing { kind number { id } } callThroughNumber { id } callThroughEffective
               callThroughInactiveReason }
  } }";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The preview as `token` asks for it: (statements run, body).
async fn preview(
    app: &TestApp,
    token: &str,
    user: Option<Uuid>,
    when: Option<&str>,
    caller: Option<&str>,
) -> (u64, Value) {
    let vars = json!({ "u": user.map(|u| gid(Kind::User, u)), "at": when, "c": caller });
    app.counted(token, PREVIEW, vars).await
}

/// A preview that answers; its data.
async fn shown(app: &TestApp, token: &str, user: Option<Uuid>, when: Option<&str>) -> Value {
    let (_, body) = preview(app, token, user, when, None).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["routingPreview"].clone()
}

fn counting(s: &mut api::config::Settings) {
    quiet(s);
}

async fn the_preview_says_what_rings_when_and_how_the_user_calls_out(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let (user, dm, support) = (app.token(c.user1), app.token(c.dm), app.support());
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let provisioned = json!({ "userId": gid(Kind::User, c.user1), "number": "0701110004", "isRemoteExtension": true });
    id_of(&rcall(&app, &dm, "userNumberCreate", provisioned).await, "userNumber");
    let mut own = number("09818123456", true, "Mobile");
    own["callThrough"] = json!(true);
    own["ringDelaySeconds"] = json!(4);
    own["answerTooSoonMs"] = json!(2_000);
    own["answerTooLateMs"] = json!(25_000);
    own["requireKeypress"] = json!(true);
    let own = id_of(&rcall(&app, &user, "userNumberCreate", own).await, "userNumber");
    let office = json!({ "name": "Office", "presence": "AVAILABLE", "remoteExtensionId": own });
    let office = id_of(
        &rcall(&app, &user, "dynamicStatusCreate", office).await,
        "dynamicStatus",
    );
    let home = json!({ "name": "Home", "presence": "AWAY" });
    let home = id_of(&rcall(&app, &user, "dynamicStatusCreate", home).await, "dynamicStatus");
    let weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let rules = json!({ "rules": [{ "days": weekdays, "start": "08:00", "end": "17:00" }] });
    rcall(
        &app,
        &user,
        "dynamicStatusScheduleSet",
        json!({ "id": office, "schedule": rules }),
    )
    .await;
    rcall(
        &app,
        &user,
        "dynamicStatusScheduleSet",
        json!({ "id": home, "schedule": { "isFallback": true } }),
    )
    .await;
    // Settle the principal cache and the scheduler's work before counting.
    shown(&app, &user, None, None).await;

    // Now: the status a new user starts with, ringing the desk phone and softphone together.
    let head = outbox_head(&app).await;
    let (n, body) = preview(&app, &user, None, None, None).await;
    assert!(n <= 3, "{n} statements");
    let now = &body["data"]["routingPreview"];
    assert_eq!(now["at"], "2026-12-08T10:00:00+00:00", "{body}");
    assert_eq!(
        (&now["status"]["name"], &now["reason"]),
        (&json!("Available"), &json!("DEFAULT"))
    );
    let kinds: Vec<&Value> = now["incoming"]["ring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["target"]["kind"])
        .collect();
    assert_eq!(kinds, [&json!("DESK_PHONE"), &json!("SOFTPHONE")], "{now}");
    assert_eq!(
        now["incoming"]["ring"][0]["answerTooSoonMs"],
        Value::Null,
        "timers only on remote extensions"
    );
    assert_eq!(now["incoming"]["whenBusy"]["kind"], "VOICEMAIL");
    assert_eq!(now["outgoing"]["callThroughNumber"], Value::Null);
    assert_eq!(now["outgoing"]["callThroughEffective"], false);

    // Tomorrow at 09:00 the schedule has the office: the mobile rings after its delay, with its
    // timers, and calls go out through it with call through in effect.
    let (n, body) = preview(&app, &user, None, Some("2026-12-09T09:00:00Z"), Some("+4681234567")).await;
    assert!(n <= 3, "{n} statements");
    let then = &body["data"]["routingPreview"];
    assert_eq!(
        (&then["status"]["id"], &then["reason"]),
        (&json!(office), &json!("SCHEDULE")),
        "{body}"
    );
    assert_eq!(
        then["incoming"]["ring"],
        json!([{ "target": { "kind": "NUMBER", "number": { "id": own, "number": "09818123456" } },
                 "startsAfterSeconds": 4, "answerTooSoonMs": 2_000, "answerTooLateMs": 25_000,
                 "requireKeypress": true }])
    );
    assert_eq!(
        then["outgoing"]["callUsing"],
        json!({ "kind": "NUMBER", "number": { "id": own } })
    );
    assert_eq!(then["outgoing"]["callThroughNumber"]["id"], json!(own));
    assert_eq!(then["outgoing"]["callThroughEffective"], true);
    assert_eq!(then["outgoing"]["callThroughInactiveReason"], Value::Null);
    assert_eq!(
        (&then["callerNumber"], &then["dependsOnCaller"]),
        (&json!("+4681234567"), &json!(false))
    );
    // The same plan for any caller, and for none.
    let anyone = shown(&app, &user, None, Some("2026-12-09T09:00:00Z")).await;
    assert_eq!(anyone["incoming"], then["incoming"]);
    // The evening: the fallback.
    let evening = shown(&app, &user, None, Some("2026-12-08T18:30:00Z")).await;
    assert_eq!(
        (&evening["status"]["id"], &evening["reason"]),
        (&json!(home), &json!("DEFAULT"))
    );
    // A moment in the past is now.
    assert_eq!(
        shown(&app, &user, None, Some("2026-01-01T00:00:00Z")).await["at"],
        "2026-12-08T10:00:00+00:00"
    );
    // A manual choice holds until the boundary: before 17:00 it is still the one active now.
    rcall(&app, &user, "dynamicStatusActivate", json!({ "id": office })).await;
    let later = shown(&app, &user, None, Some("2026-12-08T16:59:00Z")).await;
    assert_eq!(
        (&later["status"]["id"], &later["reason"]),
        (&json!(office), &json!("MANUAL"))
    );

    // It wrote nothing.
    let head_after = outbox_head(&app).await;
    assert_eq!(
        types_since(&app, head).await,
        vec!["active_status.changed".to_owned()],
        "only the activation wrote ({head}..{head_after})"
    );

    // Who may ask: the user, administrators covering them, Support naming them.
    assert_eq!(
        shown(&app, &dm, Some(c.user1), None).await["status"]["id"],
        json!(office)
    );
    assert_eq!(
        shown(&app, &support, Some(c.user1), None).await["status"]["id"],
        json!(office)
    );
    for (token, on, code) in [
        (app.token(c.user2), c.user1, "NOT_FOUND"),
        (app.token(c.pm_loc1), c.user2, "FORBIDDEN"),
        (app.token(w.d.dm), c.user1, "NOT_FOUND"),
        (support.clone(), Uuid::now_v7(), "NOT_FOUND"),
    ] {
        let (_, body) = preview(&app, &token, Some(on), None, None).await;
        assert_eq!(top_codes(&body), vec![code], "{body}");
    }
    let (_, body) = preview(&app, &support, None, None, None).await;
    assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "{body}");
    let (_, body) = preview(&app, &user, None, None, Some(&"9".repeat(33))).await;
    assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "{body}");
}

/// A random weekly rule: a day, a start on the half hour, a length of half an hour to a day.
fn rule() -> impl Strategy<Value = (usize, u32, u32, usize)> {
    (0usize..7, 0u32..48, 1u32..48, 0usize..3)
}

const DAYS: [&str; 7] = schedule::DAY_NAMES;
const MODES: [&str; 3] = ["SKIP", "INCLUDE", "ONLY"];

fn clock(half_hours: u32) -> String {
    format!("{:02}:{:02}", half_hours / 2 % 24, half_hours % 2 * 30)
}

/// For random schedules of three statuses (overlapping ones refused as the API refuses them), a
/// random zone and holiday, and a random moment in the next fortnight: the preview asked now
/// names the status the scheduler activates when the clock gets there. SQLite only, one server
/// for the whole run (a fresh user per case); the seed is fixed.
#[test]
fn the_preview_names_what_the_scheduler_activates() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(spawn_app_with(Backend::Sqlite, quiet));
    let tenant = rt.block_on(tenant(&app.state, "Schedules", entity::Platform::MxOne, 6000));
    let mut config = ProptestConfig::with_cases(24);
    config.rng_seed = proptest::test_runner::RngSeed::Fixed(21);
    config.failure_persistence = None;
    let zones = ["UTC", "Europe/Stockholm", "America/New_York"];
    let cases = std::sync::atomic::AtomicUsize::new(0);
    proptest!(config, |(
        rules in proptest::collection::vec((0usize..3, rule()), 1..6),
        fallback in proptest::option::of(0usize..3),
        zone in 0usize..3,
        holiday in 0i64..14,
        ahead_minutes in 1i64..(14 * 24 * 60),
    )| {
        let case = cases.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        rt.block_on(async {
            let t0 = at("2026-12-07T06:00:00Z");
            app.state.clock.set(t0);
            let support = Principal::Support { name: "props".into() };
            let cfg = &app.state.settings.remote_extension;
            // A fresh user per case, in the tenant's first location.
            let u = api::service::directory::create_user(
                &app.state.db,
                &support,
                cfg,
                Some(tenant.account),
                api::service::directory::UserFields {
                    location_id: Some(api::service::GivenId::Key(tenant.loc1)),
                    name: format!("Case {case}"),
                    email: Some(format!("case{case}@props.example")),
                    phone_number: None,
                    extension: format!("{}", 6500 + case),
                    phone_profile: entity::PhoneProfile::Premier,
                },
            )
            .await
            .unwrap();
            let token = app.token(u.id);
            let set = json!({ "accountId": gid(Kind::Account, tenant.account), "timeZone": zones[zone] });
            rcall(&app, &app.support(), "accountTimeZoneSet", set).await;
            let day = (t0 + Duration::days(holiday)).format("%Y-%m-%d").to_string();
            let cal = json!({ "accountId": gid(Kind::Account, tenant.account), "holidays": [{ "date": day, "name": "H" }] });
            rcall(&app, &app.support(), "accountHolidaysSet", cal).await;
            let mut statuses = Vec::new();
            for k in 0..3 {
                let s = json!({ "name": format!("S{k}"), "presence": "AVAILABLE" });
                statuses.push(id_of(&rcall(&app, &token, "dynamicStatusCreate", s).await, "dynamicStatus"));
            }
            for (k, id) in statuses.iter().enumerate() {
                let mine: Vec<Value> = (rules.iter().filter(|(s, _)| *s == k))
                    .map(|(_, (d, start, len, mode))| json!({
                        "days": [DAYS[*d]], "start": clock(*start), "end": clock(start + len),
                        "holidays": MODES[*mode],
                    }))
                    .collect();
                let s = json!({ "rules": mine, "isFallback": fallback == Some(k) });
                let p = rcall(&app, &token, "dynamicStatusScheduleSet", json!({ "id": id, "schedule": s })).await;
                // Overlapping rules are refused; the case goes on with what was accepted.
                assert!(rcodes(&p).is_empty() || rcodes(&p) == ["VALIDATION_FAILED"], "{p}");
            }
            // The scheduler settles the user at t0; then the preview is asked at t0 about t.
            schedule::run_due(&app.state.db, t0).await.unwrap();
            let t = t0 + Duration::minutes(ahead_minutes);
            let asked = shown(&app, &token, None, Some(&t.to_rfc3339())).await;
            // The clock gets to t (in one jump, as after downtime): what is active then.
            app.state.clock.set(t);
            schedule::run_due(&app.state.db, t).await.unwrap();
            let active = read_user(&app, &token, u.id).await["activeStatus"]["id"].clone();
            assert_eq!(asked["status"]["id"], active, "t = {t}, zone {}, {rules:?}, fallback {fallback:?}", zones[zone]);
        });
    });
}

backend_tests!(the_preview_says_what_rings_when_and_how_the_user_calls_out);
