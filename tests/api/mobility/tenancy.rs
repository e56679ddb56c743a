//! Connect for Mobile and the tenant rule (SPEC T1): another tenant's add-on and users answer as
//! unknown ids to every mobility mutation and read, and nothing changes.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::json;
use uuid::Uuid;

use crate::backend_tests;
use crate::harness::app::*;

use super::common::{call, codes_of, enable_input, errors, read, snapshot};

async fn t1_another_tenants_mobility_is_unknown(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let c = tenant(&app.state, "Gamma Corp", entity::Platform::MicloudConnect, 3000).await;
    activate_mobility(&app, &w.a).await;
    activate_mobility(&app, &c).await;
    enable_mobility(&app, &c, &[(c.user1, "4001")]).await;
    let before = snapshot(&app).await;
    let c_state = read(&app, &app.support(), c.account).await;
    let (ghost_account, ghost_user) = (gid(Kind::Account, Uuid::new_v4()), gid(Kind::User, Uuid::new_v4()));
    let (ca, cu) = (gid(Kind::Account, c.account), gid(Kind::User, c.user1));
    for who in [w.a.dm, w.a.pm, w.a.pm_loc1, w.a.user1] {
        let token = app.token(who);
        let cases = |account: &str, user: &str| {
            vec![
                (
                    "mobilityActivate",
                    json!({ "accountId": account, "confirmPurchase": true, "voicemailAccessNumber": "8991", "accessNumberId": gid(Kind::AccessNumber, c.access_number) }),
                ),
                (
                    "mobilityActivationComplete",
                    json!({ "accountId": account, "mobilityRouter": "r", "groupName": "g" }),
                ),
                (
                    "mobilitySettingsUpdate",
                    json!({ "accountId": account, "expectedVersion": 2, "groupName": "x" }),
                ),
                (
                    "mobilityEmailNotificationSet",
                    json!({ "accountId": account, "enabled": true }),
                ),
                ("mobilityDeactivate", json!({ "accountId": account })),
                (
                    "mobilityUsersEnable",
                    json!({ "accountId": account, "users": [{ "userId": user, "mobilityExtension": "4999" }] }),
                ),
                (
                    "mobilityUsersDisable",
                    json!({ "accountId": account, "userIds": [user] }),
                ),
                (
                    "mobilityUserUpdate",
                    json!({ "userId": user, "mobilityExtension": "4999" }),
                ),
            ]
        };
        for ((name, real), (_, ghost)) in cases(&ca, &cu).into_iter().zip(cases(&ghost_account, &ghost_user)) {
            let a = call(&app, &token, name, real).await;
            let b = call(&app, &token, name, ghost).await;
            assert_eq!(a, b, "T1: {name} as {who} answers as for an unknown id");
            assert_eq!(codes_of(&a), vec!["NOT_FOUND"], "{name}: {a}");
        }
        // Rows of tenant A's own account, naming C's user: NOT_FOUND at the row.
        let p = call(
            &app,
            &token,
            "mobilityUsersEnable",
            enable_input(&w.a, &[(c.user1, "4998")]),
        )
        .await;
        if who != w.a.user1 {
            assert_eq!(errors(&p), vec![(json!(["users", "0", "userId"]), "NOT_FOUND".into())]);
        }
        let body = app
            .gql(
                &token,
                "query($a: ID!, $m: ID!) { account(id: $a) { id } node(id: $m) { id } }",
                json!({ "a": ca, "m": gid(Kind::MobilityUser, c.user1) }),
            )
            .await;
        assert_eq!(body["data"], json!({ "account": null, "node": null }));
    }
    assert_eq!(snapshot(&app).await, before, "T1: nothing changed");
    assert_eq!(read(&app, &app.support(), c.account).await, c_state);
    // Support sees the MobilityUser node.
    let body = app
        .gql(
            &app.support(),
            "query($m: ID!) { node(id: $m) { ... on MobilityUser { mobilityExtension } } }",
            json!({ "m": gid(Kind::MobilityUser, c.user1) }),
        )
        .await;
    assert_eq!(body["data"]["node"]["mobilityExtension"], "4001");
}

backend_tests!(t1_another_tenants_mobility_is_unknown);
