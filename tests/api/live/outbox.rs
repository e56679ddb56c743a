//! SPEC E1 for the directory: each successful mutation records exactly its events (type, account,
//! object, actor) in its own transaction; failed, refused and no-op mutations record none.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::{self, Kind};
use entity::outbox_event;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::directory::mutations::{errs, mutate, row, with};
use crate::harness::app::*;

/// Events recorded after position `*seen`, in log order; moves `*seen` past them.
async fn events_since(app: &TestApp, seen: &mut i64) -> Vec<outbox_event::Model> {
    let query = outbox_event::Entity::find().filter(outbox_event::Column::Position.gt(*seen));
    let query = query.order_by_asc(outbox_event::Column::Position);
    let events = query.all(&app.state.db).await.unwrap();
    if let Some(last) = events.last() {
        *seen = last.position;
    }
    events
}

/// `(type, account, aggregate type, aggregate, actor)` of an event.
type Shape = (String, Option<Uuid>, String, Uuid, String);

fn shape(events: &[outbox_event::Model]) -> Vec<Shape> {
    let one = |e: &outbox_event::Model| {
        let (t, at) = (e.event_type.clone(), e.aggregate_type.clone());
        (t, e.account_id, at, e.aggregate_id, e.actor.clone())
    };
    events.iter().map(one).collect()
}

fn ev(t: &str, account: Uuid, aggregate: &str, id: Uuid, actor: &str) -> Shape {
    (t.to_owned(), Some(account), aggregate.to_owned(), id, actor.to_owned())
}

/// The key inside a global id.
fn key(id: &Value) -> Uuid {
    let id = id.as_str().unwrap_or_else(|| panic!("not an id: {id}"));
    ids::decode(id).unwrap().1
}

/// Runs a mutation that must succeed; answers its payload and the events it recorded.
async fn run(app: &TestApp, seen: &mut i64, token: &str, name: &str, input: Value) -> (Value, Vec<Shape>, Value) {
    let p = mutate(app, token, name, input).await;
    assert_eq!(errs(&p), [], "{name}: {p}");
    let events = events_since(app, seen).await;
    // These servers export no spans: there is no trace to carry (tests/api/server/tracing.rs
    // has the other side).
    assert!(
        events.iter().all(|e| e.traceparent.is_none()),
        "{name}: no trace context"
    );
    let payload = events.first().map_or(Value::Null, |e| e.payload.clone());
    (p, shape(&events), payload)
}

async fn each_mutation_records_its_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (s, dm) = (app.support(), app.token(w.a.dm));
    let (acct, by_dm, by_s) = (w.a.account, format!("user:{}", w.a.dm), "support:tester");
    let a = gid(Kind::Account, acct);
    let seen = &mut 0;
    events_since(&app, seen).await;

    let input = json!({ "name": "Gamma", "platform": "MX_ONE" });
    let (p, events, payload) = run(&app, seen, &s, "accountCreate", input).await;
    let new = key(&p["account"]["id"]);
    assert_eq!(events, [ev("account.created", new, "Account", new, by_s)]);
    assert_eq!(payload["name"], "Gamma");

    let input = json!({ "accountId": a, "name": "East" });
    let (p, events, _) = run(&app, seen, &dm, "locationCreate", input).await;
    let loc = key(&p["location"]["id"]);
    assert_eq!(events, [ev("location.created", acct, "Location", loc, &by_dm)]);

    let input = json!({ "accountId": a, "number": "+15550002000", "label": "Second" });
    let (p, events, _) = run(&app, seen, &dm, "accessNumberCreate", input).await;
    let number = key(&p["accessNumber"]["id"]);
    let want = ev("access_number.created", acct, "AccessNumber", number, &by_dm);
    assert_eq!(events, [want]);

    let l = gid(Kind::Location, loc);
    let input = json!({ "accountId": a, "name": "Nia", "extension": "1200", "phoneProfile": "ELITE", "locationId": l });
    let (p, events, payload) = run(&app, seen, &dm, "userCreate", input).await;
    let nia = key(&p["user"]["id"]);
    assert_eq!(events, [ev("user.created", acct, "User", nia, &by_dm)]);
    assert_eq!(payload["extension"], "1200");

    let batch = json!([row("Ola", "1201"), row("Per", "1202"), row("Quy", "1203")]);
    let input = json!({ "accountId": a, "users": batch });
    let (p, events, _) = run(&app, seen, &dm, "usersImport", input).await;
    let created: Vec<Uuid> = p["users"].as_array().unwrap().iter().map(|u| key(&u["id"])).collect();
    let want: Vec<Shape> = created
        .iter()
        .map(|u| ev("user.created", acct, "User", *u, &by_dm))
        .collect();
    assert_eq!((events, created.len()), (want, 3), "three user.created, in input order");

    let input = json!({ "id": gid(Kind::User, nia), "name": "Nia Long", "extension": "1200" });
    let (_, events, payload) = run(&app, seen, &dm, "userUpdate", input).await;
    assert_eq!(events, [ev("user.updated", acct, "User", nia, &by_dm)]);
    // Only what changed is listed.
    assert_eq!(
        payload,
        json!({ "changes": { "name": { "old": "Nia", "new": "Nia Long" } } })
    );

    let grant = json!({ "userId": gid(Kind::User, nia), "role": "PHONE_MANAGER", "locationId": l });
    let (p, events, _) = run(&app, seen, &dm, "roleAssign", grant.clone()).await;
    let role = key(&p["roleAssignment"]["id"]);
    assert_eq!(events, [ev("role.assigned", acct, "RoleAssignment", role, &by_dm)]);
    let (p, events, _) = run(&app, seen, &s, "roleRevoke", grant).await;
    assert_eq!(key(&p["deletedId"]), role);
    assert_eq!(events, [ev("role.revoked", acct, "RoleAssignment", role, by_s)]);
}

async fn failed_refused_and_noop_mutations_record_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (s, dm, pm) = (app.support(), app.token(w.a.dm), app.token(w.a.pm));
    let (a, b) = (gid(Kind::Account, w.a.account), gid(Kind::Account, w.b.account));
    let (u1, pm_id, dm_id) = (
        gid(Kind::User, w.a.user1),
        gid(Kind::User, w.a.pm),
        gid(Kind::User, w.a.dm),
    );
    let loc1 = gid(Kind::Location, w.a.loc1);
    let dup = row("Dup", "1003");
    let taken = json!({ "accountId": a, "number": "+1 555 000 1000", "label": "Dup" });
    // [caller, mutation, input, the codes it answers: none for a no-op]
    let calls = json!([
        ["dm", "accountCreate", { "name": "X", "platform": "MX_ONE" }, ["FORBIDDEN"]],
        ["s", "accountCreate", { "name": " ", "platform": "MX_ONE" }, ["VALIDATION_FAILED"]],
        ["dm", "locationCreate", { "accountId": a, "name": "north" }, ["VALIDATION_FAILED"]],
        ["pm", "locationCreate", { "accountId": a, "name": "West" }, ["FORBIDDEN"]],
        ["dm", "accessNumberCreate", taken, ["DUPLICATE_NUMBER"]],
        ["dm", "userCreate", with(&dup, &json!({ "accountId": a })), ["EXTENSION_CONFLICT"]],
        ["dm", "userCreate", with(&dup, &json!({ "accountId": b, "extension": "1300" })), ["NOT_FOUND"]],
        ["dm", "usersImport", { "accountId": a, "users": [row("Ok", "1300"), row("Bad", "x")] }, ["VALIDATION_FAILED"]],
        ["dm", "userUpdate", { "id": u1, "name": "Uma One", "extension": "1003" }, []],
        ["dm", "userUpdate", { "id": u1, "email": "U3@AlphaCorp.Example" }, []],
        ["pm", "userUpdate", { "id": u1, "name": "Changed" }, ["FORBIDDEN"]],
        ["dm", "userUpdate", { "id": u1, "extension": "1000" }, ["EXTENSION_CONFLICT"]],
        ["dm", "roleAssign", { "userId": pm_id, "role": "PHONE_MANAGER" }, []],
        ["dm", "roleAssign", { "userId": u1, "role": "DECISION_MAKER", "locationId": loc1 }, ["VALIDATION_FAILED"]],
        ["dm", "roleRevoke", { "userId": u1, "role": "PHONE_MANAGER" }, ["NOT_FOUND"]],
        ["dm", "roleRevoke", { "userId": dm_id, "role": "DECISION_MAKER" }, ["FORBIDDEN"]],
    ]);
    for (i, call) in calls.as_array().unwrap().iter().enumerate() {
        let token = match call[0].as_str().unwrap() {
            "s" => &s,
            "dm" => &dm,
            _ => &pm,
        };
        let (name, before) = (call[1].as_str().unwrap(), app.outbox_count().await);
        let p = mutate(&app, token, name, call[2].clone()).await;
        let got: Vec<String> = errs(&p).into_iter().map(|(_, c)| c).collect();
        assert_eq!(json!(got), call[3], "#{i} {name}: {p}");
        assert_eq!(app.outbox_count().await, before, "#{i} {name} recorded an event");
    }
}

async fn import_failing_on_its_last_row_records_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, a) = (app.token(w.a.dm), gid(Kind::Account, w.a.account));
    let users = "SELECT COUNT(*) AS n FROM app_user";
    let (users_before, events_before) = (count(&app.state.db, users).await, app.outbox_count().await);
    let first = json!({ "name": "Row0", "extension": "1400", "email": "r0@example.org", "phoneProfile": "BASIC" });
    let bad_last = [
        // Passes validation, then clashes with a stored extension (user1's 1003).
        (row("Clash", "1003"), "users.2.extension", "EXTENSION_CONFLICT"),
        // Malformed.
        (
            with(&row("Bad", "1402"), &json!({ "phoneNumber": "x1" })),
            "users.2.phoneNumber",
            "VALIDATION_FAILED",
        ),
        // The same email as the first row of the batch.
        (
            with(&row("Twin", "1402"), &json!({ "email": "R0@example.org" })),
            "users.2.email",
            "VALIDATION_FAILED",
        ),
    ];
    for (last, field, code) in bad_last {
        let batch = json!([first, row("Row1", "1401"), last]);
        let p = mutate(&app, &dm, "usersImport", json!({ "accountId": a, "users": batch })).await;
        assert_eq!(
            (errs(&p), &p["users"]),
            (vec![(field.to_owned(), code.to_owned())], &json!([]))
        );
        assert_eq!(
            count(&app.state.db, users).await,
            users_before,
            "{field}: no user written"
        );
        assert_eq!(app.outbox_count().await, events_before, "{field}: no event written");
    }
    // The control: the same batch with a good last row writes all three, and three events.
    let batch = json!([first, row("Row1", "1401"), row("Row2", "1402")]);
    let p = mutate(&app, &dm, "usersImport", json!({ "accountId": a, "users": batch })).await;
    assert_eq!(errs(&p), []);
    assert_eq!(count(&app.state.db, users).await, users_before + 3);
    let types = app.outbox_types().await;
    assert_eq!(
        types[events_before as usize..],
        ["user.created", "user.created", "user.created"]
    );
}

backend_tests!(
    each_mutation_records_its_events,
    failed_refused_and_noop_mutations_record_nothing,
    import_failing_on_its_last_row_records_nothing,
);
