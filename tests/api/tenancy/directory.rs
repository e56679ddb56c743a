//! Who may do what in the directory (SPEC §1) and the tenant rule T1: another account's ids, and
//! malformed ones, behave exactly like ids that never existed, and nothing changes. Also what
//! `Account.users` lists: visibility by role, search, cursor pagination.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::{self, Kind};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::directory::mutations::{errs, mutate, new_account, row, with};
use crate::harness::app::*;

/// Row counts of the directory tables, and the outbox.
async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "account",
        "location",
        "access_number",
        "app_user",
        "role_assignment",
        "outbox_event",
    ] {
        counts.push(count(&app.state.db, &format!("SELECT COUNT(*) AS n FROM {table}")).await);
    }
    counts
}

fn codes_of(payload: &Value) -> Vec<String> {
    errs(payload).into_iter().map(|(_, c)| c).collect()
}

async fn directory_role_table(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let a = gid(Kind::Account, w.a.account);
    let (u1, dm_id, loc2) = (
        gid(Kind::User, w.a.user1),
        gid(Kind::User, w.a.dm),
        gid(Kind::Location, w.a.loc2),
    );
    let account = json!({ "name": "Mine", "platform": "MX_ONE" });

    // SPEC §1: only Support and the account's Decision Maker change the directory; Phone
    // Managers (account-wide or of a location) and plain users are refused, and write nothing.
    let before = snapshot(&app).await;
    for who in [w.a.pm, w.a.pm_loc1, w.a.user1] {
        let (t, me) = (app.token(who), gid(Kind::User, who));
        let refused = json!([
            ["accountCreate", account],
            ["locationCreate", { "accountId": a, "name": "Rogue" }],
            ["accessNumberCreate", { "accountId": a, "number": "+15550009999", "label": "Rogue" }],
            ["userCreate", { "accountId": a, "name": "Rogue", "extension": "9999", "phoneProfile": "ELITE" }],
            ["usersImport", { "accountId": a, "users": [row("Rogue", "9999")] }],
            ["userUpdate", { "id": u1, "name": "Hacked" }],
            ["roleAssign", { "userId": me, "role": "DECISION_MAKER" }],
            ["roleRevoke", { "userId": dm_id, "role": "DECISION_MAKER" }],
        ]);
        for case in refused.as_array().unwrap() {
            let name = case[0].as_str().unwrap();
            let p = mutate(&app, &t, name, case[1].clone()).await;
            // SPEC §1: a plain user naming another user gets what an unknown id gets.
            let expected = if who == w.a.user1 && name == "roleRevoke" {
                "NOT_FOUND"
            } else {
                "FORBIDDEN"
            };
            assert_eq!(codes_of(&p), [expected], "{name} by {who}: {p}");
        }
    }
    let p = mutate(&app, &app.token(w.a.dm), "accountCreate", account.clone()).await;
    assert_eq!(codes_of(&p), ["FORBIDDEN"], "accountCreate is Support's only");
    assert_eq!(snapshot(&app).await, before, "0 refused calls changed anything");
    let body = app.gql(&app.support(), NAME, json!({ "id": u1 })).await;
    assert_eq!(body["data"]["node"]["name"], "Uma One");

    // The same calls succeed for Support and the Decision Maker, one event each.
    let s = app.support();
    assert_eq!(codes_of(&mutate(&app, &s, "accountCreate", account).await), NONE);
    for (i, t) in [s, app.token(w.a.dm)].iter().enumerate() {
        let grant = json!({ "userId": u1, "role": "PHONE_MANAGER", "locationId": loc2 });
        let allowed = json!([
            ["locationCreate", { "accountId": a, "name": format!("Site {i}") }],
            ["accessNumberCreate", { "accountId": a, "number": format!("+1555000900{i}"), "label": "L" }],
            ["userCreate", { "accountId": a, "name": "New", "extension": format!("50{i}"), "phoneProfile": "BASIC" }],
            ["usersImport", { "accountId": a, "users": [row("Imp", &format!("60{i}"))] }],
            ["userUpdate", { "id": u1, "name": format!("Uma {i}") }],
            ["roleAssign", grant],
            ["roleRevoke", grant],
        ]);
        for case in allowed.as_array().unwrap() {
            let (name, events) = (case[0].as_str().unwrap(), app.outbox_count().await);
            let p = mutate(&app, t, name, case[1].clone()).await;
            assert_eq!(codes_of(&p), NONE, "{name} #{i}: {p}");
            assert_eq!(app.outbox_count().await, events + 1, "{name} #{i}");
        }
    }
}

const NONE: [&str; 0] = [];
const USERS: &str = "query($a: ID!, $q: String) { account(id: $a) { users(first: 100, search: $q) {
    totalCount nodes { name } } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
const NAME: &str = "query($id: ID!) { node(id: $id) { ... on User { name } } }";
const ROLES: &str = "query($id: ID!) { node(id: $id) { ... on User { roles { id } } } }";
const ACCOUNT: &str = "query($a: ID!) { account(id: $a) { id } }";

/// The users `who` sees in `account`, as `{names, total}`.
async fn visible(app: &TestApp, who: Uuid, account: &str, search: Option<&str>) -> Value {
    let body = app
        .gql(&app.token(who), USERS, json!({ "a": account, "q": search }))
        .await;
    let users = &body["data"]["account"]["users"];
    let nodes = users["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    let names: Vec<&Value> = nodes.iter().map(|n| &n["name"]).collect();
    json!({ "names": names, "total": users["totalCount"] })
}

async fn directory_reads_by_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let a = gid(Kind::Account, w.a.account);
    let all = json!({ "names": ["Dana DM", "Lee LocalPM", "Pat PM", "Ulf Two", "Uma One"], "total": 5 });
    let loc1 = json!({ "names": ["Dana DM", "Lee LocalPM", "Pat PM", "Uma One"], "total": 4 });
    assert_eq!(visible(&app, w.a.dm, &a, None).await, all);
    assert_eq!(visible(&app, w.a.pm, &a, None).await, all);
    assert_eq!(visible(&app, w.a.pm_loc1, &a, None).await, loc1);
    let me = json!({ "names": ["Uma One"], "total": 1 });
    assert_eq!(visible(&app, w.a.user1, &a, None).await, me);
    let nobody = json!({ "names": [], "total": 0 });
    assert_eq!(visible(&app, w.a.user1, &a, Some("Ulf")).await, nobody);

    // The location's Phone Manager, moved to location 2, still sees location 1 and themself only.
    let move_lee = json!({ "id": gid(Kind::User, w.a.pm_loc1), "locationId": gid(Kind::Location, w.a.loc2) });
    assert_eq!(
        codes_of(&mutate(&app, &app.support(), "userUpdate", move_lee).await),
        NONE
    );
    assert_eq!(visible(&app, w.a.pm_loc1, &a, None).await, loc1);

    // node(id): a plain user sees themself only; a location's Phone Manager its users only.
    let body = app
        .gql(&app.support(), ROLES, json!({ "id": gid(Kind::User, w.a.dm) }))
        .await;
    let dm_role = body["data"]["node"]["roles"][0]["id"].as_str().unwrap().to_owned();
    let cases = [
        (w.a.user1, gid(Kind::User, w.a.user1), true),
        (w.a.user1, gid(Kind::User, w.a.user2), false),
        (w.a.user1, gid(Kind::User, w.a.dm), false),
        (w.a.user1, dm_role, false),
        (w.a.user1, gid(Kind::Location, w.a.loc1), true),
        (w.a.pm_loc1, gid(Kind::User, w.a.user1), true),
        (w.a.pm_loc1, gid(Kind::User, w.a.user2), false),
    ];
    for (who, id, visible) in cases {
        let body = app.gql(&app.token(who), NODE, json!({ "id": id })).await;
        let want = if visible { json!({ "id": id }) } else { Value::Null };
        assert_eq!(body["data"]["node"], want, "{who} reads {id}: {body}");
    }
}

/// Directory mutations naming an id of each kind (`id(kind)`), in tenant A: `[mutation, input,
/// whether that id is the object acted on (so NOT_FOUND whoever calls)]`.
fn naming(w: &World, id: impl Fn(Kind) -> String) -> Vec<Value> {
    let (acct, user, loc) = (id(Kind::Account), id(Kind::User), id(Kind::Location));
    let (a, u1, pm_loc1) = (
        gid(Kind::Account, w.a.account),
        gid(Kind::User, w.a.user1),
        gid(Kind::User, w.a.pm_loc1),
    );
    let new = json!({ "name": "T1", "extension": "7777", "phoneProfile": "BASIC" });
    let at_loc = json!({ "locationId": loc, "name": "T1", "extension": "7777", "phoneProfile": "BASIC" });
    let cases = json!([
        ["locationCreate", { "accountId": acct, "name": "T1" }, true],
        ["accessNumberCreate", { "accountId": acct, "number": "+15550009999", "label": "T1" }, true],
        ["userCreate", { "accountId": acct, "name": "T1", "extension": "7777", "phoneProfile": "BASIC" }, true],
        ["usersImport", { "accountId": acct, "users": [new] }, true],
        ["userUpdate", { "id": user, "name": "T1" }, true],
        ["roleAssign", { "userId": user, "role": "PHONE_MANAGER" }, true],
        ["roleRevoke", { "userId": user, "role": "DECISION_MAKER" }, true],
        ["userCreate", with(&at_loc, &json!({ "accountId": a })), false],
        ["usersImport", { "accountId": a, "users": [at_loc] }, false],
        ["userUpdate", { "id": u1, "locationId": loc }, false],
        ["roleAssign", { "userId": u1, "role": "PHONE_MANAGER", "locationId": loc }, false],
        ["roleRevoke", { "userId": pm_loc1, "role": "PHONE_MANAGER", "locationId": loc }, false],
    ]);
    cases.as_array().unwrap().clone()
}

async fn other_tenants_ids_are_unknown(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let body = app
        .gql(&app.support(), ROLES, json!({ "id": gid(Kind::User, w.b.dm) }))
        .await;
    let b_role = body["data"]["node"]["roles"][0]["id"].as_str().unwrap().to_owned();
    let b_ids = [
        gid(Kind::Account, w.b.account),
        gid(Kind::Location, w.b.loc1),
        gid(Kind::AccessNumber, w.b.access_number),
        gid(Kind::User, w.b.dm),
        gid(Kind::User, w.b.user1),
        b_role,
    ];
    let of_b = |k: Kind| match k {
        Kind::Account => gid(k, w.b.account),
        Kind::User => gid(k, w.b.dm),
        _ => gid(k, w.b.loc1),
    };
    let before = snapshot(&app).await;
    for who in [w.a.dm, w.a.pm, w.a.pm_loc1, w.a.user1] {
        let t = app.token(who);
        // T1 on queries: null, as for an id that never existed.
        for id in &b_ids {
            let body = app.gql(&t, NODE, json!({ "id": id })).await;
            assert_eq!(body, json!({ "data": { "node": null } }), "{who} node {id}");
        }
        let body = app.gql(&t, NODES, json!({ "ids": b_ids })).await;
        assert_eq!(
            body,
            json!({ "data": { "nodes": [null, null, null, null, null, null] } }),
            "{who}"
        );
        let body = app.gql(&t, ACCOUNT, json!({ "a": b_ids[0] })).await;
        assert_eq!(body, json!({ "data": { "account": null } }), "{who}");

        // T1 on mutations: exactly the payload a random, never-existing id of the same kind gets.
        let unknown = naming(&w, |k| gid(k, Uuid::new_v4()));
        for (i, (b, u)) in naming(&w, of_b).into_iter().zip(unknown).enumerate() {
            let name = b[0].as_str().unwrap();
            let p_b = mutate(&app, &t, name, b[1].clone()).await;
            let p_unknown = mutate(&app, &t, name, u[1].clone()).await;
            assert_eq!(
                p_b, p_unknown,
                "{name} #{i} by {who}: another tenant's id must look unknown"
            );
            if b[2] == true || who == w.a.dm {
                assert_eq!(codes_of(&p_b), ["NOT_FOUND"], "{name} #{i} by {who}: {p_b}");
            } else {
                assert!(!codes_of(&p_b).is_empty(), "{name} #{i} by {who} must be refused");
            }
        }
    }
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}

async fn malformed_ids_are_unknown(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let before = snapshot(&app).await;
    // Ids that are not ours, and real keys of tenant A under another type name.
    let malformed = [
        "garbage".to_owned(),
        String::new(),
        "QWNjb3VudDpub3QtYS11dWlk".to_owned(), // "Account:not-a-uuid"
        gid(Kind::Location, w.a.account),
        gid(Kind::Account, w.a.user1),
        gid(Kind::User, w.a.loc1),
    ];
    for t in [app.support(), app.token(w.a.dm)] {
        for id in &malformed {
            let body = app.gql(&t, NODE, json!({ "id": id })).await;
            assert_eq!(body, json!({ "data": { "node": null } }), "node {id:?}");
            let body = app.gql(&t, ACCOUNT, json!({ "a": id })).await;
            assert_eq!(body, json!({ "data": { "account": null } }), "account {id:?}");
            for (i, case) in naming(&w, |_| id.clone()).into_iter().enumerate() {
                let name = case[0].as_str().unwrap();
                let p = mutate(&app, &t, name, case[1].clone()).await;
                assert_eq!(codes_of(&p), ["NOT_FOUND"], "{name} #{i} with {id:?}: {p}");
            }
        }
        let body = app.gql(&t, NODES, json!({ "ids": malformed })).await;
        assert_eq!(body["data"]["nodes"], json!([null, null, null, null, null, null]));
    }
    assert_eq!(snapshot(&app).await, before, "nothing changed");
}

/// One page of `Account.users`, as Support.
const PAGE: &str = "query($a: ID!, $first: Int, $after: String, $last: Int, $before: String, $q: String) {
  account(id: $a) { users(first: $first, after: $after, last: $last, before: $before, search: $q) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name } } } } }";

pub async fn users_page(app: &TestApp, account: &str, vars: Value) -> Value {
    let vars = with(&vars, &json!({ "a": account }));
    let body = app.gql(&app.support(), PAGE, vars).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["account"]["users"].clone()
}

pub fn names(conn: &Value) -> Vec<String> {
    let edges = conn["edges"].as_array().unwrap();
    let name = |e: &Value| e["node"]["name"].as_str().unwrap().to_owned();
    edges.iter().map(name).collect()
}

/// A page as `{names, prev, next}`.
fn summary(conn: &Value) -> Value {
    let info = &conn["pageInfo"];
    json!({ "names": names(conn), "prev": info["hasPreviousPage"], "next": info["hasNextPage"] })
}

async fn users_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let acct = new_account(&app, json!({ "name": "Search Co", "platform": "MX_ONE" })).await;
    let batch = json!([
        { "name": "Anna Berg", "email": "anna@corp.example", "phoneNumber": "+15550100", "extension": "101",
          "phoneProfile": "BASIC" },
        row("100% Sales", "102"),
        row("Back\\Slash", "105"),
        { "name": "Carl", "email": "c_x@corp.example", "extension": "103", "phoneProfile": "BASIC" },
        { "name": "Dora", "email": "cax@corp.example", "extension": "104", "phoneProfile": "BASIC" },
        { "name": "Eric", "phoneNumber": "+4930123", "extension": "4242", "phoneProfile": "BASIC" },
    ]);
    let (s, import) = (app.support(), json!({ "accountId": acct, "users": batch }));
    let p = mutate(&app, &s, "usersImport", import).await;
    assert_eq!(errs(&p), []);
    let cases: [(&str, &[&str]); 11] = [
        ("ANNA", &["Anna Berg"]),
        ("bErG", &["Anna Berg"]),
        ("CORP.Example", &["Anna Berg", "Carl", "Dora"]),
        ("4930", &["Eric"]),
        ("4242", &["Eric"]),
        // Wildcards match literally.
        ("%", &["100% Sales"]),
        ("_", &["Carl"]),
        ("c_x", &["Carl"]),
        ("\\", &["Back\\Slash"]),
        ("", &["100% Sales", "Anna Berg", "Back\\Slash", "Carl", "Dora", "Eric"]),
        ("zzz", &[]),
    ];
    for (q, want) in cases {
        let conn = users_page(&app, &acct, json!({ "q": q })).await;
        assert_eq!(names(&conn), want, "search {q:?}");
        assert_eq!(conn["totalCount"], want.len(), "search {q:?}");
    }
}

async fn users_pagination(backend: Backend) {
    let app = spawn_app(backend).await;
    let acct = new_account(&app, json!({ "name": "Paging Co", "platform": "MX_ONE" })).await;
    let names_in = ["Eve", "ben", "Ann", "Ben", "Dan", "Cat", "Gus"];
    let input: Vec<Value> = names_in
        .iter()
        .zip(201..)
        .map(|(n, x)| row(n, &x.to_string()))
        .collect();
    let (s, import) = (app.support(), json!({ "accountId": acct, "users": input }));
    let p = mutate(&app, &s, "usersImport", import).await;
    // By name ignoring case, then by id.
    let key = |u: &Value| {
        let (name, id) = (u["name"].as_str().unwrap(), u["id"].as_str().unwrap());
        (name.to_lowercase(), ids::decode(id).unwrap().1, name.to_owned())
    };
    let mut expected: Vec<(String, Uuid, String)> = p["users"].as_array().unwrap().iter().map(key).collect();
    expected.sort();
    let want: Vec<String> = expected.into_iter().map(|(_, _, n)| n).collect();
    let page =
        |r: std::ops::Range<usize>, prev: bool, next: bool| json!({ "names": &want[r], "prev": prev, "next": next });

    let p1 = users_page(&app, &acct, json!({ "first": 3 })).await;
    assert_eq!((summary(&p1), &p1["totalCount"]), (page(0..3, false, true), &json!(7)));
    assert_eq!(p1["pageInfo"]["startCursor"], p1["edges"][0]["cursor"]);
    assert_eq!(p1["pageInfo"]["endCursor"], p1["edges"][2]["cursor"]);
    let after = p1["pageInfo"]["endCursor"].clone();
    let p2 = users_page(&app, &acct, json!({ "first": 3, "after": after })).await;
    assert_eq!(summary(&p2), page(3..6, true, true));
    let p3 = users_page(&app, &acct, json!({ "first": 3, "after": p2["pageInfo"]["endCursor"] })).await;
    assert_eq!(summary(&p3), page(6..7, true, false));

    // Backward: the last three, then the three before them, then the rest.
    let b1 = users_page(&app, &acct, json!({ "last": 3 })).await;
    assert_eq!((summary(&b1), &b1["totalCount"]), (page(4..7, true, false), &json!(7)));
    let before = json!({ "last": 3, "before": b1["pageInfo"]["startCursor"] });
    let b2 = users_page(&app, &acct, before).await;
    assert_eq!(summary(&b2), page(1..4, true, true));
    let before = json!({ "last": 3, "before": b2["pageInfo"]["startCursor"] });
    let b3 = users_page(&app, &acct, before).await;
    assert_eq!(summary(&b3), page(0..1, false, true));

    // A user added before the cursor does not shift the next page.
    let aaron = json!({ "accountId": acct, "name": "Aaron", "extension": "299", "phoneProfile": "BASIC" });
    assert_eq!(errs(&mutate(&app, &s, "userCreate", aaron).await), []);
    let again = users_page(&app, &acct, json!({ "first": 3, "after": after })).await;
    assert_eq!(summary(&again), page(3..6, true, true));
    assert_eq!(again["totalCount"], 8);
    // A cursor that is not one of ours is a bad request, not an empty page.
    let body = app.gql(&s, PAGE, json!({ "a": acct, "after": "garbage" })).await;
    assert_eq!(top_codes(&body), ["BAD_REQUEST"], "{body}");
}

backend_tests!(
    directory_role_table,
    directory_reads_by_role,
    other_tenants_ids_are_unknown,
    malformed_ids_are_unknown,
    users_search,
    users_pagination,
);
