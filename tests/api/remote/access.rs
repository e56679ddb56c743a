//! Who may do what on Remote Extension (SPEC §1, §4, §6): for the number and status mutations,
//! the client profiles and the reads, one row per role — the user themself, another user of the
//! account, a Phone Manager of the user's location and of another one, a Decision Maker, an
//! account-wide Phone Manager, Support — and every role of another tenant. Rules covered: §1 (a
//! plain user's view of someone else is an unknown id's), T1 (another account's ids are unknown
//! ids; garbage ids too), R1 (MiCloud answers `PLATFORM_NOT_SUPPORTED`, reads are empty), R6 and
//! R10 (`deletable`, `editable` and `canAddStatus` per caller, and the actions agree with them),
//! R12 (admins covering the user provision with origin `ADMIN`).
//!
//! Every case asserts the answer, a read-back as Support and the outbox: an allowed call records
//! exactly its event and shows in the read-back; a refusal returns no object and changes no row,
//! no event and nothing read back; a `NOT_FOUND` carries the very `userErrors` an unknown id gets.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use sea_orm::{ActiveModelTrait, Set, Unchanged};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::remote::*;

pub const OK: &str = "";

const PROFILES: &str = "query($a: ID!) { account(id: $a) {
    clientProfiles { id name isDefault allowUsersAddStatus callThroughAllowed } } }";

const FLAGS: &str = "query($u: ID!) { node(id: $u) { ... on User { canAddRemoteExtension canAddStatus
    numbers(first: 100) { nodes { id deletable lockReasons } } dynamicStatuses { id editable } } } }";

/// The server for these tests.
pub async fn start(backend: Backend) -> TestApp {
    spawn_app(backend).await
}

/// `query` with `{ key: value }` as `token`, answering `data.<field>` (no top-level error).
async fn ask(app: &TestApp, token: &str, query: &str, key: &str, value: &str, field: &str) -> Value {
    let body = app.gql(token, query, json!({ key: value })).await;
    assert!(body["errors"].is_null(), "{value}: {body}");
    body["data"][field].clone()
}

/// Account `account`'s client profiles as `token` reads them (`null`: not visible).
pub async fn profiles(app: &TestApp, token: &str, account: Uuid) -> Value {
    let a = gid(Kind::Account, account);
    ask(app, token, PROFILES, "a", &a, "account").await["clientProfiles"].clone()
}

/// `node(id)` as `token`.
async fn node(app: &TestApp, token: &str, id: &str) -> Value {
    ask(app, token, "query($id: ID!) { node(id: $id) { id } }", "id", id, "node").await
}

/// User `user`'s Remote Extension flags as `token` reads them.
pub async fn flags(app: &TestApp, token: &str, user: Uuid) -> Value {
    ask(app, token, FLAGS, "u", &gid(Kind::User, user), "node").await
}

/// The event each mutation records when it changes something.
fn event_of(mutation: &str) -> &'static str {
    match mutation {
        "userNumberCreate" => "user_number.created",
        "userNumberUpdate" => "user_number.updated",
        "userNumberDelete" => "user_number.deleted",
        "dynamicStatusCreate" => "dynamic_status.created",
        "dynamicStatusUpdate" => "dynamic_status.updated",
        "dynamicStatusDelete" => "dynamic_status.deleted",
        "dynamicStatusActivate" => "active_status.changed",
        "clientProfileCreate" => "client_profile.created",
        "clientProfileUpdate" => "client_profile.updated",
        "userClientProfileSet" => "user.client_profile_changed",
        other => panic!("no event for {other}"),
    }
}

/// The kind of object input field `field` of `mutation` names.
fn kind_of(mutation: &str, field: &str) -> Kind {
    match field {
        "userId" => Kind::User,
        "accountId" => Kind::Account,
        "clientProfileId" => Kind::ClientProfile,
        _ if mutation.starts_with("userNumber") => Kind::UserNumber,
        _ if mutation.starts_with("dynamicStatus") => Kind::DynamicStatus,
        _ => Kind::ClientProfile,
    }
}

/// Whose data a case is about: the user and account read back (as Support) around each call.
#[derive(Clone, Copy)]
pub struct At<'a> {
    app: &'a TestApp,
    account: Uuid,
    pub user: Uuid,
}

pub fn at<'a>(app: &'a TestApp, t: &Tenant, user: Uuid) -> At<'a> {
    let account = t.account;
    At { app, account, user }
}

impl At<'_> {
    pub async fn state(&self) -> (Value, Value) {
        let support = self.app.support();
        let user = read_user(self.app, &support, self.user).await;
        (user, profiles(self.app, &support, self.account).await)
    }

    /// Runs `mutation` as `who` (`token`); `expect` is `OK` or the one code it must answer (the
    /// module doc says what each outcome must also show).
    pub async fn check(&self, who: &str, token: &str, mutation: &str, input: Value, expect: &str) -> Value {
        let (app, label) = (self.app, format!("{mutation} as {who}"));
        let (snap, head, before) = (rsnapshot(app).await, outbox_head(app).await, self.state().await);
        let payload = rcall(app, token, mutation, input.clone()).await;
        if expect != OK {
            assert_eq!(rcodes(&payload), vec![expect], "{label}: {payload}");
            let mut objects = payload.as_object().unwrap().iter().filter(|(k, _)| *k != "userErrors");
            assert!(objects.all(|(_, v)| v.is_null()), "{label}: {payload}");
            if expect == "NOT_FOUND" {
                let field = payload["userErrors"][0]["field"][0].as_str().unwrap();
                let mut ghost = input;
                ghost[field] = json!(gid(kind_of(mutation, field), Uuid::new_v4()));
                let unknown = rcall(app, token, mutation, ghost).await["userErrors"].clone();
                assert_eq!(unknown, payload["userErrors"], "{label}: as for an unknown id");
            }
            assert_eq!(rsnapshot(app).await, snap, "{label}: a refusal writes nothing");
            assert_eq!(self.state().await, before, "{label}: read back unchanged");
            return payload;
        }
        assert_eq!(rcodes(&payload), Vec::<String>::new(), "{label}: allowed: {payload}");
        let events = events_since(app, head).await;
        let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, vec![event_of(mutation)], "{label}: its event, once");
        if let Some(user) = events[0].1.get("userId") {
            assert_eq!(user, &json!(self.user), "{label}: the event names the user");
        }
        let (user, profiles) = self.state().await;
        let id = |field: &str| payload[field]["id"].as_str().unwrap().to_owned();
        let (fields, read, sent) = match mutation {
            "userNumberCreate" | "userNumberUpdate" => (
                &["label", "number", "origin"][..],
                number_in(&user, &id("userNumber")),
                &payload["userNumber"],
            ),
            "dynamicStatusCreate" | "dynamicStatusUpdate" => (
                &["name", "message", "origin", "version"][..],
                status_in(&user, &id("dynamicStatus")),
                &payload["dynamicStatus"],
            ),
            "userNumberDelete" | "dynamicStatusDelete" => {
                let gone = payload["deletedId"].as_str().unwrap();
                let find = |r: &Value| [number_in(r, gone), status_in(r, gone)];
                assert_ne!(find(&before.0), [Value::Null, Value::Null], "{label}: was there");
                assert_eq!(find(&user), [Value::Null, Value::Null], "{label}: gone");
                return payload;
            }
            "dynamicStatusActivate" => (&["id"][..], user["activeStatus"].clone(), &payload["dynamicStatus"]),
            "userClientProfileSet" => (&["id"][..], user["clientProfile"].clone(), &payload["clientProfile"]),
            _ => {
                let listed = profiles.as_array().unwrap();
                assert!(listed.contains(&payload["clientProfile"]), "{label}: {profiles}");
                return payload;
            }
        };
        for f in fields {
            assert_eq!(read[f], sent[f], "{label}: read back {f}");
        }
        payload
    }
}

/// The ten Remote Extension mutations, each naming one object: the seven on a user's numbers and
/// statuses first, then the three on client profiles.
fn mutations(user: &str, number: &str, status: &str, account: &str, profile: &str) -> Vec<(&'static str, Value)> {
    let (n, s, name) = (json!({ "id": number }), json!({ "id": status }), "Sneaky");
    let add_number = json!({ "userId": user, "label": name, "number": "+46700999" });
    let add_status = json!({ "userId": user, "name": name, "presence": "BUSY" });
    vec![
        ("userNumberCreate", add_number),
        ("userNumberUpdate", json!({ "id": number, "label": name })),
        ("userNumberDelete", n),
        ("dynamicStatusCreate", add_status),
        ("dynamicStatusUpdate", json!({ "id": status, "name": name })),
        ("dynamicStatusActivate", s.clone()),
        ("dynamicStatusDelete", s),
        ("clientProfileCreate", json!({ "accountId": account, "name": name })),
        ("clientProfileUpdate", json!({ "id": profile, "name": name })),
        (
            "userClientProfileSet",
            json!({ "userId": user, "clientProfileId": profile }),
        ),
    ]
}

/// A number and a (not active) status `user` adds for themself: `(number id, status id)`.
pub async fn own(app: &TestApp, user: Uuid, n: u32) -> (String, String) {
    let token = app.token(user);
    let number = json!({ "label": "Home", "number": format!("+4631{n:06}") });
    let number = rcall(app, &token, "userNumberCreate", number).await;
    let status = json!({ "name": "Lunch", "presence": "AWAY" });
    let status = rcall(app, &token, "dynamicStatusCreate", status).await;
    (id_of(&number, "userNumber"), id_of(&status, "dynamicStatus"))
}

/// A number and a status of `at.user`, taken through their whole life as `who` — created with
/// `userId` (origin `origin` by default), changed, activated and back, deleted — each allowed.
async fn lifecycle(at: At<'_>, who: &str, token: &str, origin: &str, n: u32) {
    let user = gid(Kind::User, at.user);
    let input = json!({ "userId": user, "label": format!("Cell {n}"), "number": format!("+4670{n:06}") });
    let p = at.check(who, token, "userNumberCreate", input, OK).await;
    assert_eq!(p["userNumber"]["origin"], origin, "{who}");
    let number = id_of(&p, "userNumber");
    let input = json!({ "id": number, "label": format!("Mobile {n}") });
    let p = at.check(who, token, "userNumberUpdate", input, OK).await;
    assert_eq!(p["userNumber"]["label"], format!("Mobile {n}"), "{who}");
    let input = json!({ "userId": user, "name": format!("Travel {n}"), "presence": "AWAY" });
    let p = at.check(who, token, "dynamicStatusCreate", input, OK).await;
    assert_eq!(p["dynamicStatus"]["origin"], origin, "{who}");
    let status = id_of(&p, "dynamicStatus");
    let previous = json!({ "id": at.state().await.0["activeStatus"]["id"] });
    let s = json!({ "id": status });
    let changed = json!({ "id": status, "message": "on the road" });
    for (m, input, expect) in [
        ("dynamicStatusUpdate", changed, OK),
        ("dynamicStatusActivate", s.clone(), OK),
        ("dynamicStatusDelete", s.clone(), "ACTIVE_STATUS_DELETE"),
        ("dynamicStatusActivate", previous, OK),
        ("dynamicStatusDelete", s, OK),
        ("userNumberDelete", json!({ "id": number }), OK),
    ] {
        at.check(who, token, m, input, expect).await;
    }
}

async fn numbers_and_statuses_by_role(backend: Backend) {
    let app = start(backend).await;
    let c = RemoteWorld::build(&app).await.c;
    let (sup, tok) = (app.support(), |who: Uuid| app.token(who));
    let (u1, u2, pm1, dm, pm) = (tok(c.user1), tok(c.user2), tok(c.pm_loc1), tok(c.dm), tok(c.pm));
    let allowed = [
        ("user1 on themself", &u1, c.user1, "USER"),
        ("DM on themself", &dm, c.dm, "USER"),
        ("location PM on user1", &pm1, c.user1, "ADMIN"),
        ("DM on user2", &dm, c.user2, "ADMIN"),
        ("account PM on user2", &pm, c.user2, "ADMIN"),
        ("account PM on user1", &pm, c.user1, "ADMIN"),
        ("Support on user1", &sup, c.user1, "ADMIN"),
        ("Support on user2", &sup, c.user2, "ADMIN"),
    ];
    for (n, (who, token, user, origin)) in allowed.into_iter().enumerate() {
        lifecycle(at(&app, &c, user), who, token, origin, n as u32).await;
    }

    let objects = [own(&app, c.user1, 1).await, own(&app, c.user2, 2).await];
    let refused = [
        ("user1 on user2", &u1, c.user2, "NOT_FOUND"),
        ("user2 on user1", &u2, c.user1, "NOT_FOUND"),
        ("location PM on user2", &pm1, c.user2, "FORBIDDEN"),
    ];
    for (who, token, user, code) in refused {
        let (number, status) = &objects[usize::from(user == c.user2)];
        let u = gid(Kind::User, user);
        for (m, input) in mutations(&u, number, status, "", "").into_iter().take(7) {
            at(&app, &c, user).check(who, token, m, input, code).await;
        }
    }

    // R12 both ways: only an admin covering the user provisions; what an admin adds for another
    // user is never that user's own.
    let on1 = at(&app, &c, c.user1);
    let own_input = [
        ("userNumberCreate", json!({ "label": "Mine", "number": "+46700777" })),
        ("dynamicStatusCreate", json!({ "name": "Mine", "presence": "BUSY" })),
    ];
    for (m, mut input) in own_input {
        input["origin"] = json!("ADMIN");
        on1.check("user1", &u1, m, input.clone(), "FORBIDDEN").await;
        input["origin"] = json!("USER");
        input["userId"] = json!(gid(Kind::User, c.user1));
        on1.check("location PM", &pm1, m, input, "VALIDATION_FAILED").await;
    }
}

/// The names in a list of client profiles as read.
pub fn names(list: &Value) -> Vec<String> {
    let items = list.as_array().unwrap().iter();
    items.map(|x| x["name"].as_str().unwrap().to_owned()).collect()
}

/// The ids of a user's numbers and statuses, as read.
fn ids(read: &Value) -> Vec<Value> {
    let numbers = read["numbers"]["nodes"].as_array().unwrap().iter();
    let statuses = read["dynamicStatuses"].as_array().unwrap().iter();
    numbers.chain(statuses).map(|x| x["id"].clone()).collect()
}

async fn reads_follow_the_role_table(backend: Backend) {
    let app = start(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (c, d, sup, tok) = (&w.c, &w.d, app.support(), |who: Uuid| app.token(who));
    let objects = [own(&app, c.user1, 1).await, own(&app, c.user2, 2).await];
    let (u1, u2, pm1) = (tok(c.user1), tok(c.user2), tok(c.pm_loc1));
    let rows = [
        ("user1 on themself", u1.clone(), c.user1, true),
        ("user1 on user2", u1.clone(), c.user2, false),
        ("user2 on user1", u2, c.user1, false),
        ("location PM on user1", pm1.clone(), c.user1, true),
        ("location PM on user2", pm1, c.user2, false),
        ("DM on user2", tok(c.dm), c.user2, true),
        ("account PM on user2", tok(c.pm), c.user2, true),
        ("Support on user1", sup.clone(), c.user1, true),
        ("Support on user2", sup.clone(), c.user2, true),
        ("D's DM on C's user1", tok(d.dm), c.user1, false),
        ("D's account PM", tok(d.pm), c.user1, false),
        ("D's location PM", tok(d.pm_loc1), c.user1, false),
        ("D's user1", tok(d.user1), c.user1, false),
    ];
    for (who, token, user, visible) in rows {
        let (number, status) = &objects[usize::from(user == c.user2)];
        let (read, truth) = (read_user(&app, &token, user).await, read_user(&app, &sup, user).await);
        if visible {
            assert_eq!(ids(&read), ids(&truth), "{who}");
            for f in ["activeStatus", "clientProfile"] {
                assert_eq!(read[f], truth[f], "{who}: {f}");
            }
        } else {
            assert!(read.is_null(), "{who}: {read}");
        }
        for id in [number, status] {
            assert_eq!(node(&app, &token, id).await.is_null(), !visible, "{who}: node {id}");
        }
    }
    // Profiles are the account's: any of its users sees them, nobody of another account (T1).
    let default = gid(Kind::ClientProfile, c.account);
    let rows = [
        ("user1", u1, true),
        ("Support", sup.clone(), true),
        ("D's DM", tok(d.dm), false),
    ];
    for (who, token, visible) in rows {
        assert_eq!(node(&app, &token, &default).await.is_null(), !visible, "{who}");
        assert_eq!(profiles(&app, &token, c.account).await.is_null(), !visible, "{who}");
    }
    // Garbage ids are unknown ids, not errors ("VXNl…" is `User:not-a-uuid`).
    let ghost = gid(Kind::UserNumber, Uuid::new_v4());
    for bad in ["garbage", "", "VXNlcjpub3QtYS11dWlk", ghost.as_str()] {
        assert!(node(&app, &sup, bad).await.is_null(), "{bad}");
    }
}

async fn another_tenant_is_an_unknown_id(backend: Backend) {
    let app = start(backend).await;
    let w = RemoteWorld::build(&app).await;
    let (c, d, sup, tok) = (&w.c, &w.d, app.support(), |who: Uuid| app.token(who));
    let (number, status) = own(&app, c.user1, 1).await;
    let input = json!({ "accountId": gid(Kind::Account, c.account), "name": "Contractors" });
    let profile = id_of(&rcall(&app, &sup, "clientProfileCreate", input).await, "clientProfile");
    let (user, account) = (gid(Kind::User, c.user1), gid(Kind::Account, c.account));
    let on1 = at(&app, c, c.user1);
    let roles = [
        ("D's DM", d.dm),
        ("D's account PM", d.pm),
        ("D's location PM", d.pm_loc1),
        ("D's user1", d.user1),
        ("D's user2", d.user2),
    ];
    for (who, id) in roles {
        for (m, input) in mutations(&user, &number, &status, &account, &profile) {
            on1.check(who, &tok(id), m, input, "NOT_FOUND").await;
        }
    }
    // Another account's profile given to one's own user.
    let input = json!({ "userId": gid(Kind::User, d.user1), "clientProfileId": profile });
    let (set, d1) = ("userClientProfileSet", at(&app, d, d.user1));
    let p = d1.check("D's DM", &tok(d.dm), set, input, "NOT_FOUND").await;
    assert_eq!(p["userErrors"][0]["field"], json!(["clientProfileId"]));

    // Garbage and wrong-kind ids: NOT_FOUND in the payload, never a top-level error.
    let wrong_kind = gid(Kind::Location, c.loc1);
    for (who, token) in [("Support", sup.clone()), ("C's DM", tok(c.dm))] {
        for bad in ["garbage", "", wrong_kind.as_str()] {
            let mut cases = mutations(bad, bad, bad, bad, bad);
            let bad_user = json!({ "userId": bad, "clientProfileId": profile });
            let bad_profile = json!({ "userId": user, "clientProfileId": bad });
            cases.extend([(set, bad_user), (set, bad_profile)]);
            for (m, input) in cases {
                let who = format!("{who} with id {bad:?}");
                on1.check(&who, &token, m, input, "NOT_FOUND").await;
            }
        }
    }
}

async fn micloud_is_not_supported(backend: Backend) {
    let app = start(backend).await;
    let m = RemoteWorld::build(&app).await.m;
    let (sup, tok) = (app.support(), |who: Uuid| app.token(who));
    let empty = |r: &Value, who: &str| {
        assert_eq!(r["numbers"]["totalCount"], 0, "{who}: {r}");
        assert_eq!(r["dynamicStatuses"], json!([]), "{who}");
        for f in ["clientProfile", "activeStatus", "activeRemoteExtension"] {
            assert!(r[f].is_null(), "{who}: {f}");
        }
        assert_eq!(r["canAddRemoteExtension"], false, "{who}");
        assert_eq!(r["canAddStatus"], false, "{who}");
    };
    for (who, token) in [("Support", sup.clone()), ("DM", tok(m.dm)), ("user1", tok(m.user1))] {
        empty(&read_user(&app, &token, m.user1).await, who);
        assert_eq!(profiles(&app, &token, m.account).await, json!([]), "{who}");
    }
    // No API moves an account off MX-ONE; to reach the R1 check of the mutations that take a
    // number or status id, the account runs on MX-ONE just long enough for one to exist.
    let platform = |platform| entity::account::ActiveModel {
        id: Unchanged(m.account),
        platform: Set(platform),
        ..Default::default()
    };
    let db = &app.state.db;
    platform(entity::Platform::MxOne).update(db).await.unwrap();
    let number = provision_admin(&app, m.user1, "0981555001").await;
    platform(entity::Platform::MicloudConnect).update(db).await.unwrap();
    let status = read_user(&app, &sup, m.user1).await["dynamicStatuses"][1]["id"].clone();
    let status = status.as_str().unwrap();
    empty(&read_user(&app, &tok(m.dm), m.user2).await, "DM on user2");

    let (user, account) = (gid(Kind::User, m.user1), gid(Kind::Account, m.account));
    let all = mutations(&user, &number, status, &account, &gid(Kind::ClientProfile, m.account));
    let every: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (who, token, which) in [
        ("Support", sup.clone(), &every[..]),
        ("DM", tok(m.dm), &every[..]),
        ("account PM", tok(m.pm), &every[..]),
        ("location PM", tok(m.pm_loc1), &[0, 1, 2, 3, 4, 5, 6, 9][..]),
        ("user1 on themself", tok(m.user1), &every[..7]),
    ] {
        for &i in which {
            let ((mutation, input), code) = (all[i].clone(), "PLATFORM_NOT_SUPPORTED");
            at(&app, &m, m.user1).check(who, &token, mutation, input, code).await;
        }
    }
}

backend_tests!(
    numbers_and_statuses_by_role,
    reads_follow_the_role_table,
    another_tenant_is_an_unknown_id,
    micloud_is_not_supported,
);
