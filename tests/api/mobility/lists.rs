//! Connect for Mobile's lists (SPEC M11): the mobility users' list searched, filtered and paged.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
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
            location_id: Some(api::service::GivenId::Key(if i % 2 == 0 { w.a.loc1 } else { w.a.loc2 })),
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

backend_tests!(m11_the_list_searches_filters_and_pages);
