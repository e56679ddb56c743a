//! Managing webhook endpoints: who may (Support and the account's Decision Makers; T1), the
//! secret shown once and never stored or logged in clear, rotation signing with both secrets,
//! a test ping, retrying a failed delivery, bad input, deletion.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use serde_json::{Value, json};

use super::delivery::{CREATE, ENDPOINTS, endpoints, hooks, register, verified};
use crate::backend_tests;
use crate::harness::{
    app::*,
    receiver::{Receiver, Reply},
};

/// A well-formed secret no endpoint has.
pub fn other_secret() -> String {
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()
}

async fn webhooks_are_managed_by_support_and_decision_makers(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let account = gid(Kind::Account, t.account);
    let create = |token: String| {
        let app = &app;
        let account = account.clone();
        async move {
            app.gql(
                &token,
                CREATE,
                json!({"i": {"accountId": account, "url": "https://hooks.example.com/in"}}),
            )
            .await
        }
    };
    for (label, token, expect) in [
        ("account PM", app.token(t.pm), "FORBIDDEN"),
        ("location PM", app.token(t.pm_loc1), "FORBIDDEN"),
        ("user", app.token(t.user1), "FORBIDDEN"),
        ("other tenant's DM", app.token(w.b.dm), "NOT_FOUND"),
    ] {
        let body = create(token).await;
        assert_eq!(codes(&body, "webhookEndpointCreate"), vec![expect], "{label}: {body}");
    }
    assert!(endpoints(&app, t.account).await.is_empty(), "refusals change nothing");
    for token in [app.token(t.dm), app.support()] {
        let body = create(token).await;
        assert_eq!(codes(&body, "webhookEndpointCreate"), Vec::<String>::new(), "{body}");
        let secret = body["data"]["webhookEndpointCreate"]["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_"));
    }
    // Reading them: the same people; others get null (another tenant: the account is unknown).
    for (token, seen) in [
        (app.token(t.dm), true),
        (app.support(), true),
        (app.token(t.pm), false),
        (app.token(t.user1), false),
    ] {
        let body = app.gql(&token, ENDPOINTS, json!({"a": account})).await;
        assert_eq!(body["data"]["node"]["webhookEndpoints"].is_array(), seen, "{body}");
    }
    let body = app.gql(&app.token(w.b.dm), ENDPOINTS, json!({"a": account})).await;
    assert!(body["data"]["node"].is_null(), "{body}");
    let id = endpoints(&app, t.account).await[0]["id"].clone();
    let node = app
        .gql(
            &app.token(w.b.dm),
            "query($i: ID!) { node(id: $i) { id } }",
            json!({"i": id}),
        )
        .await;
    assert!(node["data"]["node"].is_null(), "{node}");
    let delete = "mutation($i: ID!) { webhookEndpointDelete(input: {id: $i}) { deletedId userErrors { code } } }";
    let body = app.gql(&app.token(w.b.dm), delete, json!({"i": id})).await;
    assert_eq!(codes(&body, "webhookEndpointDelete"), vec!["NOT_FOUND"]);
    let body = app.gql(&app.token(t.pm), delete, json!({"i": id})).await;
    assert_eq!(codes(&body, "webhookEndpointDelete"), vec!["FORBIDDEN"]);
    let body = app.gql(&app.token(t.dm), delete, json!({"i": id})).await;
    assert_eq!(body["data"]["webhookEndpointDelete"]["deletedId"], id);
    assert_eq!(endpoints(&app, t.account).await.len(), 1);
}

async fn webhooks_refuse_bad_input(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let account = gid(Kind::Account, t.account);
    for (label, input) in [
        ("not a url", json!({"accountId": account, "url": "not a url"})),
        (
            "credentials",
            json!({"accountId": account, "url": "https://u:p@hooks.example.com"}),
        ),
        ("ftp", json!({"accountId": account, "url": "ftp://hooks.example.com"})),
        (
            "long description",
            json!({"accountId": account, "url": "https://hooks.example.com", "description": "x".repeat(501)}),
        ),
    ] {
        let body = app.gql(&app.token(t.dm), CREATE, json!({"i": input})).await;
        assert_eq!(
            codes(&body, "webhookEndpointCreate"),
            vec!["VALIDATION_FAILED"],
            "{label}: {body}"
        );
    }
    let (status, body) = app
        .post(
            &app.token(t.dm),
            CREATE,
            json!({"i": {"accountId": account, "url": "https://hooks.example.com", "eventKinds": ["NO_SUCH_KIND"]}}),
        )
        .await;
    assert_eq!(
        (status, top_codes(&body)),
        (400, vec!["BAD_REQUEST".to_owned()]),
        "{body}"
    );
    assert!(endpoints(&app, t.account).await.is_empty());
}

async fn webhooks_secrets_rotate_and_never_show_again(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    // Only pings reach it: it asks for a kind nothing here records.
    let (id, first) = register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    // The secret is in no table in clear, in no event, and not in the audit log.
    let stored = raw_rows(&app, "SELECT secret_sealed FROM webhook_endpoint").await;
    let sealed: String = stored[0].try_get("", "secret_sealed").unwrap();
    assert!(!sealed.contains(first.trim_start_matches("whsec_")));
    let log = "query($a: ID!) { node(id: $a) { ... on Account { auditLog(first: 50) { nodes { kind data changes { newValue } } } } } }";
    let body = app
        .gql(&app.support(), log, json!({"a": gid(Kind::Account, t.account)}))
        .await;
    assert!(body.to_string().contains("WEBHOOK_ENDPOINT_CREATED"), "{body}");
    assert!(!body.to_string().contains(first.trim_start_matches("whsec_")), "{body}");
    // A ping goes, signed with the secret.
    let test = "mutation($i: ID!) { webhookEndpointTest(input: {id: $i}) { delivery { id eventType state } userErrors { code } } }";
    let body = app.gql(&app.token(t.dm), test, json!({"i": id})).await;
    assert_eq!(
        body["data"]["webhookEndpointTest"]["delivery"]["eventType"], "ping",
        "{body}"
    );
    let got = receiver
        .until("the ping", |r| r.iter().any(|r| r.body.contains("\"ping\"")))
        .await;
    let ping = got.iter().find(|r| r.body.contains("\"ping\"")).unwrap();
    assert!(verified(&first, ping));
    // Rotated: both secrets sign during the grace period; only the new one after a rotation
    // without grace.
    let rotate = "mutation($i: ID!, $g: Int) { webhookEndpointRotateSecret(input: {id: $i, graceHours: $g}) {
        secret webhookEndpoint { previousSecretValidUntil } userErrors { code } } }";
    let body = app.gql(&app.token(t.dm), rotate, json!({"i": id, "g": 1})).await;
    let second = body["data"]["webhookEndpointRotateSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first);
    assert!(body["data"]["webhookEndpointRotateSecret"]["webhookEndpoint"]["previousSecretValidUntil"].is_string());
    let before = receiver.received().len();
    app.gql(&app.token(t.dm), test, json!({"i": id})).await;
    let got = receiver.until("a second ping", |r| r.len() > before).await;
    let r = &got[before];
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2, "{r:?}");
    assert!(verified(&first, r) && verified(&second, r));
    let body = app.gql(&app.token(t.dm), rotate, json!({"i": id, "g": 0})).await;
    let third = body["data"]["webhookEndpointRotateSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = receiver.received().len();
    app.gql(&app.token(t.dm), test, json!({"i": id})).await;
    let got = receiver.until("a third ping", |r| r.len() > before).await;
    let r = &got[before];
    assert!(
        verified(&third, r) && !verified(&second, r) && !verified(&first, r),
        "{r:?}"
    );
    let body = app.gql(&app.token(t.dm), rotate, json!({"i": id, "g": 721})).await;
    assert_eq!(codes(&body, "webhookEndpointRotateSecret"), vec!["VALIDATION_FAILED"]);
}

async fn delivery_state(app: &TestApp, delivery: &Value) -> Value {
    let q = "query($i: ID!) { node(id: $i) { ... on WebhookDelivery { state attempts lastStatusCode } } }";
    app.gql(&app.support(), q, json!({"i": delivery})).await["data"]["node"].clone()
}

async fn webhooks_failed_deliveries_can_be_retried(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(422)]);
    let (id, _) = register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    let test = "mutation($i: ID!) { webhookEndpointTest(input: {id: $i}) { delivery { id } userErrors { code } } }";
    let body = app.gql(&app.token(t.dm), test, json!({"i": id})).await;
    let delivery = body["data"]["webhookEndpointTest"]["delivery"]["id"].clone();

    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut now: Value = delivery_state(&app, &delivery).await;
    while now["state"] != "FAILED" && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        now = delivery_state(&app, &delivery).await;
    }
    assert_eq!(now, json!({"state": "FAILED", "attempts": 1, "lastStatusCode": 422}));
    let retry =
        "mutation($i: ID!) { webhookDeliveryRetry(input: {id: $i}) { delivery { state } userErrors { code } } }";
    for (token, expect) in [(app.token(t.pm), "FORBIDDEN"), (app.token(w.b.dm), "NOT_FOUND")] {
        let body = app.gql(&token, retry, json!({"i": delivery})).await;
        assert_eq!(codes(&body, "webhookDeliveryRetry"), vec![expect], "{body}");
    }
    let body = app.gql(&app.token(t.dm), retry, json!({"i": delivery})).await;
    assert_eq!(
        body["data"]["webhookDeliveryRetry"]["delivery"]["state"], "PENDING",
        "{body}"
    );
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while now["state"] != "SUCCEEDED" && std::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        now = delivery_state(&app, &delivery).await;
    }
    assert_eq!(now, json!({"state": "SUCCEEDED", "attempts": 2, "lastStatusCode": 200}));
    let body = app.gql(&app.token(t.dm), retry, json!({"i": delivery})).await;
    assert_eq!(codes(&body, "webhookDeliveryRetry"), vec!["INVALID_STATE"]);
    // Done deliveries go once older than the settings keep them; waiting ones of an endpoint
    // that is on stay.
    let db = &app.state.db;
    let left = || async { count(db, "SELECT COUNT(*) AS n FROM webhook_delivery").await };
    let before = left().await;
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let earlier = chrono::Utc::now() - chrono::Duration::days(1);
    assert_eq!(api::service::webhooks::prune_deliveries(db, earlier).await.unwrap(), 0);
    let pruned = api::service::webhooks::prune_deliveries(db, later).await.unwrap();
    assert_eq!(pruned, 1, "the succeeded ping goes");
    assert_eq!(left().await, before - 1);
}

backend_tests!(
    webhooks_are_managed_by_support_and_decision_makers,
    webhooks_refuse_bad_input,
    webhooks_secrets_rotate_and_never_show_again,
    webhooks_failed_deliveries_can_be_retried,
);
