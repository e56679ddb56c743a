//! Directory mutations (SPEC §2): every rule with a success case and its refusals, each refusal
//! checked to change nothing.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::tenancy::directory::{names, users_page};

/// Runs directory mutation `name` with `input`; answers its payload (no top-level error allowed).
pub async fn mutate(app: &TestApp, token: &str, name: &str, input: Value) -> Value {
    let body = mutate_body(app, token, name, input).await;
    assert!(body.get("errors").is_none(), "{name}: {body}");
    body["data"][name].clone()
}

/// Runs directory mutation `name` with `input`; answers the whole response body.
pub async fn mutate_body(app: &TestApp, token: &str, name: &str, input: Value) -> Value {
    let selection = match name {
        "accountCreate" => "account { id name platform destinationCodes extensionLength }",
        "locationCreate" => "location { id name }",
        "accessNumberCreate" => "accessNumber { id number label }",
        "userCreate" | "userUpdate" => {
            "user { id name email phoneNumber extension phoneProfile updatedAt location { id } roles { id } }"
        }
        "usersImport" => "users { id name extension }",
        "roleAssign" => "roleAssignment { id role location { id } }",
        "roleRevoke" => "deletedId",
        other => panic!("not a directory mutation: {other}"),
    };
    let ty = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let errors = "userErrors { field message code }";
    let query = format!("mutation($i: {ty}!) {{ {name}(input: $i) {{ {selection} {errors} }} }}");
    app.gql(token, &query, json!({ "i": input })).await
}

/// A payload's `userErrors` as `(field path joined with ".", code)`.
pub fn errs(payload: &Value) -> Vec<(String, String)> {
    let errors = payload["userErrors"].as_array();
    let mut out = Vec::new();
    for e in errors.unwrap_or_else(|| panic!("no userErrors in {payload}")) {
        let field = e["field"].as_array().into_iter().flatten();
        let field: Vec<&str> = field.map(|s| s.as_str().unwrap()).collect();
        out.push((field.join("."), e["code"].as_str().unwrap().to_owned()));
    }
    out
}

fn err(field: &str, code: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), code.to_owned())]
}

/// A `usersImport` row.
pub fn row(name: &str, extension: &str) -> Value {
    json!({ "name": name, "extension": extension, "phoneProfile": "ESSENTIALS" })
}

/// Creates an account as Support; answers its global id.
pub async fn new_account(app: &TestApp, input: Value) -> String {
    let p = mutate(app, &app.support(), "accountCreate", input).await;
    p["account"]["id"].as_str().unwrap_or_else(|| panic!("{p}")).to_owned()
}

async fn users(app: &TestApp) -> i64 {
    count(&app.state.db, "SELECT COUNT(*) AS n FROM app_user").await
}

/// `base` with the keys of `patch` set.
pub fn with(base: &Value, patch: &Value) -> Value {
    let mut v = base.clone();
    for (k, val) in patch.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

/// `keys` of object `v`, as an object.
fn pick(v: &Value, keys: &[&str]) -> Value {
    Value::Object(keys.iter().map(|k| ((*k).to_owned(), v[*k].clone())).collect())
}

/// Runs `mutation` with `base` patched by each case `[field, code, patch]`: each must answer
/// exactly that error and no object.
async fn refused(app: &TestApp, token: &str, mutation: &str, base: &Value, cases: Value) {
    for case in cases.as_array().unwrap() {
        let p = mutate(app, token, mutation, with(base, &case[2])).await;
        let want = err(case[0].as_str().unwrap(), case[1].as_str().unwrap());
        assert_eq!(errs(&p), want, "{mutation} {case}");
        let (_, object) = p.as_object().unwrap().iter().find(|(k, _)| *k != "userErrors").unwrap();
        assert!(object.is_null() || object == &json!([]), "{mutation} {case}: {p}");
    }
}

async fn account_create_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = app.support();
    let base = json!({ "name": "Acme", "platform": "MX_ONE" });
    let cases = json!([
        ["name", "VALIDATION_FAILED", { "name": "   " }],
        ["name", "VALIDATION_FAILED", { "name": "x".repeat(201) }],
        ["destinationCodes", "VALIDATION_FAILED", { "destinationCodes": [] }],
        ["destinationCodes", "VALIDATION_FAILED", { "destinationCodes": ["0a"] }],
        ["destinationCodes", "VALIDATION_FAILED", { "destinationCodes": ["0", "0"] }],
        ["destinationCodes", "VALIDATION_FAILED", { "destinationCodes": ["12345"] }],
        ["destinationCodes", "VALIDATION_FAILED", { "destinationCodes": [""] }],
        ["extensionLength", "VALIDATION_FAILED", { "extensionLength": 1 }],
        ["extensionLength", "VALIDATION_FAILED", { "extensionLength": 16 }],
    ]);
    refused(&app, &s, "accountCreate", &base, cases).await;
    assert_eq!(count(&app.state.db, "SELECT COUNT(*) AS n FROM account").await, 0);
    assert_eq!(app.outbox_count().await, 0);

    // Defaults, and the name trimmed (SPEC §2).
    let input = json!({ "name": "  Acme  ", "platform": "MX_ONE" });
    let p = mutate(&app, &s, "accountCreate", input).await;
    let want = json!({ "name": "Acme", "platform": "MX_ONE", "destinationCodes": ["0"], "extensionLength": null });
    let keys = ["name", "platform", "destinationCodes", "extensionLength"];
    assert_eq!(pick(&p["account"], &keys), want);
    // The boundaries are accepted.
    let input = json!({ "name": "y".repeat(200), "platform": "MICLOUD_CONNECT",
        "destinationCodes": ["9", "0011"], "extensionLength": 2 });
    let p = mutate(&app, &s, "accountCreate", input).await;
    let want = json!({ "destinationCodes": ["9", "0011"], "extensionLength": 2 });
    assert_eq!(pick(&p["account"], &["destinationCodes", "extensionLength"]), want);
    let fifteen = with(&base, &json!({ "extensionLength": 15 }));
    let p = mutate(&app, &s, "accountCreate", fifteen).await;
    assert_eq!(p["account"]["extensionLength"], 15);
    assert_eq!(count(&app.state.db, "SELECT COUNT(*) AS n FROM account").await, 3);
}

async fn location_and_access_number_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (s, dm) = (app.support(), app.token(w.a.dm));
    let (a, b) = (gid(Kind::Account, w.a.account), gid(Kind::Account, w.b.account));
    let before = app.outbox_count().await;
    let tables = "SELECT (SELECT COUNT(*) FROM location) + (SELECT COUNT(*) FROM access_number) AS n";
    let rows_before = count(&app.state.db, tables).await;

    // Blank, too long, and an existing name in another case ("North" exists).
    let cases = json!([
        ["name", "VALIDATION_FAILED", { "name": "  " }],
        ["name", "VALIDATION_FAILED", { "name": "x".repeat(201) }],
        ["name", "VALIDATION_FAILED", { "name": "nORTH" }],
    ]);
    refused(&app, &dm, "locationCreate", &json!({ "accountId": a }), cases).await;
    let cases = json!([
        ["number", "VALIDATION_FAILED", { "number": "12" }],
        ["number", "VALIDATION_FAILED", { "number": "12ab" }],
        ["number", "VALIDATION_FAILED", { "number": "+" }],
        ["number", "VALIDATION_FAILED", { "number": "1234567890123456" }],
        ["number", "VALIDATION_FAILED", { "number": "" }],
        ["label", "VALIDATION_FAILED", { "label": "  " }],
    ]);
    let base = json!({ "accountId": a, "number": "+16175550100", "label": "Main" });
    refused(&app, &dm, "accessNumberCreate", &base, cases).await;
    assert_eq!(count(&app.state.db, tables).await, rows_before);
    assert_eq!(app.outbox_count().await, before);

    let east = json!({ "accountId": a, "name": "  East  " });
    let p = mutate(&app, &dm, "locationCreate", east).await;
    assert_eq!((errs(&p), &p["location"]["name"]), (vec![], &json!("East")));
    let input = json!({ "accountId": a, "number": "+1 (617) 555-0100", "label": " Boston " });
    let p = mutate(&app, &dm, "accessNumberCreate", input).await;
    let want = json!({ "number": "+16175550100", "label": "Boston" });
    assert_eq!(pick(&p["accessNumber"], &["number", "label"]), want);
    // The same number written differently is a duplicate in this account…
    let cases = json!([["number", "DUPLICATE_NUMBER", { "number": "+1.617.555.0100" }]]);
    refused(&app, &dm, "accessNumberCreate", &base, cases).await;
    // …but fine in another one, as is the location name.
    let p = mutate(&app, &s, "accessNumberCreate", with(&base, &json!({ "accountId": b }))).await;
    assert_eq!(errs(&p), []);
    let p = mutate(&app, &s, "locationCreate", json!({ "accountId": b, "name": "east" })).await;
    assert_eq!(errs(&p), []);
    assert_eq!(count(&app.state.db, tables).await, rows_before + 4);
    assert_eq!(app.outbox_count().await, before + 4);
}

async fn user_create_validation(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let s = app.support();
    let four = json!({ "name": "Four", "platform": "MICLOUD_CONNECT", "extensionLength": 4 });
    let four = new_account(&app, four).await;
    let p = mutate(&app, &s, "locationCreate", json!({ "accountId": four, "name": "HQ" })).await;
    let hq = p["location"]["id"].clone();
    let base = json!({ "accountId": four, "name": "Ada", "extension": "1234", "phoneProfile": "ELITE" });
    let (users_before, events_before) = (users(&app).await, app.outbox_count().await);
    let cases = json!([
        ["extension", "VALIDATION_FAILED", { "extension": "12a4" }],
        ["extension", "VALIDATION_FAILED", { "extension": "123" }],
        ["extension", "VALIDATION_FAILED", { "extension": "12345" }],
        ["extension", "VALIDATION_FAILED", { "extension": "" }],
        ["email", "VALIDATION_FAILED", { "email": "not-an-email" }],
        ["email", "VALIDATION_FAILED", { "email": "ada@localhost" }],
        ["phoneNumber", "VALIDATION_FAILED", { "phoneNumber": "12" }],
        ["phoneNumber", "VALIDATION_FAILED", { "phoneNumber": "555-CALL-NOW" }],
        ["name", "VALIDATION_FAILED", { "name": "   " }],
        ["name", "VALIDATION_FAILED", { "name": "Ada\nLovelace" }],
        ["name", "VALIDATION_FAILED", { "name": "n".repeat(201) }],
        // A location of another account is an unknown location (T1).
        ["locationId", "NOT_FOUND", { "locationId": gid(Kind::Location, w.b.loc1) }],
        ["locationId", "NOT_FOUND", { "locationId": gid(Kind::Location, Uuid::new_v4()) }],
    ]);
    refused(&app, &s, "userCreate", &base, cases).await;
    assert_eq!(users(&app).await, users_before);
    assert_eq!(app.outbox_count().await, events_before);

    let good = json!({ "name": "  Ada Lovelace  ", "email": " Ada@Example.COM ",
        "phoneNumber": "+44 20 7946-0958", "locationId": hq });
    let p = mutate(&app, &s, "userCreate", with(&base, &good)).await;
    let want = json!({ "name": "Ada Lovelace", "email": "ada@example.com", "phoneNumber": "+442079460958",
        "extension": "1234", "phoneProfile": "ELITE", "location": { "id": hq } });
    let keys = ["name", "email", "phoneNumber", "extension", "phoneProfile", "location"];
    assert_eq!(pick(&p["user"], &keys), want);
    // The extension is unique in the account (spaces are trimmed first)…
    let cases = json!([
        ["extension", "EXTENSION_CONFLICT", { "name": "Bob", "extension": "1234" }],
        ["extension", "EXTENSION_CONFLICT", { "name": "Bob", "extension": " 1234 " }],
    ]);
    refused(&app, &s, "userCreate", &base, cases).await;
    assert_eq!(users(&app).await, users_before + 1);
    // …but another account may use it.
    let other = with(&base, &json!({ "accountId": gid(Kind::Account, w.a.account) }));
    assert_eq!(errs(&mutate(&app, &s, "userCreate", other).await), []);
    let longest = json!({ "name": "n".repeat(200), "extension": "1235" });
    assert_eq!(errs(&mutate(&app, &s, "userCreate", with(&base, &longest)).await), []);
    assert_eq!(users(&app).await, users_before + 3);
}

/// A name of 200 characters is valid (SPEC §2, schema: "1–200 characters") in any script, also
/// where lower-casing makes it longer ("İ" becomes "i̇", two characters).
async fn names_of_200_characters_in_any_script(backend: Backend) {
    let app = spawn_app(backend).await;
    let s = app.support();
    let acct = new_account(&app, json!({ "name": "Plain", "platform": "MX_ONE" })).await;
    let name = "İ".repeat(200);
    let user = json!({ "accountId": acct, "name": name, "extension": "100", "phoneProfile": "BASIC" });
    let tries = [
        (
            "accountCreate",
            json!({ "name": name, "platform": "MX_ONE" }),
            "account",
        ),
        ("locationCreate", json!({ "accountId": acct, "name": name }), "location"),
        ("userCreate", user, "user"),
    ];
    let mut refused = Vec::new();
    for (mutation, input, object) in tries {
        let body = mutate_body(&app, &s, mutation, input).await;
        if body["data"][mutation][object]["name"] != json!(name) {
            refused.push(format!("{mutation}: {body}"));
        }
    }
    assert!(
        refused.is_empty(),
        "a valid 200-character name was refused: {refused:#?}"
    );
}

async fn users_import_all_or_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (s, a) = (app.support(), gid(Kind::Account, w.a.account));
    let (users_before, events_before) = (users(&app).await, app.outbox_count().await);

    let batch = json!([
        row("Good One", "3000"),
        { "name": "Bad Row", "extension": "30x1", "email": "nope", "phoneProfile": "BASIC" },
        row("Good Two", "3002"),
        row("Twin", "3000"),
    ]);
    let p = mutate(&app, &s, "usersImport", json!({ "accountId": a, "users": batch })).await;
    let mut got = errs(&p);
    got.sort();
    let want = [
        err("users.1.email", "VALIDATION_FAILED"),
        err("users.1.extension", "VALIDATION_FAILED"),
    ];
    assert_eq!(
        got,
        [want.concat(), err("users.3.extension", "EXTENSION_CONFLICT")].concat()
    );
    assert_eq!(p["users"], json!([]));
    // A clash with a stored user (1003 is user1's) is reported on its row; an empty batch is refused.
    let cases = json!([
        ["users.1.extension", "EXTENSION_CONFLICT", { "users": [row("Fine", "3100"), row("Clash", "1003")] }],
        ["users", "VALIDATION_FAILED", { "users": [] }],
    ]);
    refused(&app, &s, "usersImport", &json!({ "accountId": a }), cases).await;
    assert_eq!(users(&app).await, users_before);
    assert_eq!(app.outbox_count().await, events_before);

    let batch = json!([row("Zoe", "3010"), row("Adam", "3011"), row("Mia", "3012")]);
    let p = mutate(&app, &s, "usersImport", json!({ "accountId": a, "users": batch })).await;
    let names: Vec<&Value> = p["users"].as_array().unwrap().iter().map(|u| &u["name"]).collect();
    assert_eq!(names, ["Zoe", "Adam", "Mia"], "in input order");
    assert_eq!(users(&app).await, users_before + 3);
}

async fn user_update_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    let (u1, loc2) = (gid(Kind::User, w.a.user1), gid(Kind::Location, w.a.loc2));
    let input = json!({ "id": u1, "name": " Uma Renamed ", "email": "UMA@New.Example", "phoneNumber": "+1 555 0100 99",
        "extension": "1099", "phoneProfile": "PREMIER", "locationId": loc2 });
    let p = mutate(&app, &dm, "userUpdate", input).await;
    let want = json!({ "name": "Uma Renamed", "email": "uma@new.example", "phoneNumber": "+1555010099",
        "extension": "1099", "phoneProfile": "PREMIER", "location": { "id": loc2 } });
    let fields = ["name", "email", "phoneNumber", "extension", "phoneProfile", "location"];
    assert_eq!(pick(&p["user"], &fields), want);
    // `null` clears an optional field; what is left out stays.
    let clear = json!({ "id": u1, "email": null, "locationId": null });
    let p = mutate(&app, &dm, "userUpdate", clear).await;
    let want = with(&want, &json!({ "email": null, "location": null }));
    assert_eq!(pick(&p["user"], &fields), want);
    let stored = p["user"].clone();

    // A no-op returns the user and records nothing (E1).
    let events = app.outbox_count().await;
    let same = json!({ "id": u1, "name": "Uma Renamed", "extension": "1099", "phoneProfile": "PREMIER",
        "email": null });
    let p = mutate(&app, &dm, "userUpdate", same).await;
    assert_eq!((errs(&p), &p["user"]), (vec![], &stored));
    // Refusals change nothing.
    let cases = json!([
        ["extension", "EXTENSION_CONFLICT", { "extension": "1000" }],
        ["extension", "VALIDATION_FAILED", { "extension": "1a" }],
        ["email", "VALIDATION_FAILED", { "email": "x@" }],
        ["name", "VALIDATION_FAILED", { "name": " " }],
        ["phoneNumber", "VALIDATION_FAILED", { "phoneNumber": "1" }],
        ["locationId", "NOT_FOUND", { "locationId": gid(Kind::Location, w.b.loc1) }],
    ]);
    refused(&app, &dm, "userUpdate", &json!({ "id": u1 }), cases).await;
    let read = mutate(&app, &dm, "userUpdate", json!({ "id": u1 })).await;
    assert_eq!(read["user"], stored);
    assert_eq!(app.outbox_count().await, events);
    // Search follows the change.
    let conn = users_page(&app, &gid(Kind::Account, w.a.account), json!({ "q": "1099" })).await;
    assert_eq!(names(&conn), ["Uma Renamed"]);
}

async fn role_assign_and_revoke(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    let (u1, loc2) = (gid(Kind::User, w.a.user1), gid(Kind::Location, w.a.loc2));
    let pm_loc2 = json!({ "userId": u1, "role": "PHONE_MANAGER", "locationId": loc2 });
    let p = mutate(&app, &dm, "roleAssign", pm_loc2.clone()).await;
    let want = json!({ "role": "PHONE_MANAGER", "location": { "id": loc2 } });
    assert_eq!(pick(&p["roleAssignment"], &["role", "location"]), want);
    let assignment = p["roleAssignment"]["id"].clone();
    let events = app.outbox_count().await;

    // Granting a held role is a no-op answering the existing assignment.
    let p = mutate(&app, &dm, "roleAssign", pm_loc2.clone()).await;
    assert_eq!((errs(&p), &p["roleAssignment"]["id"]), (vec![], &assignment));
    // A Decision Maker has no location (SPEC §2).
    let cases = json!([["locationId", "VALIDATION_FAILED", { "role": "DECISION_MAKER" }]]);
    refused(&app, &dm, "roleAssign", &pm_loc2, cases).await;
    let cases = json!([
        // Not held: account-wide instead of location 2; a role never granted.
        ["role", "NOT_FOUND", { "userId": u1, "role": "PHONE_MANAGER" }],
        ["role", "NOT_FOUND", { "userId": gid(Kind::User, w.a.user2), "role": "DECISION_MAKER" }],
        // A Decision Maker cannot revoke their own role.
        ["role", "FORBIDDEN", { "userId": gid(Kind::User, w.a.dm), "role": "DECISION_MAKER" }],
    ]);
    refused(&app, &dm, "roleRevoke", &json!({}), cases).await;
    let own = json!({ "userId": gid(Kind::User, w.a.dm), "role": "DECISION_MAKER" });
    let p = mutate(&app, &dm, "roleRevoke", own).await;
    assert_eq!(
        p["userErrors"][0]["message"],
        "you cannot revoke your own Decision Maker role; only Support or another Decision Maker of the account may"
    );
    assert_eq!(app.outbox_count().await, events);
    let roles = "query($u: ID!) { node(id: $u) { ... on User { roles { id role } } } }";
    let body = app.gql(&app.support(), roles, json!({ "u": u1 })).await;
    let want = json!([{ "id": assignment, "role": "PHONE_MANAGER" }]);
    assert_eq!(body["data"]["node"]["roles"], want);
    let body = app.gql(&dm, "{ viewer { roles { role } } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["roles"], json!([{ "role": "DECISION_MAKER" }]));

    let p = mutate(&app, &dm, "roleRevoke", pm_loc2).await;
    assert_eq!((errs(&p), &p["deletedId"]), (vec![], &assignment));
    let body = app.gql(&app.support(), roles, json!({ "u": u1 })).await;
    assert_eq!(body["data"]["node"]["roles"], json!([]));
    assert_eq!(app.outbox_count().await, events + 1);
}

backend_tests!(
    account_create_validation,
    location_and_access_number_validation,
    user_create_validation,
    names_of_200_characters_in_any_script,
    users_import_all_or_nothing,
    user_update_rules,
    role_assign_and_revoke,
);
