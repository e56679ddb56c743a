//! Read performance by design: batched loading keeps the number of SQL statements of a page
//! independent of its size (no N+1).

#![allow(clippy::unwrap_used)]

use api::{
    graphql::ids::Kind,
    policy::Principal,
    service::{
        directory::{self, UserFields},
        remote,
    },
};
use entity::PhoneProfile;
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;

/// SQL statements run by `query` for a page of `first` items, found at `path` in the answer.
/// Settings for counting a request's statements: a high complexity limit, and no plugins or
/// subscriptions (their background statements would run through the same counted pool).
fn counting(s: &mut api::config::Settings) {
    s.limits.max_complexity = 100_000;
    quiet(s);
}

async fn statements_for_page(
    app: &TestApp,
    token: &str,
    query: &str,
    account: &str,
    first: usize,
    path: &[&str],
) -> u64 {
    warm(app, token).await;
    let (n, body) = app.counted(token, query, json!({"a": account, "n": first})).await;
    let nodes = path.iter().fold(&body["data"], |v, key| &v[*key]);
    assert_eq!(nodes.as_array().unwrap().len(), first, "{body}");
    n
}

const USERS_PAGE: &str = "query($a: ID!, $n: Int) { account(id: $a) { users(first: $n) { totalCount nodes {
    name account { name } location { name account { name } } roles { role location { name } user { name } }
} } } }";

async fn page_statements_do_not_grow_with_page_size(backend: Backend) {
    // A page of 100 with this many fields is over the default complexity limit; raise it.
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let support = Principal::Support { name: "t".into() };
    let rows = (0..100)
        .map(|i| UserFields {
            location_id: Some(api::service::GivenId::Key(if i % 2 == 0 { w.a.loc1 } else { w.a.loc2 })),
            name: format!("Bulk {i:03}"),
            email: None,
            phone_number: None,
            extension: (5000 + i).to_string(),
            phone_profile: PhoneProfile::Premier,
        })
        .collect();
    directory::import_users(
        &app.state.db,
        &support,
        &app.state.settings.remote_extension,
        Some(w.a.account),
        rows,
    )
    .await
    .unwrap();
    let account = gid(Kind::Account, w.a.account);
    let token = app.token(w.a.dm);
    let path = ["account", "users", "nodes"];
    let one = statements_for_page(&app, &token, USERS_PAGE, &account, 1, &path).await;
    let many = statements_for_page(&app, &token, USERS_PAGE, &account, 100, &path).await;
    assert_eq!(one, many, "a page of 100 runs as many statements as a page of 1");
    assert!(one <= 10, "a handful of statements per request, not one per row: {one}");
}

backend_tests!(page_statements_do_not_grow_with_page_size);

const MOBILITY_PAGE: &str = "query($a: ID!, $n: Int) { account(id: $a) { mobility {
    state settings { version accessNumber { number } }
    users(first: $n, search: \"4\") { totalCount nodes {
        id name phoneNumber extension mobilityExtension eligible enabledAt enabledBy { kind name }
        user { location { name } roles { role } mobility { mobilityExtension } }
} } } } }";

/// `users` users "Mobile 000"… of account A (extensions from 5000, over its two locations), the
/// first `enabled` of them enabled for mobility (mobility extensions from 4000).
async fn mobile_users(app: &TestApp, w: &World, users: usize, enabled: usize) {
    let rows = (0..users)
        .map(|i| UserFields {
            location_id: Some(api::service::GivenId::Key(if i % 2 == 0 { w.a.loc1 } else { w.a.loc2 })),
            name: format!("Mobile {i:03}"),
            email: None,
            phone_number: None,
            extension: (5000 + i).to_string(),
            phone_profile: PhoneProfile::Premier,
        })
        .collect();
    import_and_enable(app, &w.a, rows, enabled).await;
}

async fn mobility_page_statements_do_not_grow_with_page_size(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    mobile_users(&app, &w, 100, 100).await;
    let account = gid(Kind::Account, w.a.account);
    let token = app.token(w.a.dm);
    let path = ["account", "mobility", "users", "nodes"];
    let one = statements_for_page(&app, &token, MOBILITY_PAGE, &account, 1, &path).await;
    let many = statements_for_page(&app, &token, MOBILITY_PAGE, &account, 100, &path).await;
    assert_eq!(
        one, many,
        "a page of 100 enabled users runs as many statements as a page of 1"
    );
    assert!(one <= 12, "a handful of statements per request, not one per row: {one}");
}

backend_tests!(mobility_page_statements_do_not_grow_with_page_size);

const REMOTE_PAGE: &str =
    "query($a: ID!, $n: Int) { account(id: $a) { clientProfiles { name } users(first: $n) { nodes {
    name canAddRemoteExtension canAddStatus clientProfile { name callThroughAllowed }
    numbers(first: 5) { totalCount nodes { number origin locked lockReasons deletable callThroughEffective
        callThroughInactiveReason createdBy { name } } }
    activeStatus { name remoteExtension { number } callUsing { kind number { number } } }
    activeRemoteExtension { number }
    dynamicStatuses { name isActive editable sendCallsTo { kind number { label } } }
} } } }";

async fn remote_extension_page_statements_do_not_grow_with_page_size(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let support = Principal::Support { name: "t".into() };
    let rows = (0..100)
        .map(|i| UserFields {
            location_id: Some(api::service::GivenId::Key(if i % 2 == 0 { w.b.loc1 } else { w.b.loc2 })),
            name: format!("Remote {i:03}"),
            email: None,
            phone_number: None,
            extension: (6000 + i).to_string(),
            phone_profile: PhoneProfile::Premier,
        })
        .collect();
    let cfg = &app.state.settings.remote_extension;
    let users = directory::import_users(&app.state.db, &support, cfg, Some(w.b.account), rows)
        .await
        .unwrap();
    // Every user: an admin remote extension, and a status around it, active.
    for (i, u) in users.iter().enumerate() {
        let input = remote::NumberInput {
            label: None,
            number: format!("07000{i:05}"),
            is_remote_extension: true,
            call_through: true,
            origin: Some(entity::NumberOrigin::Admin),
            ringing: Default::default(),
        };
        let n = remote::create_number(
            &app.state.db,
            &support,
            cfg,
            Some(api::service::GivenId::Key(u.id)),
            input,
        )
        .await
        .unwrap();
        let status = remote::StatusInput {
            name: "Road".into(),
            presence: entity::Presence::Away,
            message: None,
            remote_extension_id: Some(api::service::GivenId::Key(n.id)),
            targets: [None; 4],
            origin: None,
        };
        let s = remote::create_status(
            &app.state.db,
            &support,
            cfg,
            Some(api::service::GivenId::Key(u.id)),
            status,
        )
        .await
        .unwrap();
        remote::activate_status(&app.state.db, &support, cfg, Some(s.id))
            .await
            .unwrap();
    }
    let account = gid(Kind::Account, w.b.account);
    let token = app.token(w.b.dm);
    let path = ["account", "users", "nodes"];
    let one = statements_for_page(&app, &token, REMOTE_PAGE, &account, 1, &path).await;
    let many = statements_for_page(&app, &token, REMOTE_PAGE, &account, 100, &path).await;
    assert_eq!(
        one, many,
        "a page of 100 users with numbers and statuses runs as many statements as a page of 1"
    );
    assert!(one <= 14, "a handful of statements per request, not one per row: {one}");
}

backend_tests!(remote_extension_page_statements_do_not_grow_with_page_size);

/// Makes sure the caller of `token` is kept (its first request reads who they are; the next ones
/// do not, until a change), so that what follows counts only the request's own statements.
async fn warm(app: &TestApp, token: &str) {
    let body = app.gql(token, "{ __typename }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

/// SQL statements of one request by a caller already kept.
async fn statements_of(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> (u64, serde_json::Value) {
    warm(app, token).await;
    let (n, body) = app.counted(token, query, variables).await;
    assert!(body.get("errors").is_none(), "{body}");
    (n, body)
}

/// Issue 17: each listing compiles into a fixed, small number of statements: the page (with what
/// its items show and, when `totalCount` is asked for, the count in the same statement) and the
/// account once. Who a user's token stands for (with their own user and account) is read at
/// their first request and kept until a change (`caller_is_read_once_until_a_change`).
async fn listings_run_a_fixed_small_number_of_statements(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    mobile_users(&app, &w, 30, 20).await;
    let a = gid(Kind::Account, w.a.account);
    let (s, dm, other) = (app.support(), app.token(w.a.dm), app.token(w.b.dm));

    let mobility = "query($a: ID!, $s: String, $f: MobilityUserFilter) { account(id: $a) { mobility {
        users(first: 50, search: $s, filter: $f) { totalCount nodes { name phoneNumber extension mobilityExtension } } } } }";
    let bare = "query($a: ID!) { account(id: $a) { mobility {
        users(first: 50) { nodes { name phoneNumber extension mobilityExtension } } } } }";
    let mut cases: Vec<(&str, &str, &str, serde_json::Value, u64)> = vec![
        // the account, then the page with its mobility records and the count
        ("mobility users", &s, mobility, json!({"a": a}), 2),
        // a search counts its matches in the page's statement (from the list's start)
        ("common search", &s, mobility, json!({"a": a, "s": "mobile"}), 2),
        ("rare search", &s, mobility, json!({"a": a, "s": "4019"}), 2),
        (
            "search, no match",
            &s,
            mobility,
            json!({"a": a, "s": "nobody-at-all"}),
            2,
        ),
        (
            "filter",
            &s,
            mobility,
            json!({"a": a, "f": {"mobilityExtension": "401"}}),
            2,
        ),
        ("no totalCount", &s, bare, json!({"a": a}), 2),
        // a user's own account comes with who they are: only the page
        ("as a Decision Maker", &dm, mobility, json!({"a": a}), 1),
        // another tenant's account is not theirs to see (null), which who they are tells
        ("another tenant's", &other, mobility, json!({"a": a}), 0),
        (
            "eligible users",
            &s,
            "query($a: ID!) { account(id: $a) { mobility { eligibleUsers(first: 50) { totalCount nodes { name extension } } } } }",
            json!({"a": a}),
            2,
        ),
        (
            "account users",
            &s,
            "query($a: ID!) { account(id: $a) { users(first: 50) { totalCount nodes { name extension } } } }",
            json!({"a": a}),
            2,
        ),
        (
            "accounts",
            &s,
            "{ accounts(first: 50) { totalCount nodes { name } } }",
            json!({}),
            1,
        ),
    ];
    // A user's own screen on MX-ONE: only what the selection reads (their user and account
    // records come with who they are).
    let own = app.token(w.b.user1);
    let screens: Vec<(&str, &str, u64)> = vec![
        (
            "own numbers",
            "{ me { numbers(first: 50) { totalCount nodes { label number } } } }",
            1,
        ),
        // the list of statuses alone
        (
            "own statuses",
            "{ me { dynamicStatuses { name presence message } } }",
            1,
        ),
        // which one is active: the statuses, the user's record, then its client profile
        (
            "own statuses, which active",
            "{ me { dynamicStatuses { name isActive } } }",
            3,
        ),
        ("both", "{ me { numbers { totalCount } activeStatus { name } } }", 4),
    ];
    for (name, query, expected) in screens {
        cases.push((name, &own, query, json!({}), expected));
    }
    for (name, token, query, variables, expected) in cases {
        let (n, body) = statements_of(&app, token, query, variables).await;
        assert_eq!(n, expected, "{name}: {body}");
        assert!(body.get("errors").is_none(), "{name}: {body}");
    }
    let (_, body) = statements_of(&app, &s, mobility, json!({"a": a, "s": "4019"})).await;
    let users = &body["data"]["account"]["mobility"]["users"];
    assert_eq!(users["totalCount"], 1, "{body}");
    assert_eq!(users["nodes"][0]["mobilityExtension"], "4019", "{body}");
    let (_, body) = statements_of(&app, &s, mobility, json!({"a": a, "s": "nobody-at-all"})).await;
    assert_eq!(body["data"]["account"]["mobility"]["users"]["totalCount"], 0, "{body}");

    // Past a cursor the page no longer sees every match: the count is a sub-select of its
    // statement instead of the window, and both ways give the same total.
    let paged = "query($a: ID!, $s: String, $after: String) { account(id: $a) { mobility {
        users(first: 5, after: $after, search: $s) { totalCount nodes { name } pageInfo { endCursor } } } } }";
    let (n, first) = statements_of(&app, &s, paged, json!({"a": a, "s": "mobile"})).await;
    assert_eq!(n, 2, "{first}");
    let first = &first["data"]["account"]["mobility"]["users"];
    let total = first["totalCount"].as_u64().unwrap();
    assert_eq!(total, 20, "the enabled users: {first}");
    let after = first["pageInfo"]["endCursor"].clone();
    let (n, next) = statements_of(&app, &s, paged, json!({"a": a, "s": "mobile", "after": after})).await;
    assert_eq!(n, 2, "{next}");
    assert_eq!(
        next["data"]["account"]["mobility"]["users"]["totalCount"], total,
        "{next}"
    );
    // An empty page past the list's end carries no count: it is counted on its own.
    let mut after = after;
    let mut pages = 1;
    loop {
        let (n, page) = statements_of(&app, &s, paged, json!({"a": a, "s": "mobile", "after": after})).await;
        let users = &page["data"]["account"]["mobility"]["users"];
        assert_eq!(users["totalCount"], total, "{page}");
        if users["nodes"].as_array().unwrap().is_empty() {
            assert_eq!(n, 3, "the account, the empty page, the count: {page}");
            break;
        }
        assert_eq!(n, 2, "{page}");
        pages += 1;
        assert!(pages <= 5, "20 users in pages of 5: {page}");
        after = users["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 4, "{total} users in pages of 5");
    // The same for a generic listing (the account's users).
    let users = "query($a: ID!, $after: String) { account(id: $a) { users(first: 50, after: $after) {
        totalCount pageInfo { endCursor } } } }";
    let (n, body) = statements_of(&app, &s, users, json!({"a": a})).await;
    assert_eq!(n, 2, "{body}");
    let listed = &body["data"]["account"]["users"];
    let (n, past) = statements_of(
        &app,
        &s,
        users,
        json!({"a": a, "after": listed["pageInfo"]["endCursor"]}),
    )
    .await;
    assert_eq!(n, 3, "the account, the empty page, the count: {past}");
    assert_eq!(
        past["data"]["account"]["users"]["totalCount"], listed["totalCount"],
        "{past}"
    );
    // A location Phone Manager's list.
    let (n, body) = statements_of(&app, &app.token(w.a.pm_loc1), mobility, json!({"a": a})).await;
    assert_eq!(
        n, 1,
        "the page with its count (their account comes with who they are): {body}"
    );
    let mine = body["data"]["account"]["mobility"]["users"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        body["data"]["account"]["mobility"]["users"]["totalCount"], mine,
        "{body}"
    );
}

backend_tests!(listings_run_a_fixed_small_number_of_statements);

/// The bundled SQLite is built as `.cargo/config.toml` says (issue 17): a page cache per
/// connection, so concurrent readers do not queue on one mutex, and no global memory statistics.
#[tokio::test]
async fn sqlite_is_built_for_concurrent_readers() {
    let app = spawn_app_with(Backend::Sqlite, quiet).await;
    let rows = raw_rows(&app, "PRAGMA compile_options").await;
    let options: Vec<String> = rows.iter().map(|r| r.try_get_by_index(0).unwrap()).collect();
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
}

/// PostgreSQL sessions plan with `database_random_page_cost` (1.1 unless set), and `0` leaves
/// the server's own value: with the server's 4, a rare per-column filter of the enabled users'
/// list walked the whole account in name order (reads bench, issue 17). The filtered columns
/// keep finer statistics (migration `m20261206_000001_filter_statistics`).
#[tokio::test]
async fn postgres_sessions_use_the_configured_page_cost() {
    let Some(backend) = postgres() else { return };
    /// The session's `random_page_cost` and where it came from.
    async fn cost(app: &TestApp) -> (String, String) {
        let rows = raw_rows(
            app,
            "SELECT setting, source FROM pg_settings WHERE name = 'random_page_cost'",
        )
        .await;
        (
            rows[0].try_get("", "setting").unwrap(),
            rows[0].try_get("", "source").unwrap(),
        )
    }
    let app = spawn_app_with(backend.clone(), quiet).await;
    assert_eq!(cost(&app).await, ("1.1".into(), "session".into()));
    // The migration's finer statistics for the filtered columns.
    let targets = raw_rows(
        &app,
        "SELECT c.relname || '.' || a.attname AS col FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE a.attstattarget = 1000 ORDER BY 1",
    )
    .await;
    let targets: Vec<String> = targets.iter().map(|r| r.try_get("", "col").unwrap()).collect();
    assert_eq!(
        targets,
        [
            "app_user.extension",
            "app_user.phone_number",
            "app_user.sort_name",
            "mobility_user.mobility_extension"
        ]
    );
    let app = spawn_app_with(backend.clone(), |s| {
        quiet(s);
        s.database_random_page_cost = 2.5;
    })
    .await;
    assert_eq!(cost(&app).await, ("2.5".into(), "session".into()));
    let app = spawn_app_with(backend, |s| {
        quiet(s);
        s.database_random_page_cost = 0.0;
    })
    .await;
    let (_, source) = cost(&app).await;
    assert_ne!(source, "session", "0 leaves the server's value");
}

/// Mutation fields run one after another on an empty loader cache (`MutationRoot`): the second
/// of two activations in one document reads the user's record again, so it shows itself active
/// rather than what the first loaded.
async fn each_mutation_field_reads_afresh(backend: Backend) {
    let app = spawn_app_with(backend, counting).await;
    let w = World::build(&app).await;
    let user = w.b.user1;
    let cfg = &app.state.settings.remote_extension;
    let principal = Principal::Support { name: "t".into() };
    let mut ids = Vec::new();
    for name in ["Desk", "Road"] {
        let input = remote::StatusInput {
            name: name.into(),
            presence: entity::Presence::Available,
            message: None,
            remote_extension_id: None,
            targets: [None; 4],
            origin: None,
        };
        let s = remote::create_status(
            &app.state.db,
            &principal,
            cfg,
            Some(api::service::GivenId::Key(user)),
            input,
        )
        .await
        .unwrap();
        ids.push(gid(Kind::DynamicStatus, s.id));
    }
    let both = "mutation($a: ID!, $b: ID!) {
        first: dynamicStatusActivate(input: {id: $a}) { dynamicStatus { id isActive user { activeStatus { id } } } }
        second: dynamicStatusActivate(input: {id: $b}) { dynamicStatus { id isActive user { activeStatus { id } } } }
    }";
    let body = app.gql(&app.token(user), both, json!({"a": ids[0], "b": ids[1]})).await;
    assert!(body.get("errors").is_none(), "{body}");
    for (field, id) in [("first", &ids[0]), ("second", &ids[1])] {
        let status = &body["data"][field]["dynamicStatus"];
        assert_eq!(status["id"], json!(id), "{body}");
        assert_eq!(status["isActive"], true, "{field}: {body}");
        assert_eq!(status["user"]["activeStatus"]["id"], json!(id), "{field}: {body}");
    }
}

backend_tests!(each_mutation_field_reads_afresh);
