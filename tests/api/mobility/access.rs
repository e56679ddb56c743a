//! Who may do what on Connect for Mobile (SPEC §1, §3): for every mobility mutation and every role
//! — Support, Decision Maker, account-wide Phone Manager, location Phone Manager, plain user — an
//! allowed case and a refused one, refusals changing nothing. Then the races of QUALITY.md: one
//! extension, one `expectedVersion`, an enable against a `userCreate` and against a deactivation.

#![allow(clippy::unwrap_used)]

use api::{
    graphql::ids::Kind,
    policy::Principal,
    service::{
        directory::{self, UserFields},
        mobility,
    },
};
use entity::PhoneProfile;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;
use crate::mobility::common::{call, codes_of, errors, read, snapshot};

const OK: &str = "";

/// Who may act on a user, as a `FORBIDDEN` answer names them.
const COVERING: &str = "Support or an administrator covering the user (a Decision Maker, an account-wide Phone \
                        Manager, or a Phone Manager of the user's location)";

/// The message of a payload's only `userErrors` entry.
fn message(payload: &Value) -> &str {
    assert_eq!(payload["userErrors"].as_array().map(Vec::len), Some(1), "{payload}");
    payload["userErrors"][0]["message"].as_str().unwrap()
}

/// Eligible users created through the services: `(name, location)`.
async fn eligible_users(app: &TestApp, t: &Tenant, people: &[(&str, Uuid)], ext_base: u32) -> Vec<Uuid> {
    let rows = people
        .iter()
        .enumerate()
        .map(|(i, (name, loc))| UserFields {
            location_id: Some(api::service::GivenId::Key(*loc)),
            name: (*name).into(),
            email: None,
            phone_number: None,
            extension: (ext_base + i as u32).to_string(),
            phone_profile: PhoneProfile::Essentials,
        })
        .collect();
    let s = Principal::Support { name: "fixture".into() };
    directory::import_users(
        &app.state.db,
        &s,
        &app.state.settings.remote_extension,
        Some(t.account),
        rows,
    )
    .await
    .unwrap()
    .into_iter()
    .map(|u| u.id)
    .collect()
}

/// Runs `mutation` as `token`; `expect` is `OK` or the one code it must answer. A refusal must
/// change nothing: the mobility tables, the outbox and the add-on as read back.
async fn check(app: &TestApp, t: &Tenant, label: &str, token: &str, mutation: &str, input: Value, expect: &str) {
    let (before, addon) = (snapshot(app).await, read(app, &app.support(), t.account).await);
    let payload = call(app, token, mutation, input).await;
    if expect == OK {
        assert_eq!(codes_of(&payload), Vec::<String>::new(), "{label}: allowed: {payload}");
        assert_ne!(snapshot(app).await, before, "{label}: an allowed change writes");
    } else {
        assert_eq!(codes_of(&payload), vec![expect], "{label}: {payload}");
        assert_eq!(snapshot(app).await, before, "{label}: a refusal writes nothing");
        assert_eq!(read(app, &app.support(), t.account).await, addon, "{label}: unchanged");
    }
}

fn account(t: &Tenant) -> String {
    gid(Kind::Account, t.account)
}

async fn account_level_mutations_by_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let a = account(t);
    let support = app.support();
    let tok = |who: Uuid| app.token(who);
    let s = Principal::Support { name: "fixture".into() };
    let activate = json!({ "accountId": a, "confirmPurchase": true, "voicemailAccessNumber": "8991",
        "accessNumberId": gid(Kind::AccessNumber, t.access_number) });

    // mobilityActivate: Support, Decision Maker, account Phone Manager; not the others.
    for (label, who) in [("location PM", tok(t.pm_loc1)), ("user", tok(t.user1))] {
        check(
            &app,
            t,
            &format!("activate as {label}"),
            &who,
            "mobilityActivate",
            activate.clone(),
            "FORBIDDEN",
        )
        .await;
        // The refusal names who may.
        let p = call(&app, &who, "mobilityActivate", activate.clone()).await;
        assert_eq!(
            message(&p),
            "only Support, a Decision Maker or an account-wide Phone Manager of the account may activate Connect \
             for Mobile",
            "{label}"
        );
    }
    for (label, who) in [
        ("Support", support.clone()),
        ("DM", tok(t.dm)),
        ("account PM", tok(t.pm)),
    ] {
        check(
            &app,
            t,
            &format!("activate as {label}"),
            &who,
            "mobilityActivate",
            activate.clone(),
            OK,
        )
        .await;
        assert_eq!(read(&app, &support, t.account).await["state"], "PENDING_SUPPORT");
        mobility::deactivate(&app.state.db, &s, Some(t.account)).await.unwrap();
    }

    // mobilityEmailNotificationSet: the same three.
    let email = |on: bool| json!({ "accountId": a, "enabled": on });
    for (label, who) in [("location PM", tok(t.pm_loc1)), ("user", tok(t.user1))] {
        check(
            &app,
            t,
            &format!("email as {label}"),
            &who,
            "mobilityEmailNotificationSet",
            email(true),
            "FORBIDDEN",
        )
        .await;
    }
    for (i, (label, who)) in [
        ("Support", support.clone()),
        ("DM", tok(t.dm)),
        ("account PM", tok(t.pm)),
    ]
    .into_iter()
    .enumerate()
    {
        check(
            &app,
            t,
            &format!("email as {label}"),
            &who,
            "mobilityEmailNotificationSet",
            email(i % 2 == 0),
            OK,
        )
        .await;
    }

    // mobilityActivationComplete: Support only.
    call(&app, &support, "mobilityActivate", activate.clone()).await;
    let complete = json!({ "accountId": a, "mobilityRouter": "mr1.example.net", "groupName": "alpha" });
    for (label, who) in [
        ("DM", t.dm),
        ("account PM", t.pm),
        ("location PM", t.pm_loc1),
        ("user", t.user1),
    ] {
        check(
            &app,
            t,
            &format!("complete as {label}"),
            &tok(who),
            "mobilityActivationComplete",
            complete.clone(),
            "FORBIDDEN",
        )
        .await;
    }
    check(
        &app,
        t,
        "complete as Support",
        &support,
        "mobilityActivationComplete",
        complete,
        OK,
    )
    .await;

    // mobilitySettingsUpdate: Support only.
    let version = read(&app, &support, t.account).await["settings"]["version"]
        .as_i64()
        .unwrap();
    let update = json!({ "accountId": a, "expectedVersion": version, "handoverNumber": "5550009999" });
    for (label, who) in [
        ("DM", t.dm),
        ("account PM", t.pm),
        ("location PM", t.pm_loc1),
        ("user", t.user1),
    ] {
        check(
            &app,
            t,
            &format!("settings as {label}"),
            &tok(who),
            "mobilitySettingsUpdate",
            update.clone(),
            "FORBIDDEN",
        )
        .await;
    }
    check(
        &app,
        t,
        "settings as Support",
        &support,
        "mobilitySettingsUpdate",
        update,
        OK,
    )
    .await;

    // mobilityDeactivate: Support only.
    for (label, who) in [
        ("DM", t.dm),
        ("account PM", t.pm),
        ("location PM", t.pm_loc1),
        ("user", t.user1),
    ] {
        check(
            &app,
            t,
            &format!("deactivate as {label}"),
            &tok(who),
            "mobilityDeactivate",
            json!({ "accountId": a }),
            "FORBIDDEN",
        )
        .await;
    }
    check(
        &app,
        t,
        "deactivate as Support",
        &support,
        "mobilityDeactivate",
        json!({ "accountId": a }),
        OK,
    )
    .await;
}

async fn user_level_mutations_by_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let a = account(t);
    let support = app.support();
    let tok = |who: Uuid| app.token(who);
    activate_mobility(&app, t).await;
    let extra = eligible_users(
        &app,
        t,
        &[
            ("Ann Loc1", t.loc1),
            ("Ben Loc1", t.loc1),
            ("Cat Loc2", t.loc2),
            ("Dan Loc2", t.loc2),
        ],
        1500,
    )
    .await;
    let (ann, ben, cat, dan) = (extra[0], extra[1], extra[2], extra[3]);
    let enable = |who: Uuid, x: &str| json!({ "accountId": a, "users": [{ "userId": gid(Kind::User, who), "mobilityExtension": x }] });

    // mobilityUsersEnable: Support, DM and account PM on anyone; a location PM on its location.
    for (label, token, target, x) in [
        ("Support", support.clone(), t.user1, "4001"),
        ("DM", tok(t.dm), t.pm, "4002"),
        ("account PM", tok(t.pm), cat, "4003"),
        ("location PM", tok(t.pm_loc1), ann, "4004"),
    ] {
        check(
            &app,
            t,
            &format!("enable as {label}"),
            &token,
            "mobilityUsersEnable",
            enable(target, x),
            OK,
        )
        .await;
    }
    check(
        &app,
        t,
        "enable as location PM, other location",
        &tok(t.pm_loc1),
        "mobilityUsersEnable",
        enable(dan, "4005"),
        "FORBIDDEN",
    )
    .await;
    let p = call(&app, &tok(t.pm_loc1), "mobilityUsersEnable", enable(dan, "4005")).await;
    assert_eq!(errors(&p), vec![(json!(["users", "0", "userId"]), "FORBIDDEN".into())]);
    assert_eq!(
        message(&p),
        format!("only {COVERING} may enable this user for Connect for Mobile")
    );
    check(
        &app,
        t,
        "enable as user",
        &tok(t.user1),
        "mobilityUsersEnable",
        enable(ben, "4005"),
        "FORBIDDEN",
    )
    .await;

    // mobilityUserUpdate: the same people, per user.
    let update = |who: Uuid, x: &str| json!({ "userId": gid(Kind::User, who), "mobilityExtension": x });
    for (label, token, target, x) in [
        ("Support", support.clone(), t.user1, "4101"),
        ("DM", tok(t.dm), t.pm, "4102"),
        ("account PM", tok(t.pm), cat, "4103"),
        ("location PM", tok(t.pm_loc1), ann, "4104"),
    ] {
        check(
            &app,
            t,
            &format!("update as {label}"),
            &token,
            "mobilityUserUpdate",
            update(target, x),
            OK,
        )
        .await;
    }
    check(
        &app,
        t,
        "update as location PM, other location",
        &tok(t.pm_loc1),
        "mobilityUserUpdate",
        update(cat, "4105"),
        "FORBIDDEN",
    )
    .await;
    check(
        &app,
        t,
        "update as user, themself",
        &tok(t.user1),
        "mobilityUserUpdate",
        update(t.user1, "4105"),
        "FORBIDDEN",
    )
    .await;
    check(
        &app,
        t,
        "update as user, someone else",
        &tok(t.user1),
        "mobilityUserUpdate",
        update(ann, "4105"),
        "NOT_FOUND",
    )
    .await;

    // mobilityUsersDisable: the same people again.
    let disable = |who: Uuid| json!({ "accountId": a, "userIds": [gid(Kind::User, who)] });
    check(
        &app,
        t,
        "disable as location PM, other location",
        &tok(t.pm_loc1),
        "mobilityUsersDisable",
        disable(cat),
        "FORBIDDEN",
    )
    .await;
    let p = call(&app, &tok(t.pm_loc1), "mobilityUsersDisable", disable(cat)).await;
    assert_eq!(errors(&p), vec![(json!(["userIds", "0"]), "FORBIDDEN".into())]);
    assert_eq!(
        message(&p),
        format!("only {COVERING} may disable this user for Connect for Mobile")
    );
    check(
        &app,
        t,
        "disable as user",
        &tok(t.user1),
        "mobilityUsersDisable",
        disable(t.user1),
        "FORBIDDEN",
    )
    .await;
    for (label, token, target) in [
        ("Support", support.clone(), t.user1),
        ("DM", tok(t.dm), t.pm),
        ("account PM", tok(t.pm), cat),
        ("location PM", tok(t.pm_loc1), ann),
    ] {
        check(
            &app,
            t,
            &format!("disable as {label}"),
            &token,
            "mobilityUsersDisable",
            disable(target),
            OK,
        )
        .await;
    }
}

/// Refusals for the roles allowed above: Support on an account without the add-on's platform,
/// every other role on another tenant's account (T1).
async fn allowed_roles_are_refused_elsewhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let c = tenant(&app.state, "Gamma Corp", entity::Platform::MicloudConnect, 3000).await;
    activate_mobility(&app, &c).await;
    enable_mobility(&app, &c, &[(c.user1, "4001")]).await;
    let inputs = |t: &Tenant| {
        let a = account(t);
        vec![
            (
                "mobilityActivate",
                json!({ "accountId": a, "confirmPurchase": true, "voicemailAccessNumber": "8991", "accessNumberId": gid(Kind::AccessNumber, t.access_number) }),
            ),
            (
                "mobilityActivationComplete",
                json!({ "accountId": a, "mobilityRouter": "r", "groupName": "g" }),
            ),
            (
                "mobilitySettingsUpdate",
                json!({ "accountId": a, "expectedVersion": 2, "groupName": "x" }),
            ),
            (
                "mobilityEmailNotificationSet",
                json!({ "accountId": a, "enabled": true }),
            ),
            ("mobilityDeactivate", json!({ "accountId": a })),
            (
                "mobilityUsersEnable",
                json!({ "accountId": a, "users": [{ "userId": gid(Kind::User, t.pm), "mobilityExtension": "4999" }] }),
            ),
            (
                "mobilityUsersDisable",
                json!({ "accountId": a, "userIds": [gid(Kind::User, t.user1)] }),
            ),
            (
                "mobilityUserUpdate",
                json!({ "userId": gid(Kind::User, t.user1), "mobilityExtension": "4999" }),
            ),
        ]
    };
    for (mutation, input) in inputs(&w.b) {
        let label = format!("{mutation} as Support on MX-ONE");
        check(
            &app,
            &w.b,
            &label,
            &app.support(),
            mutation,
            input,
            "PLATFORM_NOT_SUPPORTED",
        )
        .await;
    }
    for (role, who) in [
        ("DM", w.a.dm),
        ("account PM", w.a.pm),
        ("location PM", w.a.pm_loc1),
        ("user", w.a.user1),
    ] {
        for (mutation, input) in inputs(&c) {
            let label = format!("{mutation} as {role} of another tenant");
            check(&app, &c, &label, &app.token(who), mutation, input, "NOT_FOUND").await;
        }
    }
}

async fn twenty_enables_of_one_extension_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    activate_mobility(&app, &w.a).await;
    let names: Vec<String> = (0..20).map(|i| format!("Racer {i:02}")).collect();
    let people: Vec<(&str, Uuid)> = names.iter().map(|n| (n.as_str(), w.a.loc1)).collect();
    let racers = eligible_users(&app, &w.a, &people, 1500).await;
    let (token, a) = (app.support(), account(&w.a));
    let calls = racers.iter().map(|id| {
        call(
            &app,
            &token,
            "mobilityUsersEnable",
            json!({ "accountId": a, "users": [{ "userId": gid(Kind::User, *id), "mobilityExtension": "4777" }] }),
        )
    });
    let results = futures::future::join_all(calls).await;
    let mut winners = 0;
    for p in &results {
        match codes_of(p).as_slice() {
            [] => winners += 1,
            [code] => assert_eq!(code, "EXTENSION_CONFLICT", "{p}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let rows = count(
        &app.state.db,
        "SELECT COUNT(*) AS n FROM mobility_user WHERE mobility_extension = '4777'",
    )
    .await;
    assert_eq!(rows, 1);
    let events = app.outbox_types().await;
    assert_eq!(events.iter().filter(|e| *e == "mobility.user_enabled").count(), 1);
}

async fn hundred_updates_at_one_version_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let version = activate_mobility(&app, &w.a).await;
    let (token, a) = (app.support(), account(&w.a));
    let calls = (0..100).map(|i| {
        call(
            &app,
            &token,
            "mobilitySettingsUpdate",
            json!({ "accountId": a, "expectedVersion": version, "handoverNumber": format!("55500{i:05}") }),
        )
    });
    let results = futures::future::join_all(calls).await;
    let stale = results.iter().filter(|p| codes_of(p) == vec!["STALE_VERSION"]).count();
    let won = results.iter().filter(|p| codes_of(p).is_empty()).count();
    assert_eq!((won, stale), (1, 99));
    let now = read(&app, &token, w.a.account).await;
    assert_eq!(now["settings"]["version"], version + 1);
    let winner = results.iter().find(|p| codes_of(p).is_empty()).unwrap();
    assert_eq!(winner["mobility"]["settings"]["version"], version + 1);
    let events = app.outbox_types().await;
    assert_eq!(events.iter().filter(|e| *e == "mobility.settings_updated").count(), 1);
}

async fn an_enable_racing_a_user_create_for_one_extension(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    activate_mobility(&app, &w.a).await;
    let names: Vec<String> = (0..10).map(|i| format!("Mobile {i}")).collect();
    let people: Vec<(&str, Uuid)> = names.iter().map(|n| (n.as_str(), w.a.loc1)).collect();
    let mobiles = eligible_users(&app, &w.a, &people, 1500).await;
    let (token, a) = (app.support(), account(&w.a));
    let create = "mutation($a: ID!, $n: String!, $x: String!) { userCreate(input: {accountId: $a, name: $n, extension: $x, phoneProfile: BASIC}) { userErrors { code } } }";
    for (round, mobile) in mobiles.iter().enumerate() {
        let x = format!("{}", 6000 + round);
        let (created, enabled) = tokio::join!(
            app.gql(&token, create, json!({ "a": a, "n": format!("Desk {round}"), "x": x })),
            call(
                &app,
                &token,
                "mobilityUsersEnable",
                json!({ "accountId": a, "users": [{ "userId": gid(Kind::User, *mobile), "mobilityExtension": x }] })
            ),
        );
        assert!(created["errors"].is_null(), "round {round}: {created}");
        let outcome = (codes(&created, "userCreate"), codes_of(&enabled));
        let one_wins = outcome == (vec![], vec!["EXTENSION_CONFLICT".to_owned()])
            || outcome == (vec!["EXTENSION_CONFLICT".to_owned()], vec![]);
        assert!(one_wins, "round {round}: exactly one wins: {outcome:?}");
        let claims = count(
            &app.state.db,
            &format!("SELECT COUNT(*) AS n FROM extension_claim WHERE extension = '{x}'"),
        )
        .await;
        assert_eq!(claims, 1, "round {round}");
    }
}

async fn an_enable_racing_a_deactivation(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    activate_mobility(&app, &w.a).await;
    let names: Vec<String> = (0..20).map(|i| format!("Runner {i:02}")).collect();
    let people: Vec<(&str, Uuid)> = names.iter().map(|n| (n.as_str(), w.a.loc1)).collect();
    let runners = eligible_users(&app, &w.a, &people, 1500).await;
    let (token, a) = (app.support(), account(&w.a));
    let enables = runners.iter().enumerate().map(|(i, id)| {
        call(
            &app,
            &token,
            "mobilityUsersEnable",
            json!({ "accountId": a, "users": [{ "userId": gid(Kind::User, *id), "mobilityExtension": format!("{}", 4200 + i) }] }),
        )
    });
    let (enabled, deactivated) = tokio::join!(
        futures::future::join_all(enables),
        call(&app, &token, "mobilityDeactivate", json!({ "accountId": a }))
    );
    let state = read(&app, &token, w.a.account).await["state"].clone();
    let rows = count(&app.state.db, "SELECT COUNT(*) AS n FROM mobility_user").await;
    let won = enabled.iter().filter(|p| codes_of(p).is_empty()).count() as i64;
    assert_eq!(rows, won);
    for p in &enabled {
        assert!(matches!(codes_of(p).as_slice(), [] | [_]), "{p}");
        if let [code] = codes_of(p).as_slice() {
            assert_eq!(
                code, "ADDON_NOT_ACTIVE",
                "only a deactivation that came first refuses: {p}"
            );
        }
    }
    match codes_of(&deactivated).as_slice() {
        [] => assert_eq!(state, "NOT_ACTIVATED"),
        [code] => {
            assert_eq!(code, "USERS_STILL_ENABLED");
            assert_eq!(state, "ACTIVE");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !(state == "NOT_ACTIVATED" && rows > 0),
        "never users enabled on a deactivated add-on"
    );
}

backend_tests!(
    account_level_mutations_by_role,
    user_level_mutations_by_role,
    allowed_roles_are_refused_elsewhere,
    twenty_enables_of_one_extension_leave_one_winner,
    hundred_updates_at_one_version_leave_one_winner,
    an_enable_racing_a_user_create_for_one_extension,
    an_enable_racing_a_deactivation,
);
