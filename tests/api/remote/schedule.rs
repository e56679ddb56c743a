//! Scheduled statuses (issue 21 §2): time zones, holidays, schedules and the scheduler, through
//! the API with the server's clock stopped at chosen moments (`AppState::clock`), plus one run
//! against the real clock. Each refusal is checked to write nothing.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use api::graphql::ids::Kind;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

const SCHEDULE_READ: &str = "query($u: ID!) { node(id: $u) { ... on User {
    timeZone activeStatusReason activeStatus { id name }
    nextStatusChange { at status { id name } } } } }";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// What the schedule part of user `user` reads as `token`.
async fn read(app: &TestApp, token: &str, user: Uuid) -> Value {
    let body = app
        .gql(token, SCHEDULE_READ, json!({ "u": gid(Kind::User, user) }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["node"].clone()
}

/// Waits (up to 10 s) for the scheduler to make `status` the user's active status.
async fn until_active(app: &TestApp, user: Uuid, status: &str) -> Value {
    for _ in 0..100 {
        let now = read(app, &app.support(), user).await;
        if now["activeStatus"]["id"] == status {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{status} never became active: {}",
        read(app, &app.support(), user).await
    );
}

/// A status of the caller's (`USER` origin) named `name`; its global id.
async fn own_status(app: &TestApp, token: &str, name: &str) -> String {
    let created = rcall(
        app,
        token,
        "dynamicStatusCreate",
        json!({ "name": name, "presence": "AVAILABLE" }),
    )
    .await;
    id_of(&created, "dynamicStatus")
}

fn rule(days: &[&str], start: &str, end: &str) -> Value {
    json!({ "days": days, "start": start, "end": end })
}

const WEEKDAYS: [&str; 5] = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];

async fn schedule(app: &TestApp, token: &str, id: &str, schedule: Value) -> Value {
    rcall(
        app,
        token,
        "dynamicStatusScheduleSet",
        json!({ "id": id, "schedule": schedule }),
    )
    .await
}

/// A refused call: `code` on `field`, and nothing written (no event, no change of counts).
async fn refused(app: &TestApp, token: &str, mutation: &str, input: Value, code: &str, field: &[&str]) -> Value {
    let (head, counts) = (outbox_head(app).await, rsnapshot(app).await);
    let payload = rcall(app, token, mutation, input.clone()).await;
    assert_eq!(rcodes(&payload), vec![code], "{input}: {payload}");
    assert_eq!(payload["userErrors"][0]["field"], json!(field), "{input}: {payload}");
    assert_eq!(types_since(app, head).await, Vec::<String>::new(), "{input}: no event");
    assert_eq!(rsnapshot(app).await, counts, "{input}: nothing written");
    payload
}

/// The `active_status.changed` events of `user` after `head`: (actor, payload).
async fn switches(app: &TestApp, user: Uuid, head: i64) -> Vec<(String, Value)> {
    use entity::outbox_event::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Entity::find()
        .filter(Column::Position.gt(head))
        .filter(Column::EventType.eq("active_status.changed"))
        .filter(Column::AggregateId.eq(user))
        .order_by_asc(Column::Position)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.payload))
        .collect()
}

async fn schedules_switch_statuses_at_their_boundaries(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let (user, dm, support) = (app.token(c.user1), app.token(c.dm), app.support());
    let account = gid(Kind::Account, c.account);
    // Tuesday 8 December 2026, 11:00 in Stockholm.
    app.state.clock.set(at("2026-12-08T10:00:00Z"));

    // The account's time zone: Support only, checked against the tz database.
    let zone = |z: &str| json!({ "accountId": account, "timeZone": z });
    refused(
        &app,
        &dm,
        "accountTimeZoneSet",
        zone("Europe/Stockholm"),
        "FORBIDDEN",
        &["accountId"],
    )
    .await;
    let other = app.token(w.d.dm);
    refused(
        &app,
        &other,
        "accountTimeZoneSet",
        zone("Europe/Stockholm"),
        "NOT_FOUND",
        &["accountId"],
    )
    .await;
    refused(
        &app,
        &support,
        "accountTimeZoneSet",
        zone("Europe/Stockhom"),
        "VALIDATION_FAILED",
        &["timeZone"],
    )
    .await;
    let set = rcall(&app, &support, "accountTimeZoneSet", zone("europe/stockholm")).await;
    assert_eq!(set["account"]["timeZone"], "Europe/Stockholm", "{set}");

    let office = own_status(&app, &user, "Office").await;
    let home = own_status(&app, &user, "Home").await;
    let lunch = own_status(&app, &user, "Lunch").await;
    let set = schedule(
        &app,
        &user,
        &office,
        json!({ "rules": [rule(&WEEKDAYS, "08:00", "17:00")] }),
    )
    .await;
    assert_eq!(
        set["dynamicStatus"]["schedule"],
        json!({ "rules": [{ "days": WEEKDAYS, "start": "08:00", "end": "17:00", "holidays": "SKIP" }],
                "exceptions": [], "isFallback": false }),
        "{set}"
    );
    schedule(&app, &user, &home, json!({ "isFallback": true })).await;
    // Overlaps are refused naming both statuses; so is a second fallback.
    let overlap = json!({ "id": lunch, "schedule": { "rules": [rule(&["MONDAY"], "12:00", "13:00")] } });
    let p = refused(
        &app,
        &user,
        "dynamicStatusScheduleSet",
        overlap,
        "VALIDATION_FAILED",
        &["schedule", "rules"],
    )
    .await;
    let message = p["userErrors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"Lunch\"") && message.contains("\"Office\""),
        "{message}"
    );
    let second = json!({ "id": lunch, "schedule": { "isFallback": true } });
    let p = refused(
        &app,
        &user,
        "dynamicStatusScheduleSet",
        second,
        "VALIDATION_FAILED",
        &["schedule", "fallback"],
    )
    .await;
    assert!(
        p["userErrors"][0]["message"].as_str().unwrap().contains("\"Home\""),
        "{p}"
    );

    // A new schedule does not switch at once: the status active now holds to the next boundary,
    // 17:00 Stockholm time.
    let now = read(&app, &user, c.user1).await;
    assert_eq!(now["activeStatus"]["name"], "Available", "{now}");
    assert_eq!(now["activeStatusReason"], "DEFAULT", "{now}");
    assert_eq!(now["nextStatusChange"]["at"], "2026-12-08T16:00:00+00:00", "{now}");
    assert_eq!(now["nextStatusChange"]["status"]["name"], "Home", "{now}");
    let activated = rcall(&app, &user, "dynamicStatusActivate", json!({ "id": lunch })).await;
    assert!(rcodes(&activated).is_empty(), "{activated}");
    assert_eq!(read(&app, &user, c.user1).await["activeStatusReason"], "MANUAL");
    let head = outbox_head(&app).await;
    app.state.clock.set(at("2026-12-08T15:59:59Z"));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        read(&app, &user, c.user1).await["activeStatus"]["id"],
        lunch,
        "the manual choice holds"
    );

    // 17:00: the fallback, by the schedule's hand.
    app.state.clock.set(at("2026-12-08T16:00:00Z"));
    let now = until_active(&app, c.user1, &home).await;
    assert_eq!(now["activeStatusReason"], "DEFAULT", "{now}");
    assert_eq!(now["nextStatusChange"]["at"], "2026-12-09T07:00:00+00:00", "{now}");
    // 08:00 the next day: the office.
    app.state.clock.set(at("2026-12-09T07:00:01Z"));
    let now = until_active(&app, c.user1, &office).await;
    assert_eq!(now["activeStatusReason"], "SCHEDULE", "{now}");
    let flips = switches(&app, c.user1, head).await;
    assert_eq!(flips.len(), 2, "one event per boundary: {flips:?}");
    assert!(flips.iter().all(|(actor, _)| actor == "support:schedule"), "{flips:?}");
    assert_eq!(flips[1].1["activeStatusId"], json!(key_of(&office)));
    assert_eq!(
        (&flips[0].1["reason"], &flips[1].1["reason"]),
        (&json!("DEFAULT"), &json!("SCHEDULE"))
    );

    // Down from Wednesday morning to Saturday: catch-up applies the last boundary passed (Friday
    // 17:00, the fallback) once, not the five flips in between.
    let head = outbox_head(&app).await;
    app.state.clock.set(at("2026-12-12T09:00:00Z"));
    until_active(&app, c.user1, &home).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(switches(&app, c.user1, head).await.len(), 1);

    // Holidays: Support or a Decision Maker; Monday the 14th off, so the next change is Tuesday.
    let holidays = |list: Value| json!({ "accountId": account, "holidays": list });
    let monday = json!([{ "date": "2026-12-14", "name": "Founders' day" }]);
    let pm = app.token(c.pm);
    refused(
        &app,
        &pm,
        "accountHolidaysSet",
        holidays(monday.clone()),
        "FORBIDDEN",
        &["accountId"],
    )
    .await;
    refused(
        &app,
        &other,
        "accountHolidaysSet",
        holidays(monday.clone()),
        "NOT_FOUND",
        &["accountId"],
    )
    .await;
    let bad = json!([{ "date": "2026-02-30", "name": "No such day" }]);
    refused(
        &app,
        &dm,
        "accountHolidaysSet",
        holidays(bad),
        "VALIDATION_FAILED",
        &["holidays", "0", "date"],
    )
    .await;
    let twice = json!([{ "date": "2026-12-14", "name": "A" }, { "date": "2026-12-14", "name": "B" }]);
    refused(
        &app,
        &dm,
        "accountHolidaysSet",
        holidays(twice),
        "VALIDATION_FAILED",
        &["holidays", "1", "date"],
    )
    .await;
    let set = rcall(&app, &dm, "accountHolidaysSet", holidays(monday.clone())).await;
    assert_eq!(set["account"]["holidays"], monday, "{set}");
    let now = read(&app, &user, c.user1).await;
    assert_eq!(now["nextStatusChange"]["at"], "2026-12-15T07:00:00+00:00", "{now}");
    // The same calendar again records nothing.
    let head = outbox_head(&app).await;
    rcall(&app, &dm, "accountHolidaysSet", holidays(monday)).await;
    assert_eq!(types_since(&app, head).await, Vec::<String>::new());

    // The user's own zone overrides the account's; another user cannot set it.
    let mine = |z: Value| json!({ "timeZone": z });
    let other_user = app.token(c.user2);
    let theirs = json!({ "userId": gid(Kind::User, c.user1), "timeZone": "UTC" });
    refused(&app, &other_user, "userTimeZoneSet", theirs, "NOT_FOUND", &["userId"]).await;
    refused(
        &app,
        &user,
        "userTimeZoneSet",
        mine(json!("Mars/Olympus")),
        "VALIDATION_FAILED",
        &["timeZone"],
    )
    .await;
    let set = rcall(&app, &user, "userTimeZoneSet", mine(json!("America/New_York"))).await;
    assert_eq!(set["user"]["timeZone"], "America/New_York", "{set}");
    // Tuesday 08:00 in New York (Monday is the account's holiday there too).
    assert_eq!(
        read(&app, &user, c.user1).await["nextStatusChange"]["at"],
        "2026-12-15T13:00:00+00:00"
    );
    rcall(&app, &user, "userTimeZoneSet", mine(Value::Null)).await;
    assert_eq!(read(&app, &user, c.user1).await["timeZone"], Value::Null);

    // Clearing schedules: nothing is scheduled any more.
    for id in [&office, &home] {
        let cleared = rcall(
            &app,
            &user,
            "dynamicStatusScheduleSet",
            json!({ "id": id, "schedule": null }),
        )
        .await;
        assert_eq!(cleared["dynamicStatus"]["schedule"], Value::Null, "{cleared}");
    }
    assert_eq!(read(&app, &user, c.user1).await["nextStatusChange"], Value::Null);
}

/// The key of a status's global id.
fn key_of(id: &str) -> String {
    api::graphql::ids::decode_as(id, Kind::DynamicStatus)
        .unwrap()
        .to_string()
}

async fn who_may_schedule_and_what_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let tok = |id| app.token(id);
    let (u1, u2, dm, pm1, other) = (tok(c.user1), tok(c.user2), tok(c.dm), tok(c.pm_loc1), tok(w.d.dm));
    let available = read_user(&app, &u1, c.user1).await["dynamicStatuses"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u2_status = own_status(&app, &u2, "Gym").await;
    let mine = own_status(&app, &u1, "Focus").await;
    let ok = json!({ "rules": [rule(&["MONDAY"], "09:00", "10:00")] });
    let input = |id: &str, s: &Value| json!({ "id": id, "schedule": s });

    // Users cannot schedule an administrator's status; administrators covering them can.
    refused(
        &app,
        &u1,
        "dynamicStatusScheduleSet",
        input(&available, &ok),
        "STATUS_READONLY",
        &["id"],
    )
    .await;
    let p = schedule(&app, &dm, &available, ok.clone()).await;
    assert!(rcodes(&p).is_empty(), "{p}");
    // Not covering the user: a location's Phone Manager on another location's user; T1.
    let later = json!({ "rules": [rule(&["TUESDAY"], "09:00", "10:00")] });
    refused(
        &app,
        &pm1,
        "dynamicStatusScheduleSet",
        input(&u2_status, &later),
        "FORBIDDEN",
        &["id"],
    )
    .await;
    refused(
        &app,
        &u1,
        "dynamicStatusScheduleSet",
        input(&u2_status, &later),
        "NOT_FOUND",
        &["id"],
    )
    .await;
    refused(
        &app,
        &other,
        "dynamicStatusScheduleSet",
        input(&u2_status, &later),
        "NOT_FOUND",
        &["id"],
    )
    .await;
    let p = schedule(&app, &pm1, &mine, later.clone()).await;
    assert!(rcodes(&p).is_empty(), "location PM on their location's user: {p}");

    // Every field is checked, on the field at fault.
    let bad = |rules: Value| json!({ "rules": rules });
    for (schedule, field) in [
        (
            bad(json!([rule(&["MONDAY"], "25:00", "26:00")])),
            vec!["schedule", "rules", "0", "start"],
        ),
        (
            bad(json!([rule(&["MONDAY"], "09:00", "9:30")])),
            vec!["schedule", "rules", "0", "end"],
        ),
        (
            bad(json!([rule(&["MONDAY"], "24:00", "01:00")])),
            vec!["schedule", "rules", "0", "start"],
        ),
        (
            bad(json!([rule(&[], "09:00", "10:00")])),
            vec!["schedule", "rules", "0"],
        ),
        (
            bad(json!([rule(&["MONDAY"], "09:00", "09:00")])),
            vec!["schedule", "rules", "0"],
        ),
        (
            bad(json!(vec![rule(&["SUNDAY"], "09:00", "10:00"); 21])),
            vec!["schedule", "rules"],
        ),
        (json!({ "exceptions": ["2026-13-01"] }), vec!["schedule", "exceptions"]),
        (json!({ "exceptions": ["1 May"] }), vec!["schedule", "exceptions"]),
    ] {
        refused(
            &app,
            &u2,
            "dynamicStatusScheduleSet",
            input(&u2_status, &schedule),
            "VALIDATION_FAILED",
            &field,
        )
        .await;
    }
    // A rule may pass midnight, and end at 24:00.
    let night = json!({ "rules": [rule(&["FRIDAY"], "22:00", "06:00"), rule(&["SUNDAY"], "00:00", "24:00")] });
    let p = schedule(&app, &u2, &u2_status, night).await;
    assert_eq!(p["dynamicStatus"]["schedule"]["rules"][0]["end"], "06:00", "{p}");
    assert_eq!(p["dynamicStatus"]["schedule"]["rules"][1]["end"], "24:00", "{p}");

    // A user whose client profile does not let them add statuses cannot schedule either.
    let sup = app.support();
    let strict = rcall(
        &app,
        &sup,
        "clientProfileCreate",
        json!({ "accountId": gid(Kind::Account, c.account), "name": "Strict", "allowUsersAddStatus": false }),
    )
    .await;
    let strict = id_of(&strict, "clientProfile");
    let assign = json!({ "userId": gid(Kind::User, c.user2), "clientProfileId": strict });
    assert!(rcodes(&rcall(&app, &sup, "userClientProfileSet", assign).await).is_empty());
    refused(
        &app,
        &u2,
        "dynamicStatusScheduleSet",
        input(&u2_status, &later),
        "FORBIDDEN",
        &["id"],
    )
    .await;
    let p = schedule(&app, &dm, &u2_status, later).await;
    assert!(rcodes(&p).is_empty(), "{p}");
}

/// Four schedulers at once (four connection pools to one database, as four processes have) at
/// the same boundary: each user switches once, with one event.
async fn concurrent_schedulers_at_one_boundary_switch_each_user_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let users = [c.user1, c.user2, c.dm, c.pm, c.pm_loc1];
    let mut targets = Vec::new();
    for u in users {
        let token = app.token(u);
        let id = own_status(&app, &token, "Evening").await;
        let s = json!({ "rules": [rule(&["TUESDAY"], "18:00", "20:00")] });
        assert!(rcodes(&schedule(&app, &token, &id, s).await).is_empty());
        targets.push(id);
    }
    // The server's own scheduler settles the next boundary of each (its clock stays at 10:00).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let head = outbox_head(&app).await;
    use secrecy::ExposeSecret;
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let boundary = at("2026-12-08T18:00:00Z");
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(sea_orm::Database::connect(url.as_str()).await.unwrap());
    }
    let runs: Vec<_> = (pools.iter().cloned())
        .map(|db| tokio::spawn(async move { api::service::remote::schedule::run_due(&db, boundary).await }))
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    for (u, id) in users.iter().zip(&targets) {
        let flips = switches(&app, *u, head).await;
        assert_eq!(flips.len(), 1, "{u}: {flips:?}");
        assert_eq!(read(&app, &app.support(), *u).await["activeStatus"]["id"], *id);
    }
    // Run again at the same moment: nothing is left to do.
    api::service::remote::schedule::run_due(&pools[1], boundary)
        .await
        .unwrap();
    assert_eq!(types_since(&app, head).await.len(), users.len());
}

/// Daylight saving in both directions, in Stockholm and New York: a rule at 02:30 on the night
/// that skips 02:30 fires when the clocks change; on the night 02:30 (New York: 01:30) comes
/// twice, it fires once, at the first.
async fn daylight_saving_changes_in_stockholm_and_new_york(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let (user, support) = (app.token(c.user1), app.support());
    let night = own_status(&app, &user, "Night").await;
    let day = own_status(&app, &user, "Day").await;
    schedule(&app, &user, &day, json!({ "isFallback": true })).await;
    // Zone, rule start, a moment the evening before, the boundary, and 06:00 local after it.
    for (zone, start, before, expect, six) in [
        // Forward: 02:00 → 03:00 on 8 March (New York) and 29 March (Stockholm).
        (
            "America/New_York",
            "02:30",
            "2026-03-08T03:00:00Z",
            "2026-03-08T07:00:00+00:00",
            "2026-03-08T10:00:00+00:00",
        ),
        (
            "Europe/Stockholm",
            "02:30",
            "2026-03-28T20:00:00Z",
            "2026-03-29T01:00:00+00:00",
            "2026-03-29T04:00:00+00:00",
        ),
        // Back: 03:00 → 02:00 on 25 October (Stockholm), 02:00 → 01:00 on 1 November (New York).
        (
            "Europe/Stockholm",
            "02:30",
            "2026-10-24T20:00:00Z",
            "2026-10-25T00:30:00+00:00",
            "2026-10-25T05:00:00+00:00",
        ),
        (
            "America/New_York",
            "01:30",
            "2026-11-01T02:00:00Z",
            "2026-11-01T05:30:00+00:00",
            "2026-11-01T11:00:00+00:00",
        ),
    ] {
        let set = json!({ "accountId": gid(Kind::Account, c.account), "timeZone": zone });
        rcall(&app, &support, "accountTimeZoneSet", set).await;
        let s = json!({ "rules": [rule(&["SUNDAY"], start, "06:00")] });
        app.state.clock.set(at(before));
        assert!(rcodes(&schedule(&app, &user, &night, s).await).is_empty());
        let now = read(&app, &user, c.user1).await;
        assert_eq!(now["nextStatusChange"]["at"], expect, "{zone} {before}: {now}");
        assert_eq!(now["nextStatusChange"]["status"]["id"], night, "{zone}");
        // The scheduler switches at that instant, and the one after is the fallback at 06:00
        // local, not a second start in the repeated hour.
        app.state.clock.set(at(expect));
        until_active(&app, c.user1, &night).await;
        let next = read(&app, &user, c.user1).await["nextStatusChange"].clone();
        assert_eq!(
            next,
            json!({ "at": six, "status": { "id": day, "name": "Day" } }),
            "{zone}"
        );
        app.state.clock.set(at(six));
        until_active(&app, c.user1, &day).await;
    }
}

/// The scheduler on the real clock: a rule starting three seconds from now switches the status
/// within a couple of seconds of its start.
async fn the_real_clock_crosses_a_boundary(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let user = app.token(w.c.user1);
    let soon = own_status(&app, &user, "Soon").await;
    let start = chrono::SubsecRound::trunc_subsecs(Utc::now() + chrono::Duration::seconds(3), 0);
    let day =
        api::service::remote::schedule::DAY_NAMES[chrono::Datelike::weekday(&start).num_days_from_monday() as usize];
    let end = start + chrono::Duration::hours(1);
    let s =
        json!({ "rules": [rule(&[day], &start.format("%H:%M:%S").to_string(), &end.format("%H:%M:%S").to_string())] });
    assert!(rcodes(&schedule(&app, &user, &soon, s).await).is_empty());
    let before = read(&app, &user, w.c.user1).await;
    assert_ne!(before["activeStatus"]["id"], soon, "{before}");
    until_active(&app, w.c.user1, &soon).await;
    assert!(Utc::now() >= start, "switched before the boundary");
}

/// A switch the schedule makes reaches `activeStatusChanged` subscribers like any activation,
/// told as the schedule's.
async fn subscribers_see_the_schedule_switch(backend: Backend) {
    use crate::harness::ws_client::{Proto, WsClient};
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let user = app.token(c.user1);
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let evening = own_status(&app, &user, "Evening").await;
    let rules = json!({ "rules": [rule(&["TUESDAY"], "18:00", "22:00")] });
    assert!(rcodes(&schedule(&app, &user, &evening, rules).await).is_empty());
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &user).await;
    let watch = "subscription { activeStatusChanged { activeStatus { id name } reason changedBy { kind name } } }";
    ws.subscribe("a", watch, json!({})).await;
    app.watching(api::live::Topic::ActiveStatus(c.user1), 1).await;
    app.state.clock.set(at("2026-12-08T18:00:00Z"));
    let event = ws.event("a").await;
    assert_eq!(
        event["activeStatusChanged"],
        json!({ "activeStatus": { "id": evening, "name": "Evening" }, "reason": "SCHEDULE",
                "changedBy": { "kind": "SUPPORT", "name": "schedule" } }),
        "{event}"
    );
}

/// `nextStatusChange` over a page of users runs as many statements for five users as for one
/// (the holidays, records, statuses and accounts are loaded for the page at once).
async fn next_status_change_is_batched_over_a_page(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.limits.max_complexity = 100_000;
        quiet(s);
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let (dm, support) = (app.token(c.dm), app.support());
    let account = gid(Kind::Account, c.account);
    let cal = json!({ "accountId": account, "holidays": [{ "date": "2026-12-09", "name": "H" }] });
    rcall(&app, &dm, "accountHolidaysSet", cal).await;
    for u in [c.user1, c.user2, c.dm, c.pm, c.pm_loc1] {
        let token = app.token(u);
        let id = own_status(&app, &token, "Office").await;
        let s = json!({ "rules": [rule(&WEEKDAYS, "08:00", "17:00")] });
        assert!(rcodes(&schedule(&app, &token, &id, s).await).is_empty());
    }
    let page = "query($a: ID!, $n: Int) { account(id: $a) { users(first: $n) { nodes { name
        nextStatusChange { at status { name } } } } } }";
    let mut counts = Vec::new();
    for n in [1, 5] {
        app.gql(&support, page, json!({ "a": account, "n": n })).await;
        let (count, body) = app.counted(&support, page, json!({ "a": account, "n": n })).await;
        let nodes = body["data"]["account"]["users"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), n, "{body}");
        // The holiday on Wednesday moves everyone's next start to Thursday.
        assert!(
            nodes
                .iter()
                .all(|u| u["nextStatusChange"]["at"] == "2026-12-10T08:00:00+00:00"),
            "{body}"
        );
        counts.push(count);
    }
    assert_eq!(counts[0], counts[1], "statements for 1 and 5 users");
}

/// The role table of the four new mutations: each persona's answer, and an accepted call takes
/// effect (each sets a value the previous one did not).
async fn the_role_table_of_the_schedule_mutations(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    app.state.clock.set(at("2026-12-08T10:00:00Z"));
    let tok = |id| app.token(id);
    let (sup, dm, pm, pm1, u1, u2, other) = (
        app.support(),
        tok(c.dm),
        tok(c.pm),
        tok(c.pm_loc1),
        tok(c.user1),
        tok(c.user2),
        tok(w.d.dm),
    );
    let account = gid(Kind::Account, c.account);
    let zones = [
        "Europe/Oslo",
        "Europe/Helsinki",
        "Asia/Tokyo",
        "America/Chicago",
        "Europe/Paris",
        "Africa/Cairo",
        "Australia/Perth",
    ];
    let mut fresh = zones.iter().cycle();
    let mut day = 0;
    let mut holidays = || {
        day += 1;
        json!([{ "date": format!("2027-01-{day:02}"), "name": "H" }])
    };
    let u1_status = own_status(&app, &u1, "Gym").await;
    let u2_status = own_status(&app, &u2, "Gym").await;
    let mut hour = 0;
    let mut rules = || {
        hour += 1;
        json!({ "rules": [rule(&["SUNDAY"], &format!("{hour:02}:00"), &format!("{hour:02}:30"))] })
    };
    let table: Vec<(&str, &String, &str, Value, &str)> = vec![
        (
            "Support",
            &sup,
            "accountTimeZoneSet",
            json!({ "accountId": account, "timeZone": fresh.next() }),
            "OK",
        ),
        (
            "DM",
            &dm,
            "accountTimeZoneSet",
            json!({ "accountId": account, "timeZone": fresh.next() }),
            "FORBIDDEN",
        ),
        (
            "account PM",
            &pm,
            "accountTimeZoneSet",
            json!({ "accountId": account, "timeZone": fresh.next() }),
            "FORBIDDEN",
        ),
        (
            "user",
            &u1,
            "accountTimeZoneSet",
            json!({ "accountId": account, "timeZone": fresh.next() }),
            "FORBIDDEN",
        ),
        (
            "other tenant",
            &other,
            "accountTimeZoneSet",
            json!({ "accountId": account, "timeZone": fresh.next() }),
            "NOT_FOUND",
        ),
        (
            "Support",
            &sup,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "OK",
        ),
        (
            "DM",
            &dm,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "OK",
        ),
        (
            "account PM",
            &pm,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "FORBIDDEN",
        ),
        (
            "location PM",
            &pm1,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "FORBIDDEN",
        ),
        (
            "user",
            &u1,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "FORBIDDEN",
        ),
        (
            "other tenant",
            &other,
            "accountHolidaysSet",
            json!({ "accountId": account, "holidays": holidays() }),
            "NOT_FOUND",
        ),
    ];
    let on = |u: Uuid, z: &str| json!({ "userId": gid(Kind::User, u), "timeZone": z });
    let mut table = table;
    let user_rows: Vec<(&str, &String, &str, Value, &str)> = vec![
        (
            "the user",
            &u1,
            "userTimeZoneSet",
            json!({ "timeZone": fresh.next() }),
            "OK",
        ),
        (
            "Support",
            &sup,
            "userTimeZoneSet",
            on(c.user1, fresh.next().unwrap()),
            "OK",
        ),
        ("DM", &dm, "userTimeZoneSet", on(c.user1, fresh.next().unwrap()), "OK"),
        (
            "account PM",
            &pm,
            "userTimeZoneSet",
            on(c.user1, fresh.next().unwrap()),
            "OK",
        ),
        (
            "location PM",
            &pm1,
            "userTimeZoneSet",
            on(c.user1, fresh.next().unwrap()),
            "OK",
        ),
        (
            "location PM, other location",
            &pm1,
            "userTimeZoneSet",
            on(c.user2, fresh.next().unwrap()),
            "FORBIDDEN",
        ),
        (
            "another user",
            &u2,
            "userTimeZoneSet",
            on(c.user1, fresh.next().unwrap()),
            "NOT_FOUND",
        ),
        (
            "other tenant",
            &other,
            "userTimeZoneSet",
            on(c.user1, fresh.next().unwrap()),
            "NOT_FOUND",
        ),
        (
            "the user",
            &u1,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "OK",
        ),
        (
            "Support",
            &sup,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "OK",
        ),
        (
            "DM",
            &dm,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "OK",
        ),
        (
            "account PM",
            &pm,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "OK",
        ),
        (
            "location PM",
            &pm1,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "OK",
        ),
        (
            "location PM, other location",
            &pm1,
            "dynamicStatusScheduleSet",
            json!({ "id": u2_status, "schedule": rules() }),
            "FORBIDDEN",
        ),
        (
            "another user",
            &u2,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "NOT_FOUND",
        ),
        (
            "other tenant",
            &other,
            "dynamicStatusScheduleSet",
            json!({ "id": u1_status, "schedule": rules() }),
            "NOT_FOUND",
        ),
    ];
    table.extend(user_rows);
    for (who, token, mutation, input, expect) in table {
        let head = outbox_head(&app).await;
        let payload = rcall(&app, token, mutation, input.clone()).await;
        if expect == "OK" {
            assert!(rcodes(&payload).is_empty(), "{who} {mutation} {input}: {payload}");
            assert_eq!(types_since(&app, head).await.len(), 1, "{who} {mutation}: one event");
        } else {
            assert_eq!(rcodes(&payload), vec![expect], "{who} {mutation} {input}: {payload}");
            assert_eq!(
                types_since(&app, head).await,
                Vec::<String>::new(),
                "{who} {mutation}: no event"
            );
        }
    }
}

/// A real restart over a missed boundary: one server sets the schedule and stops before 17:00;
/// a new server on the same database starts at 19:00 (its clock stopped there) and applies the
/// boundary it missed, once, then nothing more.
async fn a_restart_after_a_missed_boundary_applies_it_once(backend: Backend) {
    use api::service::remote::schedule::{RuleInput, ScheduleInput, set_schedule};
    api::telemetry::init("pretty", "warn");
    let (settings, _guard) = fresh_database(&backend).await;
    let start = |at: DateTime<Utc>| {
        let settings = settings.clone();
        async move {
            let app = api::startup::Application::build(settings, false).await.unwrap();
            app.state().clock.set(at);
            let state = app.state().clone();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let running = tokio::spawn(app.run_until(async {
                let _ = rx.await;
            }));
            (state, tx, running)
        }
    };
    let (state, stop, running) = start(at("2026-12-08T10:00:00Z")).await;
    let c = tenant(&state, "Restart", entity::Platform::MxOne, 7000).await;
    let p = api::policy::Principal::Support { name: "tester".into() };
    let cfg = &state.settings.remote_extension;
    let evening = api::service::remote::create_status(
        &state.db,
        &p,
        cfg,
        Some(api::service::GivenId::Key(c.user1)),
        api::service::remote::StatusInput {
            name: "Evening".into(),
            presence: entity::Presence::Away,
            message: None,
            remote_extension_id: None,
            targets: [None, None, None, None],
            origin: None,
        },
    )
    .await
    .unwrap();
    let rules = ScheduleInput {
        rules: vec![RuleInput {
            days: vec![1],
            start: "17:00".into(),
            end: "23:00".into(),
            holidays: api::service::remote::schedule::Holidays::Include,
        }],
        ..Default::default()
    };
    set_schedule(
        &state.db,
        &p,
        cfg,
        Some(evening.id),
        Some(rules),
        at("2026-12-08T10:00:00Z"),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let head = count(&state.db, "SELECT COALESCE(MAX(position), 0) AS n FROM outbox_event").await;
    drop(state);

    // Down over 17:00; back at 19:00.
    let (state, stop, running) = start(at("2026-12-08T19:00:00Z")).await;
    let active = |state: api::state::AppState| async move {
        use sea_orm::EntityTrait;
        entity::remote_user::Entity::find_by_id(c.user1)
            .one(&state.db)
            .await
            .unwrap()
            .unwrap()
            .active_status_id
    };
    let mut switched = false;
    for _ in 0..50 {
        if active(state.clone()).await == Some(evening.id) {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(switched, "the missed boundary was applied after the restart");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let events = count(
        &state.db,
        &format!(
            "SELECT COUNT(*) AS n FROM outbox_event WHERE position > {head} AND event_type = 'active_status.changed'"
        ),
    )
    .await;
    assert_eq!(events, 1, "one switch, once");
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

backend_tests!(
    a_restart_after_a_missed_boundary_applies_it_once,
    the_role_table_of_the_schedule_mutations,
    next_status_change_is_batched_over_a_page,
    subscribers_see_the_schedule_switch,
    schedules_switch_statuses_at_their_boundaries,
    who_may_schedule_and_what_is_refused,
    concurrent_schedulers_at_one_boundary_switch_each_user_once,
    daylight_saving_changes_in_stockholm_and_new_york,
    the_real_clock_crosses_a_boundary,
);
