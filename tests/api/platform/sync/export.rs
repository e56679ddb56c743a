//! The platform sync's export from users' changes (SPEC E3, R5, R6) against a real HTTP server
//! standing in for the platform (`harness/fake_platform.rs`): a user's remote extension reaches
//! the platform and leaves it, also through an outage; a number the user deleted never comes
//! back; one account's dead platform holds up no other account.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use api::service::sync;
use serde_json::json;

use crate::{
    backend_tests,
    harness::{
        app::*,
        fake_platform::{FakePlatform, Fault},
        remote::*,
    },
};

use super::common::{PLATFORM_ACCOUNT, TOKEN, connect, fast, numbers, request_and_wait, wait_for};

async fn e3_a_users_remote_extension_reaches_the_platform_and_leaves_it_also_through_an_outage(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0704000001", None);
    // A number the platform holds for someone Reach does not know: an export of it is refused.
    platform.add(PLATFORM_ACCOUNT, "9999", "0704000099", None);
    connect(&app, c.account, &platform).await;
    // The connection makes a run due at once: the platform number arrives (R2 then lets the
    // user add their own).
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 }).await;

    let t1 = app.token(c.user1);
    let created = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Mobile", "number": "0704000002", "isRemoteExtension": true, "ringDelaySeconds": 3}),
    )
    .await;
    let mine = id_of(&created, "userNumber");
    wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000002".to_owned()) }).await;
    let item = platform
        .items(PLATFORM_ACCOUNT)
        .into_iter()
        .find(|i| i.2 == "0704000002")
        .unwrap();
    assert_eq!(item.1, "3003", "sent with the user's extension as userRef");
    assert_eq!(
        platform.ringing(&item.0),
        json!({"ringDelaySeconds": 3, "answerTooSoonMs": 1500, "answerTooLateMs": 19000, "requireKeypress": false}),
        "sent with its ringing (issue 21 §3)"
    );
    wait_for(|| async { numbers(&app, c.user1).await.iter().any(|n| n.0 == "0704000002" && n.3) }).await;

    // The next run recognises it: nothing imported twice, nothing sent again.
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert_eq!(run["changes"], 0, "{run}");
    assert_eq!(
        numbers(&app, c.user1)
            .await
            .iter()
            .filter(|n| n.0 == "0704000002")
            .count(),
        1
    );

    // The platform is down for a while (more failures than one handling retries): the number
    // arrives once it is back.
    platform.fail_next(&vec![Fault::Status(503); 5]);
    let outage = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Boat", "number": "0704000003", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(outage["userErrors"], json!([]), "{outage}");
    wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000003".to_owned()) }).await;

    // Deleted in Reach: deleted on the platform.
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": mine})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async { !platform.numbers(PLATFORM_ACCOUNT).contains(&"0704000002".to_owned()) }).await;

    // 409: the platform holds the number already: refused, recorded on the number, reported by
    // the next run, and nothing else held up.
    let conflict = rcall(
        &app,
        &t1,
        "userNumberCreate",
        json!({"label": "Shared", "number": "0704000099", "isRemoteExtension": true}),
    )
    .await;
    let shared = id_of(&conflict, "userNumber");
    let q = "query($n: ID!) { node(id: $n) { ... on UserNumber { onPlatform platformError } } }";
    wait_for(|| async {
        let body = app.gql(&app.support(), q, json!({"n": shared})).await;
        body["data"]["node"]["platformError"]
            .as_str()
            .is_some_and(|e| e.contains("409"))
    })
    .await;
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert!(
        run["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("0704000099")),
        "{run}"
    );
}

async fn e3_a_number_the_user_deleted_never_comes_back_from_the_platform(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let c = &w.c;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0708000001", None);
    connect(&app, c.account, &platform).await;
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 }).await;
    let t1 = app.token(c.user1);
    let mut ids = Vec::new();
    for n in ["0708000002", "0708000003"] {
        let created = rcall(
            &app,
            &t1,
            "userNumberCreate",
            json!({"label": n, "number": n, "isRemoteExtension": true}),
        )
        .await;
        ids.push(id_of(&created, "userNumber"));
        wait_for(|| async { platform.numbers(PLATFORM_ACCOUNT).contains(&n.to_owned()) }).await;
    }
    // The platform refuses to delete the first one.
    platform.fail_next(&[Fault::Status(403)]);
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": ids[0]})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async {
        count(
            &app.state.db,
            "SELECT COUNT(*) AS n FROM platform_withdrawal WHERE attempts = 1",
        )
        .await
            == 1
    })
    .await;
    // A run while it still refuses (the run's own try, then the listing, then the listed
    // number's delete): the number is not imported back, and the refusal is reported.
    platform.fail_next(&[Fault::Status(403), Fault::Delay(Duration::ZERO), Fault::Status(403)]);
    let run = request_and_wait(&app, c.account).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run}");
    assert_eq!(run["created"], 0, "nothing the user deleted is imported: {run}");
    let mine: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.0).collect();
    assert_eq!(mine, ["0708000001", "0708000003"]);
    assert!(
        run["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("0708000002")),
        "the refusal is reported: {run}"
    );
    assert!(platform.numbers(PLATFORM_ACCOUNT).contains(&"0708000002".to_owned()));

    // The platform is down while the user deletes the second: a run brought forward by the
    // outage withdraws both once it is back.
    platform.fail_next(&vec![Fault::Status(503); 4]);
    let del = rcall(&app, &t1, "userNumberDelete", json!({"id": ids[1]})).await;
    assert_eq!(del["userErrors"], json!([]), "{del}");
    wait_for(|| async {
        let left = platform.numbers(PLATFORM_ACCOUNT);
        !left.contains(&"0708000002".to_owned()) && !left.contains(&"0708000003".to_owned())
    })
    .await;
    wait_for(|| async { count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_withdrawal").await == 0 }).await;
    let mine: Vec<String> = numbers(&app, c.user1).await.into_iter().map(|n| n.0).collect();
    assert_eq!(mine, ["0708000001"]);
}

async fn e3_one_accounts_dead_platform_holds_up_no_other_account(backend: Backend) {
    let app = spawn_app_with(backend, fast).await;
    let w = RemoteWorld::build(&app).await;
    let (c, d) = (&w.c, &w.d);
    let up = FakePlatform::start(TOKEN).await;
    let down = FakePlatform::start(TOKEN).await;
    up.add(PLATFORM_ACCOUNT, "4003", "0709000001", None);
    down.add(PLATFORM_ACCOUNT, "3003", "0709000002", None);
    connect(&app, c.account, &down).await;
    connect(&app, d.account, &up).await;
    wait_for(|| async { numbers(&app, c.user1).await.len() == 1 && numbers(&app, d.user1).await.len() == 1 }).await;
    // C's platform goes down for good; C's user adds a number first, D's user after.
    down.fail_next(&vec![Fault::Status(503); 1000]);
    let c_new = rcall(
        &app,
        &app.token(c.user1),
        "userNumberCreate",
        json!({"label": "Cabin", "number": "0709000003", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(c_new["userErrors"], json!([]), "{c_new}");
    let d_new = rcall(
        &app,
        &app.token(d.user1),
        "userNumberCreate",
        json!({"label": "Boat", "number": "0709000004", "isRemoteExtension": true}),
    )
    .await;
    assert_eq!(d_new["userErrors"], json!([]), "{d_new}");
    wait_for(|| async { up.numbers(PLATFORM_ACCOUNT).contains(&"0709000004".to_owned()) }).await;
    let conn = sync::connection::connection_of(&app.state.db, c.account)
        .await
        .unwrap()
        .unwrap();
    assert!(conn.next_run_at.is_some(), "C's run is due again soon");
}

backend_tests!(
    e3_a_users_remote_extension_reaches_the_platform_and_leaves_it_also_through_an_outage,
    e3_a_number_the_user_deleted_never_comes_back_from_the_platform,
    e3_one_accounts_dead_platform_holds_up_no_other_account,
);
