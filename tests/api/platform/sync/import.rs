//! The platform sync's import (SPEC E3, R5, R6) against a real HTTP server standing in for the
//! platform (`harness/fake_platform.rs`): create, prefix labels, user labels kept, removal,
//! in-use numbers kept and flagged, idempotency, a number the platform changes or moves, faults
//! that fail a run cleanly, and nothing the platform still lists taken for gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::{
    graphql::ids::Kind,
    service::{remote::RemoteSettings, sync},
};
use entity::SyncRunState;
use serde_json::{Value, json};

use crate::{
    backend_tests,
    harness::{
        app::*,
        fake_platform::{FakePlatform, Fault},
        remote::*,
    },
};

use super::common::{CONNECT, PLATFORM_ACCOUNT, TOKEN, changes, connect, driven, errors, numbers, run_here, runner};

/// The global id of `number` in a user as read back.
fn number_id(read: &Value, number: &str) -> String {
    read["numbers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["number"] == number)
        .unwrap_or_else(|| panic!("{number} in {read}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn e3_the_import_creates_relabels_keeps_user_labels_removes_and_keeps_numbers_in_use(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    // user1 is extension 3003, user2 3004.
    let kept_id = platform.add(PLATFORM_ACCOUNT, "3003", "0701000001", Some("desk"));
    let edited_id = platform.add(PLATFORM_ACCOUNT, "3003", "0701000002", None);
    let gone_id = platform.add(PLATFORM_ACCOUNT, "3004", "0701000003", None);
    platform.add(PLATFORM_ACCOUNT, "3004", "0701000004", None);
    platform.add(PLATFORM_ACCOUNT, "9999", "0701000005", None);
    platform.add(PLATFORM_ACCOUNT, "3004", "0123", None); // R3: the account's code is 0, but 4 digits is fine
    platform.add(PLATFORM_ACCOUNT, "3004", "9701000006", None); // R3: not the account's code
    platform.add("another-account", "3003", "0709999999", None);
    let payload = connect(&app, c.account, &platform).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;

    let first = run_here(&app, &here, c.account).await;
    assert_eq!(first.state, SyncRunState::Succeeded, "{first:?}");
    assert_eq!(changes(&first), [5, 0, 0, 0, 0], "{first:?}");
    let errs = errors(&first);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("\"9999\"")),
        "unknown userRef reported: {errs:?}"
    );
    assert!(errs.iter().any(|e| e.contains("9701000006")), "R3 reported: {errs:?}");
    let p = |n: &str| (n.to_owned(), format!("Admin: {n}"), "PLATFORM".to_owned(), true, false);
    assert_eq!(numbers(&app, c.user1).await, vec![p("0701000001"), p("0701000002")]);
    assert_eq!(
        numbers(&app, c.user2).await,
        vec![p("0123"), p("0701000003"), p("0701000004")]
    );
    assert_eq!(
        count(
            &app.state.db,
            "SELECT COUNT(*) AS n FROM user_number WHERE origin = 'PLATFORM'"
        )
        .await,
        5
    );

    // Idempotent: nothing to change, and no event about numbers.
    let head = outbox_head(&app).await;
    let second = run_here(&app, &here, c.account).await;
    assert_eq!(second.state, SyncRunState::Succeeded);
    assert_eq!(changes(&second), [0, 0, 0, 0, 0], "{second:?}");
    assert!(
        !types_since(&app, head)
            .await
            .iter()
            .any(|t| t.starts_with("user_number")),
        "a run without changes records no number event"
    );

    // user1 renames one number; user2's 0701000003 is used by a status.
    let t1 = app.token(c.user1);
    let edited = number_id(&read_user(&app, &t1, c.user1).await, "0701000002");
    let renamed = rcall(
        &app,
        &t1,
        "userNumberUpdate",
        json!({"id": edited, "label": "Summer house"}),
    )
    .await;
    assert_eq!(renamed["userErrors"], json!([]), "{renamed}");
    let t2 = app.token(c.user2);
    let used = number_id(&read_user(&app, &t2, c.user2).await, "0701000003");
    let status = rcall(
        &app,
        &t2,
        "dynamicStatusCreate",
        json!({"name": "Cabin", "presence": "AWAY", "remoteExtensionId": used}),
    )
    .await;
    assert_eq!(status["userErrors"], json!([]), "{status}");

    // R5: the prefix changes; the label the user kept follows it, the user's own label stays.
    let relabel = runner(
        &app,
        RemoteSettings {
            admin_label_prefix: "MX: ".into(),
            ..app.state.settings.remote_extension.clone()
        },
    )
    .await;
    let third = run_here(&app, &relabel, c.account).await;
    assert_eq!(changes(&third), [0, 5 - 1, 0, 0, 0], "{third:?}");
    let labels: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.1).collect();
    assert_eq!(labels, ["MX: 0701000001", "Summer house"]);

    // Gone from the platform: the unused one is removed, the one a status uses kept and flagged.
    platform.remove(&kept_id);
    platform.remove(&edited_id);
    platform.remove(&gone_id);
    let fourth = run_here(&app, &relabel, c.account).await;
    assert_eq!(fourth.state, SyncRunState::Succeeded, "{fourth:?}");
    assert_eq!([fourth.removed, fourth.kept], [2, 1], "{fourth:?}");
    assert!(
        errors(&fourth)
            .iter()
            .any(|e| e.contains("0701000003") && e.contains("Cabin"))
    );
    assert_eq!(numbers(&app, c.user1).await, vec![]);
    let user2 = numbers(&app, c.user2).await;
    assert_eq!(user2.len(), 3, "{user2:?}");
    let flagged = user2.iter().find(|n| n.0 == "0701000003").unwrap();
    assert!(
        !flagged.3 && flagged.4,
        "kept, not on the platform, flagged: {flagged:?}"
    );
    let read2 = read_user(&app, &t2, c.user2).await;
    let cabin = read2["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Cabin")
        .unwrap();
    assert_eq!(cabin["remoteExtension"]["id"], used.as_str(), "no dangling status");

    // R6: nobody deletes a platform number through the API, not even Support.
    let refused = rcall(&app, &app.support(), "userNumberDelete", json!({"id": used})).await;
    assert_eq!(rcodes(&refused), ["FORBIDDEN"], "{refused}");

    // Once the status lets go of it, the next run removes it.
    let cabin_id = cabin["id"].as_str().unwrap().to_owned();
    let del = rcall(&app, &t2, "dynamicStatusDelete", json!({"id": cabin_id})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    let fifth = run_here(&app, &relabel, c.account).await;
    assert_eq!([fifth.removed, fifth.kept], [1, 0], "{fifth:?}");
    let sixth = run_here(&app, &relabel, c.account).await;
    assert_eq!(changes(&sixth), [0, 0, 0, 0, 0], "{sixth:?}");
}

async fn e3_a_number_the_platform_changes_or_moves_follows_it(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    let renumbered = platform.add(PLATFORM_ACCOUNT, "3003", "0702000001", None);
    let moved = platform.add(PLATFORM_ACCOUNT, "3003", "0702000002", None);
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [2, 0, 0, 0, 0]);

    platform.renumber(&renumbered, "0702000009");
    platform.remove(&moved);
    platform.add(PLATFORM_ACCOUNT, "3004", "0702000002", None);
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!(changes(&run), [1, 1, 1, 0, 0], "{run:?}");
    let one: Vec<_> = numbers(&app, c.user1).await.into_iter().map(|n| (n.0, n.1)).collect();
    assert_eq!(one, [("0702000009".to_owned(), "Admin: 0702000009".to_owned())]);
    let two: Vec<_> = numbers(&app, c.user2).await.into_iter().map(|n| n.0).collect();
    assert_eq!(two, ["0702000002"]);
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [0, 0, 0, 0, 0]);
}

async fn e3_faults_fail_the_run_cleanly_and_change_nothing_unconfirmed(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    for i in 0..5 {
        platform.add(PLATFORM_ACCOUNT, "3003", &format!("070300000{i}"), None);
    }
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [5, 0, 0, 0, 0]);
    let before = numbers(&app, c.user1).await;
    // A new number on the platform's first page would be created by a clean run.
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000009", None);

    let slow = Fault::Delay(Duration::from_millis(600));
    let cases: Vec<(&str, Vec<Fault>, &str)> = vec![
        ("500s", vec![Fault::Status(500), Fault::Status(500)], "HTTP 500"),
        ("timeouts", vec![slow.clone(), slow], "did not answer"),
        ("garbage", vec![Fault::Garbage], "could not be read"),
        ("truncated JSON", vec![Fault::Truncated], "could not be read"),
        ("401", vec![Fault::Status(401)], "HTTP 401"),
    ];
    for (name, faults, reason) in cases {
        // The first page comes back; the second one fails: nothing may be removed.
        platform.fail_after_one(&faults);
        let run = run_here(&app, &here, c.account).await;
        assert_eq!(run.state, SyncRunState::Failed, "{name}: {run:?}");
        assert!(
            errors(&run).iter().any(|e| e.contains(reason)),
            "{name}: the reason is recorded: {:?}",
            errors(&run)
        );
        assert_eq!(run.removed, 0, "{name}: an incomplete listing removes nothing");
        let now = numbers(&app, c.user1).await;
        assert!(
            before.iter().all(|n| now.contains(n)),
            "{name}: no number lost or changed: {now:?}"
        );
    }
    // The platform is back: the next run applies what is new and fails nothing.
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!([run.updated, run.removed, run.kept], [0, 0, 0], "{run:?}");
    assert_eq!(numbers(&app, c.user1).await.len(), 6);
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [0, 0, 0, 0, 0]);
    // The schedule backs off after failures and resets after a success.
    let conn = sync::connection::connection_of(&app.state.db, c.account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conn.failures, 0);
}

async fn e3_what_the_platform_still_lists_is_never_taken_for_gone(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    let renamed = platform.add(PLATFORM_ACCOUNT, "3003", "0710000001", None);
    platform.add(PLATFORM_ACCOUNT, "3003", "0710000002", None);
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(changes(&run_here(&app, &here, c.account).await), [2, 0, 0, 0, 0]);
    // The platform names a userRef Reach does not know (yet) for a number Reach holds: the
    // number is still listed, so it stays (reported), and a run after changes nothing.
    platform.reassign(&renamed, "3999");
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Succeeded, "{run:?}");
    assert_eq!(changes(&run), [0, 0, 0, 0, 0], "{run:?}");
    assert!(errors(&run).iter().any(|e| e.contains("\"3999\"")), "{run:?}");
    assert_eq!(numbers(&app, c.user1).await.len(), 2);

    // An empty listing while Reach holds platform numbers removes nothing and fails the run.
    let before = numbers(&app, c.user1).await;
    let empty = FakePlatform::start(TOKEN).await;
    let url_body = json!({"i": {"accountId": gid(Kind::Account, c.account), "baseUrl": empty.url,
        "token": TOKEN, "platformAccount": "typo-account"}});
    let set = app.gql(&app.support(), CONNECT, url_body).await;
    assert_eq!(set["data"]["platformConnectionSet"]["userErrors"], json!([]), "{set}");
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(run.state, SyncRunState::Failed, "{run:?}");
    assert!(errors(&run).iter().any(|e| e.contains("platformAccount")), "{run:?}");
    assert_eq!(numbers(&app, c.user1).await, before, "nothing removed");
}

backend_tests!(
    e3_the_import_creates_relabels_keeps_user_labels_removes_and_keeps_numbers_in_use,
    e3_a_number_the_platform_changes_or_moves_follows_it,
    e3_faults_fail_the_run_cleanly_and_change_nothing_unconfirmed,
    e3_what_the_platform_still_lists_is_never_taken_for_gone,
);

/// `(ringDelaySeconds, answerTooSoonMs, answerTooLateMs, requireKeypress)` of each of `user`'s
/// numbers, by number.
async fn ringings(app: &TestApp, user: uuid::Uuid) -> Vec<(String, Value)> {
    let q = "query($u: ID!) { node(id: $u) { ... on User { numbers(first: 100) { nodes {
        number ringDelaySeconds answerTooSoonMs answerTooLateMs requireKeypress } } } } }";
    let body = app.gql(&app.support(), q, json!({"u": gid(Kind::User, user)})).await;
    let mut all: Vec<(String, Value)> = body["data"]["node"]["numbers"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| {
            let r = json!([
                n["ringDelaySeconds"],
                n["answerTooSoonMs"],
                n["answerTooLateMs"],
                n["requireKeypress"]
            ]);
            (n["number"].as_str().unwrap().to_owned(), r)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Issue 21 §3: a platform number's ringing comes from the platform where it says, out-of-range
/// values are noted and not taken, and an administrator's change in Reach holds until the
/// platform's values change there.
async fn e3_ringing_follows_the_platform_where_it_changes(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    let said = platform.add(PLATFORM_ACCOUNT, "3003", "0703000001", None);
    platform.set_ringing(
        &said,
        json!({"ringDelaySeconds": 5, "answerTooSoonMs": 2000, "answerTooLateMs": 25000, "requireKeypress": true}),
    );
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000002", None);
    let bad = platform.add(PLATFORM_ACCOUNT, "3003", "0703000003", None);
    platform.set_ringing(&bad, json!({"ringDelaySeconds": 99}));
    connect(&app, c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(changes(&run), [3, 0, 0, 0, 0], "{run:?}");
    let noted: Vec<_> = errors(&run).into_iter().filter(|e| e.contains("ringing")).collect();
    assert_eq!(noted.len(), 1, "{run:?}");
    assert!(noted[0].starts_with("0703000003"), "{noted:?}");
    let defaults = json!([0, 1500, 19000, false]);
    assert_eq!(
        ringings(&app, c.user1).await,
        [
            ("0703000001".to_owned(), json!([5, 2000, 25000, true])),
            ("0703000002".to_owned(), defaults.clone()),
            ("0703000003".to_owned(), defaults.clone()),
        ]
    );
    // Nothing new on the platform: nothing changes, and the bad values are not noted again.
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(changes(&run), [0, 0, 0, 0, 0], "{run:?}");
    assert!(errors(&run).iter().all(|e| !e.contains("ringing")), "{run:?}");

    // An administrator tunes the number in Reach: the next run keeps that.
    let read = read_user(&app, &app.support(), c.user1).await;
    let id = number_id(&read, "0703000001");
    let dm = app.token(c.dm);
    let tuned = rcall(&app, &dm, "userNumberUpdate", json!({"id": id, "ringDelaySeconds": 7})).await;
    assert_eq!(rcodes(&tuned), Vec::<String>::new(), "{tuned}");
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(changes(&run), [0, 0, 0, 0, 0], "{run:?}");
    assert_eq!(ringings(&app, c.user1).await[0].1, json!([7, 2000, 25000, true]));

    // The platform's values change there: they are taken, with the number's event.
    platform.set_ringing(
        &said,
        json!({"ringDelaySeconds": 9, "answerTooSoonMs": 2000, "answerTooLateMs": 0, "requireKeypress": true}),
    );
    let head = outbox_head(&app).await;
    let run = run_here(&app, &here, c.account).await;
    assert_eq!(changes(&run), [0, 1, 0, 0, 0], "{run:?}");
    assert_eq!(ringings(&app, c.user1).await[0].1, json!([9, 2000, 0, true]));
    let events: Vec<_> = events_since(&app, head)
        .await
        .into_iter()
        .filter(|(t, _)| t == "user_number.updated")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].1["changes"],
        json!({"ringDelaySeconds": {"old": 7, "new": 9}, "answerTooLateMs": {"old": 25000, "new": 0}})
    );
}

backend_tests!(e3_ringing_follows_the_platform_where_it_changes);
