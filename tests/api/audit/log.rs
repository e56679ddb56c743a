//! `Account.auditLog` (issue 20): who reads what (the role table and T1), the entries' content,
//! the filters, the pages in both directions, and the `user_id` the migration gives old rows.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use api::{graphql::ids::Kind, policy::Principal, service::sync};
use chrono::{DateTime, Utc};
use entity::{outbox_event, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;

/// What the content test reads of each entry (within the complexity limit for 30 entries).
const ENTRY: &str = "eventId occurredAt kind subjectType subjectId
    actor { kind name user { id } } changes { field oldValue newValue } data
    subject { __typename ... on User { name } }";

/// What the other tests read of each entry.
const SLIM: &str = "eventId occurredAt kind subjectId data actor { user { id } }";

/// One page of the account's log as `token` reads it.
async fn log(app: &TestApp, token: &str, account: Uuid, args: Value) -> Value {
    log_with(app, token, account, args, SLIM).await
}

/// One page of the account's log as `token` reads it, each entry's `fields`.
async fn log_with(app: &TestApp, token: &str, account: Uuid, args: Value, fields: &str) -> Value {
    let query = format!(
        "query($a: ID!, $first: Int, $after: String, $last: Int, $before: String, $f: AuditLogFilter) {{
            node(id: $a) {{ ... on Account {{ auditLog(first: $first, after: $after, last: $last, before: $before, filter: $f) {{
                totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
                edges {{ cursor node {{ {fields} }} }} }} }} }} }}"
    );
    let mut vars = args;
    vars["a"] = json!(gid(Kind::Account, account));
    app.gql(token, &query, vars).await
}

fn connection(body: &Value) -> &Value {
    assert!(body["errors"].is_null(), "{body}");
    &body["data"]["node"]["auditLog"]
}

fn nodes(body: &Value) -> Vec<Value> {
    (connection(body)["edges"].as_array().unwrap().iter())
        .map(|e| e["node"].clone())
        .collect()
}

fn event_ids(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["eventId"].as_str().unwrap().to_owned())
        .collect()
}

/// The account's events as stored, newest first (by time, then position).
async fn stored(app: &TestApp, account: Uuid) -> Vec<outbox_event::Model> {
    let mut rows = outbox_event::Entity::find()
        .filter(outbox_event::Column::AccountId.eq(account))
        .all(&app.state.db)
        .await
        .unwrap();
    rows.sort_by_key(|r| std::cmp::Reverse((r.occurred_at, r.position)));
    rows
}

/// Changes by several actors on tenant A: the Decision Maker renames a user of each location,
/// Support's fixture activates Connect for Mobile, the location Phone Manager enables a user of
/// their location, Support adds a location and the platform sync (a system actor) records one.
async fn changes(app: &TestApp, w: &World) {
    let rename = "mutation($u: ID!, $n: String!) { userUpdate(input: {id: $u, name: $n}) { userErrors { code } } }";
    let t = &w.a;
    for (user, name) in [(t.user1, "Uma Renamed"), (t.user2, "Ulf Renamed")] {
        let body = app
            .gql(&app.token(t.dm), rename, json!({"u": gid(Kind::User, user), "n": name}))
            .await;
        assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
    }
    activate_mobility(app, t).await;
    let enable = "mutation($a: ID!, $u: ID!) { mobilityUsersEnable(input: {accountId: $a,
        users: [{userId: $u, mobilityExtension: \"4100\"}]}) { userErrors { code } } }";
    let body = app
        .gql(
            &app.token(t.pm_loc1),
            enable,
            json!({"a": gid(Kind::Account, t.account), "u": gid(Kind::User, t.user1)}),
        )
        .await;
    assert_eq!(codes(&body, "mobilityUsersEnable"), Vec::<String>::new(), "{body}");
    let location =
        "mutation($a: ID!) { locationCreate(input: {accountId: $a, name: \"East\"}) { userErrors { code } } }";
    let body = app
        .gql(&app.support(), location, json!({"a": gid(Kind::Account, t.account)}))
        .await;
    assert_eq!(codes(&body, "locationCreate"), Vec::<String>::new(), "{body}");
    let system = sync::sync_principal();
    assert!(matches!(&system, Principal::Support { name } if name == "platform-sync"));
    let event = api::service::outbox::Event::LocationCreated(entity::event::Named { name: "Synced".into() });
    api::service::outbox::record(&app.state.db, &system, event.about(t.account, Uuid::now_v7()))
        .await
        .unwrap();
}

/// `user2` (of location 2, which the location Phone Manager does not cover) is made a Decision
/// Maker and renames `user1` (of location 1).
async fn hidden_rename(app: &TestApp, t: &Tenant) {
    let support = Principal::Support { name: "fixture".into() };
    api::service::directory::assign_role(
        &app.state.db,
        &support,
        Some(t.user2),
        entity::Role::DecisionMaker,
        None,
    )
    .await
    .unwrap();
    let rename = "mutation($u: ID!) { userUpdate(input: {id: $u, name: \"Uma Hidden\"}) { userErrors { code } } }";
    let body = app
        .gql(&app.token(t.user2), rename, json!({"u": gid(Kind::User, t.user1)}))
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
}

async fn audit_log_by_role(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    let all = stored(&app, t.account).await;
    let everything: Vec<String> = all.iter().map(|r| r.id.to_string()).collect();
    let page = json!({"first": 50});
    // Support, the Decision Maker and the account-wide Phone Manager read every entry, newest first.
    for (label, token) in [
        ("Support", app.support()),
        ("DM", app.token(t.dm)),
        ("account PM", app.token(t.pm)),
    ] {
        let body = log(&app, &token, t.account, page.clone()).await;
        assert_eq!(event_ids(&nodes(&body)), everything, "{label}");
        assert_eq!(connection(&body)["totalCount"], json!(everything.len()), "{label}");
    }
    // The location Phone Manager: the entries about users of their location only — told here
    // from what Support reads: the entry's object is such a user (or their mobility record), or
    // its data names one.
    let north: BTreeSet<Uuid> = user::Entity::find()
        .filter(user::Column::LocationId.eq(t.loc1))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let about_north = |e: &Value| {
        let data: Value = serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
        north.iter().any(|u| {
            e["subjectId"] == json!(gid(Kind::User, *u))
                || e["subjectId"] == json!(gid(Kind::MobilityUser, *u))
                || data["userId"] == json!(u)
        })
    };
    let support_view = nodes(&log(&app, &app.support(), t.account, page.clone()).await);
    let theirs = event_ids(
        &support_view
            .iter()
            .filter(|e| about_north(e))
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert!(!theirs.is_empty() && theirs.len() < everything.len());
    let body = log(&app, &app.token(t.pm_loc1), t.account, page.clone()).await;
    assert_eq!(event_ids(&nodes(&body)), theirs);
    assert_eq!(connection(&body)["totalCount"], json!(theirs.len()));
    // Nothing about user2 (location 2), the new location or the account itself.
    let seen = body.to_string();
    assert!(!seen.contains("Ulf Renamed") && !seen.contains("East"), "{seen}");
    assert!(all.iter().any(|r| r.user_id.is_none()), "account-level entries exist");
    // A plain user reads nothing.
    let body = log(&app, &app.token(t.user1), t.account, page.clone()).await;
    assert!(connection(&body).is_null(), "{body}");
    // T1: another account's administrators get what an unknown id gets.
    let body = log(&app, &app.token(w.b.dm), t.account, page.clone()).await;
    assert!(body["data"]["node"].is_null() && body["errors"].is_null(), "{body}");
    // And Support reading B sees none of A's entries.
    let body = log(&app, &app.support(), w.b.account, page.clone()).await;
    let b: BTreeSet<String> = event_ids(&nodes(&body)).into_iter().collect();
    assert!(everything.iter().all(|id| !b.contains(id)));

    // A Decision Maker of location 2, whom the location Phone Manager does not see, renames a
    // user of location 1: the Phone Manager sees the change, not who made it, and filtering by
    // that person finds nothing; Support finds it.
    hidden_rename(&app, t).await;
    let named = json!({"first": 50, "f": {"actorId": gid(Kind::User, t.user2)}});
    let body = log_with(
        &app,
        &app.token(t.pm_loc1),
        t.account,
        json!({"first": 1}),
        "actor { kind name user { id } }",
    )
    .await;
    assert_eq!(
        nodes(&body)[0]["actor"],
        json!({"kind": "USER", "name": "an administrator", "user": null})
    );
    let body = log(&app, &app.token(t.pm_loc1), t.account, named.clone()).await;
    assert_eq!(nodes(&body).len(), 0);
    assert_eq!(connection(&body)["totalCount"], json!(0));
    let body = log(&app, &app.support(), t.account, named).await;
    assert_eq!(nodes(&body).len(), 1);
}

async fn audit_entries_say_who_what_and_which(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    let body = log_with(&app, &app.support(), t.account, json!({"first": 30}), ENTRY).await;
    let entries = nodes(&body);
    assert!(entries.len() < 30);
    // The newest: the platform sync's, shown as the system.
    assert_eq!(entries[0]["kind"], "LOCATION_CREATED");
    assert_eq!(
        entries[0]["actor"],
        json!({"kind": "SYSTEM", "name": "platform-sync", "user": null})
    );
    assert_eq!(
        entries[0]["changes"],
        json!([{"field": "name", "oldValue": null, "newValue": "Synced"}])
    );
    assert!(entries[0]["subject"].is_null(), "no such location exists");
    // Support's location: a Support actor, the location as the subject.
    assert_eq!(entries[1]["kind"], "LOCATION_CREATED");
    assert_eq!(entries[1]["actor"]["kind"], "SUPPORT");
    assert_eq!(entries[1]["actor"]["name"], "tester");
    assert_eq!(entries[1]["subject"]["__typename"], "Location");
    // The location Phone Manager's enable: the user's mobility record as the subject.
    let enable = &entries[2];
    assert_eq!(enable["kind"], "MOBILITY_USER_ENABLED");
    assert_eq!(enable["subjectType"], "MobilityUser");
    assert_eq!(enable["subjectId"], json!(gid(Kind::MobilityUser, t.user1)));
    assert_eq!(enable["subject"], json!({"__typename": "MobilityUser"}));
    assert_eq!(
        enable["actor"],
        json!({"kind": "USER", "name": "Lee LocalPM", "user": {"id": gid(Kind::User, t.pm_loc1)}})
    );
    assert_eq!(
        enable["changes"],
        json!([{"field": "mobilityExtension", "oldValue": null, "newValue": "4100"}])
    );
    // The Decision Maker's rename: old → new, the user as it is now.
    let rename = (entries.iter())
        .find(|e| e["kind"] == "USER_UPDATED" && e["subjectId"] == json!(gid(Kind::User, t.user1)))
        .unwrap();
    assert_eq!(rename["subject"], json!({"__typename": "User", "name": "Uma Renamed"}));
    assert_eq!(rename["actor"]["name"], "Dana DM");
    assert_eq!(
        rename["changes"],
        json!([{"field": "name", "oldValue": "Uma One", "newValue": "Uma Renamed"}])
    );
    let data: Value = serde_json::from_str(rename["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["changes"]["name"], json!({"old": "Uma One", "new": "Uma Renamed"}));
    // A role granted by the fixture: its subject is the role, its change names the role.
    let role = (entries.iter()).find(|e| e["kind"] == "ROLE_ASSIGNED").unwrap();
    assert_eq!(role["subjectType"], "RoleAssignment");
    assert!(
        role["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "role" && c["newValue"].is_string())
    );
}

async fn audit_secrets_never_show(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    let connect =
        "mutation($i: PlatformConnectionSetInput!) { platformConnectionSet(input: $i) { userErrors { code } } }";
    let token = "s3cret-platform-token-XYZ";
    let body = app
        .gql(
            &app.support(),
            connect,
            json!({"i": {"accountId": gid(Kind::Account, w.b.account), "baseUrl": "http://127.0.0.1:9",
                "token": token, "platformAccount": "beta"}}),
        )
        .await;
    assert_eq!(codes(&body, "platformConnectionSet"), Vec::<String>::new(), "{body}");
    let body = log(&app, &app.support(), w.b.account, json!({"first": 50})).await;
    let entries = nodes(&body);
    let set = entries.iter().find(|e| e["kind"] == "PLATFORM_CONNECTION_SET").unwrap();
    assert!(set["data"].as_str().unwrap().contains("http://127.0.0.1:9"), "{set}");
    assert!(!body.to_string().contains(token), "{body}");
}

async fn audit_filters(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    let support = app.support();
    let all = nodes(&log(&app, &support, t.account, json!({"first": 50})).await);
    let only = |f: &dyn Fn(&Value) -> bool| event_ids(&all.iter().filter(|e| f(e)).cloned().collect::<Vec<_>>());
    let filtered = |f: Value| {
        let app = &app;
        let support = support.clone();
        async move {
            let body = log(app, &support, t.account, json!({"first": 50, "f": f})).await;
            let ids = event_ids(&nodes(&body));
            assert_eq!(connection(&body)["totalCount"], json!(ids.len()));
            ids
        }
    };
    // By actor: the Decision Maker's two renames.
    let dm = filtered(json!({"actorId": gid(Kind::User, t.dm)})).await;
    assert_eq!(dm.len(), 2);
    assert_eq!(dm, only(&|e| e["actor"]["user"]["id"] == json!(gid(Kind::User, t.dm))));
    // By kinds.
    let kinds = filtered(json!({"kinds": ["ROLE_ASSIGNED", "LOCATION_CREATED"]})).await;
    assert_eq!(
        kinds,
        only(&|e| e["kind"] == "ROLE_ASSIGNED" || e["kind"] == "LOCATION_CREATED")
    );
    assert_eq!(kinds.len(), 3 + 4, "three roles; North, South, East and the synced one");
    assert_eq!(filtered(json!({"kinds": []})).await, only(&|_| true));
    // By subject: a user's id finds the user's entries and their roles'.
    let subject = filtered(json!({"subjectId": gid(Kind::User, t.pm_loc1)})).await;
    assert_eq!(
        subject,
        only(&|e| e["subjectId"] == json!(gid(Kind::User, t.pm_loc1))
            || (e["kind"] == "ROLE_ASSIGNED" && e["data"].as_str().unwrap().contains(&t.pm_loc1.to_string())))
    );
    assert_eq!(subject.len(), 2, "created, then made a Phone Manager");
    // Another object's id finds the entries about that object only: the user's Connect for
    // Mobile record (whose key is the user's) not the user's own, the account its add-on's too.
    let record = filtered(json!({"subjectId": gid(Kind::MobilityUser, t.user1)})).await;
    assert_eq!(
        record,
        only(&|e| e["subjectId"] == json!(gid(Kind::MobilityUser, t.user1)))
    );
    assert_eq!(record.len(), 1, "enabled");
    let account = filtered(json!({"subjectId": gid(Kind::Account, t.account)})).await;
    assert_eq!(
        account,
        only(&|e| e["subjectId"] == json!(gid(Kind::Account, t.account)))
    );
    assert!(account.len() >= 2, "the add-on requested and set up");
    let location = filtered(json!({"subjectId": gid(Kind::Location, t.loc1)})).await;
    assert_eq!(
        location,
        only(&|e| e["subjectId"] == json!(gid(Kind::Location, t.loc1)))
    );
    assert_eq!(location.len(), 1);
    // By time: `since` includes the instant, `until` excludes it.
    let at = |e: &Value| e["occurredAt"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let middle = all[all.len() / 2].clone();
    let since = filtered(json!({"since": middle["occurredAt"]})).await;
    assert_eq!(since, only(&|e| at(e) >= at(&middle)));
    let until = filtered(json!({"until": middle["occurredAt"]})).await;
    assert_eq!(until, only(&|e| at(e) < at(&middle)));
    assert!(since.contains(&middle["eventId"].as_str().unwrap().to_owned()));
    // Everything together narrows to the one entry that passes every filter.
    let one = filtered(
        json!({"actorId": gid(Kind::User, t.pm_loc1), "kinds": ["MOBILITY_USER_ENABLED"],
        "subjectId": gid(Kind::User, t.user1), "since": all.last().unwrap()["occurredAt"]}),
    )
    .await;
    assert_eq!(one.len(), 1);
    // Ids that are not ours are bad requests, and so is an ill-formed cursor.
    for (label, args) in [
        (
            "actor",
            json!({"first": 5, "f": {"actorId": gid(Kind::Location, t.loc1)}}),
        ),
        ("subject", json!({"first": 5, "f": {"subjectId": "not-an-id"}})),
        ("cursor", json!({"first": 5, "after": "%%%"})),
    ] {
        let body = log(&app, &support, t.account, args).await;
        assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "{label}: {body}");
    }
}

async fn audit_pages_both_ways(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    let support = app.support();
    let all = event_ids(&nodes(&log(&app, &support, t.account, json!({"first": 50})).await));
    assert!(all.len() > 10);
    // Forward, three at a time.
    let mut forward = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = log(&app, &support, t.account, json!({"first": 3, "after": after})).await;
        let c = connection(&body);
        forward.extend(event_ids(&nodes(&body)));
        assert_eq!(c["pageInfo"]["hasPreviousPage"], json!(!after.is_null()));
        if c["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(forward, all);
    // Backward from the end, four at a time.
    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let body = log(&app, &support, t.account, json!({"last": 4, "before": before})).await;
        let c = connection(&body);
        let mut page = event_ids(&nodes(&body));
        page.extend(backward);
        backward = page;
        if c["pageInfo"]["hasPreviousPage"] == json!(false) {
            break;
        }
        before = c["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(backward, all);
    // A cursor is only good in the list it came from: another account's, one outside the
    // caller's view, or one naming an entry since pruned is a bad request (and tells nothing
    // about that entry).
    let foreign = log(&app, &support, w.b.account, json!({"first": 1})).await;
    let foreign = connection(&foreign)["pageInfo"]["endCursor"].clone();
    for token in [support.clone(), app.token(t.dm)] {
        let body = log(&app, &token, t.account, json!({"first": 3, "after": foreign})).await;
        assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "{body}");
    }
    let newest = log(&app, &support, t.account, json!({"first": 1})).await;
    let newest = connection(&newest)["pageInfo"]["startCursor"].clone();
    let body = log(
        &app,
        &app.token(t.pm_loc1),
        t.account,
        json!({"first": 3, "after": newest}),
    )
    .await;
    assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "outside the view: {body}");
    let pruned = {
        let first = log(&app, &support, t.account, json!({"last": 1})).await;
        connection(&first)["pageInfo"]["endCursor"].clone()
    };
    let oldest = outbox_event::Entity::find()
        .filter(outbox_event::Column::AccountId.eq(t.account))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .min_by_key(|r| (r.occurred_at, r.position))
        .unwrap();
    outbox_event::Entity::delete_by_id(oldest.position)
        .exec(&app.state.db)
        .await
        .unwrap();
    let body = log(&app, &support, t.account, json!({"last": 3, "before": pruned})).await;
    assert_eq!(top_codes(&body), vec!["BAD_REQUEST"], "{body}");
    let all = all[..all.len() - 1].to_vec();
    // Between two cursors.
    let edges = log(&app, &support, t.account, json!({"first": 50})).await;
    let cursors: Vec<Value> = (connection(&edges)["edges"].as_array().unwrap().iter())
        .map(|e| e["cursor"].clone())
        .collect();
    let body = log(
        &app,
        &support,
        t.account,
        json!({"first": 50, "after": cursors[2], "before": cursors[7]}),
    )
    .await;
    assert_eq!(event_ids(&nodes(&body)), all[3..7].to_vec());
}

async fn audit_migration_gives_old_rows_their_user(backend: Backend) {
    use migration::MigratorTrait;
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let db = &app.state.db;
    let rows = || async {
        let mut rows: Vec<(Uuid, Option<Uuid>)> = (outbox_event::Entity::find().all(db).await.unwrap().into_iter())
            .map(|r| (r.id, r.user_id))
            .collect();
        rows.sort();
        rows
    };
    let written = rows().await;
    assert!(written.iter().filter(|(_, u)| u.is_some()).count() > 10);
    let pm = app.token(w.a.pm_loc1);
    let view = event_ids(&nodes(&log(&app, &pm, w.a.account, json!({"first": 30})).await));
    assert!(!view.is_empty());
    // Back to before the column (and the ones after it: webhooks, the events' locations), then
    // forward again: the migrations fill the users from the payloads and the locations from the
    // users, so the location Phone Manager reads what they read before.
    let applied = migration::Migrator::get_applied_migrations(db).await.unwrap();
    let since = applied
        .iter()
        .position(|m| m.name() == "m20261208_000001_audit")
        .unwrap();
    migration::Migrator::down(db, Some((applied.len() - since) as u32))
        .await
        .unwrap();
    migration::Migrator::up(db, None).await.unwrap();
    assert_eq!(rows().await, written);
    let again = event_ids(&nodes(&log(&app, &pm, w.a.account, json!({"first": 30})).await));
    assert_eq!(again, view);
}

/// The names Reach acts under itself are no Support token's: the command line refuses to mint
/// one, and a token carrying one (signed with the server's key) is not accepted.
async fn audit_system_names_are_no_tokens(backend: Backend) {
    use secrecy::ExposeSecret;
    let app = spawn_app_with(backend, quiet).await;
    for name in api::policy::SYSTEM_NAMES {
        let token = app.state.tokens.mint_support(name, 600).unwrap();
        let (status, body) = app.post(&token, "{ viewer { kind } }", json!({})).await;
        assert_eq!(status, 401, "{name}: {body}");
    }
    let (status, _) = app.post(&app.support(), "{ viewer { kind } }", json!({})).await;
    assert_eq!(status, 200);
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let out = crate::server::cli::reach(&crate::server::cli::temp_dir())
        .args(["token", "--support", "--name", "platform-sync"])
        .env("REACH_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("names Reach acts under itself"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a written page shows (`api::graphql::audit::written`): every field it writes, under
/// aliases too, through `nodes` and `edges`.
const WRITTEN: [&str; 4] = [
    "totalCount __typename pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
     nodes { __typename eventId occurredAt kind subjectType subjectId data
       changes { field oldValue newValue __typename } actor { kind name __typename } }",
    "edges { cursor __typename node { id: eventId k: kind who: actor { name } } } pageInfo { endCursor }",
    "nodes { actor { kind } changes { field } }",
    "totalCount",
];

/// An audit page written whole answers exactly as the same page resolved field by field (forced
/// by a fragment, which a written page does not take), for every caller, page and selection:
/// the location Phone Manager's view, administrators shown by name or as "an administrator",
/// the cursors of either way good in the other.
async fn audit_pages_written_answer_as_resolved(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    // A Decision Maker of another location, whom the location Phone Manager cannot see, renames
    // a user of theirs: "an administrator" to them.
    hidden_rename(&app, t).await;
    let callers = [
        ("Support", app.support()),
        ("Decision Maker", app.token(t.dm)),
        ("location Phone Manager", app.token(t.pm_loc1)),
        ("plain user", app.token(t.user1)),
    ];
    let query = |selection: &str| {
        format!(
            "query($a: ID!, $first: Int, $after: String, $last: Int, $before: String, $f: AuditLogFilter) {{
                account(id: $a) {{ auditLog(first: $first, after: $after, last: $last, before: $before, filter: $f) {{
                {selection} }} }} }}"
        )
    };
    let a = gid(Kind::Account, t.account);
    let mut shown = 0;
    for (caller, token) in &callers {
        let all = log(&app, token, t.account, json!({"first": 30})).await;
        let cursors: Vec<Value> = (all["data"]["node"]["auditLog"]["edges"]
            .as_array()
            .into_iter()
            .flatten())
        .map(|e| e["cursor"].clone())
        .collect();
        let mut pages = vec![
            json!({"first": 30}),
            json!({"first": 2}),
            json!({"last": 3}),
            json!({"first": 5, "f": {"kinds": ["USER_UPDATED", "MOBILITY_USER_ENABLED"]}}),
            json!({"first": 5, "f": {"actorId": gid(Kind::User, t.dm)}}),
        ];
        if let [first, .., last] = &cursors[..] {
            pages.push(json!({"first": 3, "after": first}));
            pages.push(json!({"last": 2, "before": last}));
        }
        for selection in WRITTEN {
            for page in &pages {
                let mut variables = page.clone();
                variables["a"] = json!(a);
                let written = app.gql(token, &query(selection), variables.clone()).await;
                let forced = format!("{selection} ... on AuditEntryConnection {{ resolvedBy_: __typename }}");
                let mut resolved = app.gql(token, &query(&forced), variables.clone()).await;
                if let Some(log) = resolved
                    .pointer_mut("/data/account/auditLog")
                    .and_then(Value::as_object_mut)
                {
                    assert_eq!(log.remove("resolvedBy_"), Some(json!("AuditEntryConnection")));
                }
                assert_eq!(written, resolved, "{caller}: {selection} with {variables}");
                shown += (written
                    .pointer("/data/account/auditLog/nodes")
                    .and_then(Value::as_array))
                .map_or(0, Vec::len);
            }
        }
    }
    // The pages compared were not empty, and showed administrators both ways.
    assert!(shown > 100, "{shown} entries compared");
    let hidden = log_with(
        &app,
        &app.token(t.pm_loc1),
        t.account,
        json!({"first": 30}),
        "actor { name }",
    )
    .await;
    assert!(
        nodes(&hidden).iter().any(|e| e["actor"]["name"] == "an administrator"),
        "{hidden}"
    );
}

/// A location Phone Manager's view follows the users: a user moved into their location brings
/// the entries about them (made before the move too), and a manager of two locations reads the
/// entries about users of either, newest first, page by page.
async fn audit_location_view_follows_users(backend: Backend) {
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    changes(&app, &w).await;
    let t = &w.a;
    let support = app.support();
    let pm = app.token(t.pm_loc1);
    let everything = |token: String| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            let mut after = Value::Null;
            loop {
                let body = log(app, &token, t.account, json!({"first": 3, "after": after})).await;
                ids.extend(event_ids(&nodes(&body)));
                let c = connection(&body);
                if c["pageInfo"]["hasNextPage"] == json!(false) {
                    return (ids, c["totalCount"].clone());
                }
                after = c["pageInfo"]["endCursor"].clone();
            }
        }
    };
    let about = |ids: &[Uuid], all: &[Value]| {
        let about_one = |e: &Value| {
            let data: Value = serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
            ids.iter().any(|u| {
                e["subjectId"] == json!(gid(Kind::User, *u))
                    || e["subjectId"] == json!(gid(Kind::MobilityUser, *u))
                    || data["userId"] == json!(u)
            })
        };
        event_ids(&all.iter().filter(|e| about_one(e)).cloned().collect::<Vec<_>>())
    };
    let located = |location: Uuid| {
        let app = &app;
        async move {
            (user::Entity::find().filter(user::Column::LocationId.eq(location)))
                .all(&app.state.db)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect::<Vec<_>>()
        }
    };
    let (before, _) = everything(pm.clone()).await;
    let user2_entries = about(
        &[t.user2],
        &nodes(&log(&app, &support, t.account, json!({"first": 30})).await),
    );
    assert!(!user2_entries.is_empty());
    assert!(user2_entries.iter().all(|id| !before.contains(id)));
    // Support moves user 2 into location 1: their entries, older ones too, are the manager's now.
    let moved = "mutation($u: ID!, $l: ID) { userUpdate(input: {id: $u, locationId: $l}) { userErrors { code } } }";
    let body = app
        .gql(
            &support,
            moved,
            json!({"u": gid(Kind::User, t.user2), "l": gid(Kind::Location, t.loc1)}),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
    let all = nodes(&log(&app, &support, t.account, json!({"first": 30})).await);
    let (after_move, total) = everything(pm.clone()).await;
    assert_eq!(after_move, about(&located(t.loc1).await, &all));
    assert_eq!(total, json!(after_move.len()));
    assert!(
        user2_entries.iter().all(|id| after_move.contains(id)),
        "moved with the user"
    );
    // Moved back, they are not.
    let body = app
        .gql(
            &support,
            moved,
            json!({"u": gid(Kind::User, t.user2), "l": gid(Kind::Location, t.loc2)}),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
    let (moved_back, _) = everything(pm.clone()).await;
    assert!(user2_entries.iter().all(|id| !moved_back.contains(id)));
    // A manager of both locations: the entries about users of either, in the list's order.
    let grant = "mutation($u: ID!, $l: ID) { roleAssign(input: {userId: $u, role: PHONE_MANAGER, locationId: $l}) {
        userErrors { code } } }";
    let body = app
        .gql(
            &support,
            grant,
            json!({"u": gid(Kind::User, t.pm_loc1), "l": gid(Kind::Location, t.loc2)}),
        )
        .await;
    assert_eq!(codes(&body, "roleAssign"), Vec::<String>::new(), "{body}");
    let all = nodes(&log(&app, &support, t.account, json!({"first": 30})).await);
    let both: Vec<Uuid> = [located(t.loc1).await, located(t.loc2).await].concat();
    let (two, total) = everything(pm.clone()).await;
    assert_eq!(two, about(&both, &all));
    assert_eq!(total, json!(two.len()));
    assert!(two.len() > moved_back.len());
    // Backwards too.
    let body = log(&app, &pm, t.account, json!({"last": 2})).await;
    assert_eq!(event_ids(&nodes(&body)), two[two.len() - 2..].to_vec());
}

backend_tests!(
    audit_location_view_follows_users,
    audit_pages_written_answer_as_resolved,
    audit_system_names_are_no_tokens,
    audit_log_by_role,
    audit_entries_say_who_what_and_which,
    audit_secrets_never_show,
    audit_filters,
    audit_pages_both_ways,
    audit_migration_gives_old_rows_their_user,
);
