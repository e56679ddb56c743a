//! Connect for Mobile's users, rule by rule (SPEC M7–M10, M12): the enable batch all or nothing,
//! mobility and user extensions apart, an enabled user's extension changed, disabling, and a
//! downgraded user. Each test asserts the answer, a read-back (changed, or unchanged after a
//! refusal) and the outbox rows.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::json;
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;

use super::common::{call, codes_of, enable_input, errors, events_since, read, snapshot};

async fn m7_m8_the_enable_batch_is_all_or_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let good = enable_input(&w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]);
    let p = call(&app, &dm, "mobilityUsersEnable", good.clone()).await;
    assert_eq!(errors(&p), vec![(json!(["accountId"]), "ADDON_NOT_ACTIVE".into())]);
    activate_mobility(&app, &w.a).await;

    // M7, M8: every bad row is reported with its index, and nothing is written.
    let before = snapshot(&app).await;
    let bad = enable_input(
        &w.a,
        &[
            (w.a.user1, "4001"),
            (w.a.user2, "4002"),
            (Uuid::new_v4(), "4003"),
            (w.b.user1, "4004"),
            (w.a.dm, "1001"),
            (w.a.pm, "40a"),
            (w.a.pm_loc1, "4001"),
            (w.a.user1, "4009"),
            (w.a.pm, "12"),
        ],
    );
    let p = call(&app, &dm, "mobilityUsersEnable", bad).await;
    let e = |i: usize, f: &str, c: &str| (json!(["users", i.to_string(), f]), c.to_owned());
    assert_eq!(
        errors(&p),
        vec![
            e(1, "userId", "INELIGIBLE_PHONE_PROFILE"),
            e(2, "userId", "NOT_FOUND"),
            e(3, "userId", "NOT_FOUND"),
            e(4, "mobilityExtension", "EXTENSION_CONFLICT"),
            e(5, "mobilityExtension", "VALIDATION_FAILED"),
            e(6, "mobilityExtension", "EXTENSION_CONFLICT"),
            e(7, "userId", "VALIDATION_FAILED"),
            e(8, "userId", "VALIDATION_FAILED"),
            e(8, "mobilityExtension", "VALIDATION_FAILED"),
        ]
    );
    assert_eq!(p["mobilityUsers"], json!([]));
    assert_eq!(snapshot(&app).await, before);

    // The summary step: checked, answered, nothing written.
    let mut dry = good.clone();
    dry["dryRun"] = json!(true);
    let p = call(&app, &dm, "mobilityUsersEnable", dry).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["dryRun"], true);
    let exts: Vec<&str> = p["mobilityUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mobilityExtension"].as_str().unwrap())
        .collect();
    assert_eq!(exts, vec!["4001", "4002"]);
    assert_eq!(snapshot(&app).await, before);

    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityUsersEnable", good.clone()).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["dryRun"], false);
    assert_eq!(p["mobilityUsers"][0]["user"]["id"], gid(Kind::User, w.a.user1));
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_enabled"; 2]);
    let me = app
        .gql(
            &app.token(w.a.user1),
            "{ me { mobility { mobilityExtension eligible } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me["data"]["me"]["mobility"],
        json!({ "mobilityExtension": "4001", "eligible": true })
    );

    // Enabled already; and a plain user may enable nobody.
    let before = snapshot(&app).await;
    let p = call(
        &app,
        &support,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.user1, "4005")]),
    )
    .await;
    assert_eq!(errors(&p), vec![e(0, "userId", "ALREADY_ENABLED")]);
    let p = call(
        &app,
        &app.token(w.a.user1),
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "4005")]),
    )
    .await;
    assert_eq!(errors(&p), vec![(json!(["accountId"]), "FORBIDDEN".into())]);
    assert_eq!(snapshot(&app).await, before);
}

async fn m8_mobility_and_user_extensions_never_meet(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = app.support();
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001")]).await;
    let before = snapshot(&app).await;
    // M8, reverse direction: a new or changed user extension may not take a mobility extension.
    let create = "mutation($a: ID!) { userCreate(input: {accountId: $a, name: \"New\", extension: \"4001\", phoneProfile: ELITE}) { userErrors { field code } } }";
    let body = app
        .gql(&support, create, json!({ "a": gid(Kind::Account, w.a.account) }))
        .await;
    assert_eq!(codes(&body, "userCreate"), vec!["EXTENSION_CONFLICT"]);
    let update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { field code } } }";
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.pm), "extension": "4001" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), vec!["EXTENSION_CONFLICT"]);
    // Another account may use the same number.
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.b.pm), "extension": "4001" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let after = snapshot(&app).await;
    assert_eq!(after[..6], before[..6], "only the other account's update wrote");
    // A user's changed extension frees the old one for mobility at once.
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.pm), "extension": "1999" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let p = call(
        &app,
        &support,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "1001")]),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new(), "1001 was pm's and is free now");
    let claims = {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entity::extension_claim::Entity::find()
            .filter(entity::extension_claim::Column::AccountId.eq(w.a.account))
            .count(&app.state.db)
            .await
            .unwrap()
    };
    assert_eq!(claims, 5 + 2, "five users' extensions and two mobility extensions");
}

async fn m9_an_enabled_users_extension_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]).await;
    let input = |who: Uuid, x: &str| json!({ "userId": gid(Kind::User, who), "mobilityExtension": x });
    let before = snapshot(&app).await;
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.pm_loc1, "4003")).await;
    assert_eq!(errors(&p), vec![(json!(["userId"]), "NOT_ENABLED".into())]);
    for taken in ["4002", "1003"] {
        let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, taken)).await;
        assert_eq!(
            errors(&p),
            vec![(json!(["mobilityExtension"]), "EXTENSION_CONFLICT".into())]
        );
    }
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4x")).await;
    assert_eq!(codes_of(&p), vec!["VALIDATION_FAILED"]);
    // M9: the same value is a no-op that records nothing.
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4001")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobilityUser"]["mobilityExtension"], "4001");
    assert_eq!(snapshot(&app).await, before);

    let events = app.outbox_count().await;
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.user1, "4101")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(p["mobilityUser"]["mobilityExtension"], "4101");
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_updated"]);
    let body = app
        .gql(
            &dm,
            "query($u: ID!) { node(id: $u) { ... on User { mobility { mobilityExtension } } } }",
            json!({ "u": gid(Kind::User, w.a.user1) }),
        )
        .await;
    assert_eq!(body["data"]["node"]["mobility"]["mobilityExtension"], "4101");
    // The old extension is free at once.
    let p = call(&app, &dm, "mobilityUserUpdate", input(w.a.pm, "4001")).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
}

async fn m10_disabling_is_atomic_and_frees_extensions(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (dm, support) = (app.token(w.a.dm), app.support());
    let a = gid(Kind::Account, w.a.account);
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001"), (w.a.pm, "4002")]).await;
    let before = snapshot(&app).await;
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.user1), gid(Kind::User, w.a.pm_loc1), gid(Kind::User, w.b.user1)] }),
    )
    .await;
    assert_eq!(
        errors(&p),
        vec![
            (json!(["userIds", "1"]), "NOT_ENABLED".into()),
            (json!(["userIds", "2"]), "NOT_FOUND".into())
        ]
    );
    assert_eq!(snapshot(&app).await, before, "M10: all or nothing");
    let p = call(&app, &support, "mobilityDeactivate", json!({ "accountId": a })).await;
    assert_eq!(codes_of(&p), vec!["USERS_STILL_ENABLED"]);

    let events = app.outbox_count().await;
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.user1), gid(Kind::User, w.a.pm)] }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(events_since(&app, events).await, vec!["mobility.user_disabled"; 2]);
    assert_eq!(count(&app.state.db, "SELECT COUNT(*) AS n FROM mobility_user").await, 0);
    // Their extensions are free again at once.
    let p = call(
        &app,
        &dm,
        "mobilityUsersEnable",
        enable_input(&w.a, &[(w.a.pm_loc1, "4001")]),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    let p = call(
        &app,
        &dm,
        "mobilityUsersDisable",
        json!({ "accountId": a, "userIds": [gid(Kind::User, w.a.pm_loc1)] }),
    )
    .await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    // With nobody enabled, Support may deactivate.
    let p = call(&app, &support, "mobilityDeactivate", json!({ "accountId": a })).await;
    assert_eq!(codes_of(&p), Vec::<String>::new());
    assert_eq!(read(&app, &dm, w.a.account).await["state"], "NOT_ACTIVATED");
}

async fn m12_a_downgraded_user_stays_enabled_but_ineligible(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let support = app.support();
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001")]).await;
    let update = "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }";
    let body = app
        .gql(
            &support,
            update,
            json!({ "i": { "id": gid(Kind::User, w.a.user1), "phoneProfile": "BASIC" } }),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let body = app
        .gql(
            &support,
            "query($a: ID!) { account(id: $a) { mobility { users { nodes { name eligible mobilityExtension } } } } }",
            json!({ "a": gid(Kind::Account, w.a.account) }),
        )
        .await;
    assert_eq!(
        body["data"]["account"]["mobility"]["users"]["nodes"],
        json!([{ "name": "Uma One", "eligible": false, "mobilityExtension": "4001" }])
    );
}

backend_tests!(
    m7_m8_the_enable_batch_is_all_or_nothing,
    m8_mobility_and_user_extensions_never_meet,
    m9_an_enabled_users_extension_changes,
    m10_disabling_is_atomic_and_frees_extensions,
    m12_a_downgraded_user_stays_enabled_but_ineligible,
);
