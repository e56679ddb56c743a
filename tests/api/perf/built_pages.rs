//! Issue 17: a listing the database builds whole (`api::graphql::built`) answers exactly as the
//! same listing resolved field by field, for every caller, page and selection it takes; and it
//! is one statement.

#![allow(clippy::unwrap_used)]

use api::{
    graphql::ids::Kind,
    policy::Principal,
    service::{
        directory::{self, UserFields},
        pagination::Cursor,
    },
};
use entity::{PhoneProfile, Platform};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

/// A listing: its query with a selection on its connection, and where the connection is in the
/// answer (a JSON pointer).
#[derive(Clone, Copy)]
struct Listing {
    query: fn(&str) -> String,
    at: &'static str,
}

/// `mobility.users`, with every argument a variable.
const MOBILITY: Listing = Listing {
    query: |selection| {
        format!(
            "query($a: ID!, $first: Int, $last: Int, $after: String, $before: String, $search: String,
                $filter: MobilityUserFilter) {{ account(id: $a) {{ mobility {{
                users(first: $first, last: $last, after: $after, before: $before, search: $search, filter: $filter) {{
                {selection} }} }} }} }}"
        )
    },
    at: "/data/account/mobility/users",
};

/// `Account.users`.
const ACCOUNT_USERS: Listing = Listing {
    query: |selection| {
        format!(
            "query($a: ID!, $first: Int, $last: Int, $after: String, $before: String, $search: String) {{
                account(id: $a) {{ users(first: $first, last: $last, after: $after, before: $before, search: $search) {{
                {selection} }} }} }}"
        )
    },
    at: "/data/account/users",
};

/// `mobility.eligibleUsers`.
const ELIGIBLE: Listing = Listing {
    query: |selection| {
        format!(
            "query($a: ID!, $first: Int, $last: Int, $after: String, $before: String, $search: String) {{
                account(id: $a) {{ mobility {{ eligibleUsers(first: $first, last: $last, after: $after, before: $before,
                search: $search) {{ {selection} }} }} }} }}"
        )
    },
    at: "/data/account/mobility/eligibleUsers",
};

/// `accounts` (no account variable: it is ignored when given).
const ACCOUNTS: Listing = Listing {
    query: |selection| {
        format!(
            "query($first: Int, $last: Int, $after: String, $before: String, $search: String) {{
                accounts(first: $first, last: $last, after: $after, before: $before, search: $search) {{
                {selection} }} }}"
        )
    },
    at: "/data/accounts",
};

/// The same selection, made to resolve field by field: edges are never built.
const RESOLVED: &str = " resolvedBy_: edges { cursor }";

/// 45 users in tenant A, the first 30 enabled: names that tie and differ in case, every third
/// phone number and every other email missing, some profiles not eligible; and ten more
/// accounts, names tied, some with a fixed extension length.
async fn seed(app: &TestApp, w: &World) {
    let support = Principal::Support { name: "t".into() };
    for i in 0..10 {
        directory::create_account(
            &app.state.db,
            &support,
            directory::NewAccount {
                name: if i < 3 {
                    "Bench Corp".into()
                } else {
                    format!("Corp {i}")
                },
                platform: if i % 2 == 0 {
                    Platform::MxOne
                } else {
                    Platform::MicloudConnect
                },
                destination_codes: None,
                extension_length: (i % 3 == 0).then_some(4),
            },
        )
        .await
        .unwrap();
    }
    let rows = (0..45)
        .map(|i| UserFields {
            location_id: Some(api::service::GivenId::Key(if i % 2 == 0 { w.a.loc1 } else { w.a.loc2 })),
            name: match i % 4 {
                0 => "Ann Lee".into(),
                1 => format!("ann lee {i}"),
                2 => format!("Zed {i:02}"),
                _ => format!("Mobile {i:02}"),
            },
            email: (i % 2 == 0).then(|| format!("user{i}@example.com")),
            phone_number: (i % 3 != 0).then(|| format!("+1555010{i:04}")),
            extension: (5000 + i).to_string(),
            phone_profile: match i {
                30.. if i % 5 == 0 => PhoneProfile::Basic,
                30.. if i % 5 == 1 => PhoneProfile::Elite,
                _ => PhoneProfile::Premier,
            },
        })
        .collect();
    import_and_enable(app, &w.a, rows, 30).await;
}

/// The answer of `selection` with `variables`, built and resolved; asserts they are the same
/// and returns it.
async fn both_ways(
    app: &TestApp,
    listing: Listing,
    (caller, token): (&str, &str),
    selection: &str,
    variables: &Value,
) -> Value {
    let built = app.gql(token, &(listing.query)(selection), variables.clone()).await;
    let mut resolved = app
        .gql(
            token,
            &(listing.query)(&format!("{selection}{RESOLVED}")),
            variables.clone(),
        )
        .await;
    if let Some(connection) = resolved.pointer_mut(listing.at).and_then(Value::as_object_mut) {
        connection.remove("resolvedBy_");
    }
    assert_eq!(
        built, resolved,
        "{caller}: {selection} with {variables}: {built} / {resolved}"
    );
    built
}

/// The cursors of every item of `listing` for `token`, in order.
async fn cursors(app: &TestApp, listing: Listing, token: &str, variables: Value) -> Vec<Value> {
    let answer = app.gql(token, &(listing.query)("edges { cursor }"), variables).await;
    answer
        .pointer(&format!("{}/edges", listing.at))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|e| e["cursor"].clone())
        .collect()
}

/// Pages across a list of `cursors.len()` items: from its start, its end, around cursors, past
/// both ends, and searched with `search`.
fn pages(cursors: &[Value], search: &str) -> Vec<Value> {
    let n = cursors.len();
    assert!(n >= 8, "a list long enough to page: {n}");
    vec![
        json!({}),
        json!({"first": 7}),
        json!({"first": 0}),
        json!({"last": 7}),
        json!({"first": 5, "after": cursors[4]}),
        json!({"first": 5, "after": cursors[n - 3]}),
        json!({"first": 5, "after": cursors[n - 1]}),
        json!({"last": 5, "before": cursors[n / 2]}),
        json!({"last": 5, "before": cursors[2]}),
        json!({"last": 5, "before": cursors[0]}),
        json!({"first": 5, "search": search.to_uppercase()}),
        json!({"first": 5, "search": search, "after": cursors[3]}),
        json!({"search": "nobody at all"}),
    ]
}

/// `page` in the same form with other values: its cursors at a row that is not there, its
/// search and each filter's text others of their own.
fn elsewhere(page: &Value) -> Value {
    let mut page = page.clone();
    let Some(fields) = page.as_object_mut() else {
        return page;
    };
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "after" | "before" => {
                *value = json!(
                    Cursor {
                        key: format!("elsewhere {name}"),
                        id: uuid::Uuid::now_v7()
                    }
                    .encode()
                )
            }
            "search" => *value = json!("elsewhere"),
            "filter" => {
                for (column, text) in value.as_object_mut().into_iter().flatten() {
                    *text = json!(format!("{column} elsewhere"));
                }
            }
            _ => {}
        }
    }
    page
}

async fn built_pages_answer_as_resolved_ones(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    seed(&app, &w).await;
    let a = gid(Kind::Account, w.a.account);
    let support = app.support();
    let callers = [
        ("Support", support.clone()),
        ("Decision Maker", app.token(w.a.dm)),
        ("location Phone Manager", app.token(w.a.pm_loc1)),
        ("plain user", app.token(w.a.user1)),
        ("other tenant's Decision Maker", app.token(w.b.dm)),
    ];
    let user_fields = "totalCount nodes { id name email phoneNumber extension phoneProfile }";
    let listings = [
        (
            MOBILITY,
            vec![
                "totalCount nodes { id name phoneNumber extension mobilityExtension }",
                "__typename nodes { __typename n: name x: mobilityExtension phoneNumber } \
                 pageInfo { hasNextPage hasPreviousPage __typename }",
                "totalCount",
                "pageInfo { hasPreviousPage hasNextPage }",
                "count: totalCount nodes { mobilityExtension id } info: pageInfo { hasNextPage }",
                "nodes { name @include(if: true) extension @skip(if: true) }",
            ],
            "ann",
            vec![
                json!({"first": 50, "search": "4012"}),
                json!({"first": 3, "filter": {"name": "lee"}}),
                json!({"first": 3, "filter": {"mobilityExtension": "401", "phoneNumber": "555"}}),
                json!({"first": 3, "filter": {"extension": "50"}, "search": "zed"}),
            ],
        ),
        (
            ACCOUNT_USERS,
            vec![
                user_fields,
                "nodes { __typename e: email } pageInfo { hasNextPage }",
                "totalCount",
            ],
            "lee",
            vec![json!({"first": 50, "search": "555"})],
        ),
        (
            ELIGIBLE,
            vec![user_fields, "totalCount nodes { name }"],
            "mobile",
            vec![],
        ),
        (
            ACCOUNTS,
            vec![
                "totalCount nodes { id name platform extensionLength __typename }",
                "nodes { name } pageInfo { hasPreviousPage }",
            ],
            "corp",
            vec![],
        ),
    ];
    // Tenant B's callers first, each page in the same form as A's below but with values of
    // its own (account, locations, cursors, search and filter texts): the statements kept for
    // those forms (`built::kept`) are then confirmed by A's first pages and bound to A's values
    // for the rest, where debug builds check each against a fresh build.
    let b = gid(Kind::Account, w.b.account);
    let b_callers = [
        ("B's Support", support.clone()),
        ("B's Decision Maker", app.token(w.b.dm)),
        ("B's location Phone Manager", app.token(w.b.pm_loc1)),
        ("B's plain user", app.token(w.b.user1)),
        ("A's Decision Maker", app.token(w.a.dm)),
    ];
    let mut shown = 0;
    for (listing, selections, search, extra) in &listings {
        let cursors = cursors(&app, *listing, &support, json!({"a": a, "first": 100})).await;
        let mut pages = pages(&cursors, search);
        pages.extend(extra.iter().cloned());
        for (caller, token) in &b_callers {
            for selection in selections {
                for page in &pages {
                    let mut variables = elsewhere(page);
                    variables["a"] = json!(b);
                    both_ways(&app, *listing, (caller, token), selection, &variables).await;
                }
            }
        }
    }
    for (listing, selections, search, extra) in listings {
        let cursors = cursors(&app, listing, &support, json!({"a": a, "first": 100})).await;
        let mut pages = pages(&cursors, search);
        pages.extend(extra);
        for (caller, token) in &callers {
            for selection in &selections {
                for page in &pages {
                    let mut variables = page.clone();
                    variables["a"] = json!(a);
                    let answer = both_ways(&app, listing, (caller, token), selection, &variables).await;
                    shown += answer
                        .pointer(&format!("{}/nodes", listing.at))
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                }
            }
        }
    }
    assert!(shown > 1000, "the pages show items: {shown}");

    // Support's full list, built: every enabled user once, in the list's order, ids that
    // resolve as `node`.
    let all = both_ways(
        &app,
        MOBILITY,
        ("Support", &support),
        "totalCount nodes { id name }",
        &json!({"a": a, "first": 100}),
    )
    .await;
    let nodes = all["data"]["account"]["mobility"]["users"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 30);
    assert_eq!(all["data"]["account"]["mobility"]["users"]["totalCount"], 30);
    let node = app
        .gql(
            &app.support(),
            "query($id: ID!) { node(id: $id) { ... on MobilityUser { name } } }",
            json!({"id": nodes[7]["id"]}),
        )
        .await;
    assert_eq!(node["data"]["node"]["name"], nodes[7]["name"], "{node}");

    // Each listing is built: one statement for its page, even an empty page past its end,
    // where the resolved listing counts with a statement of its own. (`accounts` reads no
    // account first.)
    for (listing, before_page) in [(MOBILITY, 1), (ACCOUNT_USERS, 1), (ELIGIBLE, 1), (ACCOUNTS, 0)] {
        let cursors = cursors(&app, listing, &support, json!({"a": a, "first": 100})).await;
        let past_end = json!({"a": a, "first": 5, "after": cursors.last().unwrap()});
        let total = cursors.len();
        for (selection, statements) in [
            ("totalCount nodes { name }".to_owned(), before_page + 1),
            (format!("totalCount nodes {{ name }}{RESOLVED}"), before_page + 2),
        ] {
            let (n, body) = app
                .counted(&support, &(listing.query)(&selection), past_end.clone())
                .await;
            let connection = body.pointer(listing.at).unwrap_or_else(|| panic!("{body}"));
            assert_eq!(connection["totalCount"], total, "{selection}: {body}");
            assert_eq!(connection["nodes"], json!([]), "{selection}: {body}");
            assert_eq!(n, statements, "{selection}: {body}");
        }
    }
}

backend_tests!(built_pages_answer_as_resolved_ones);
