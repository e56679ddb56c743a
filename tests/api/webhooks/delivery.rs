//! Deliveries to a real HTTP receiver on 127.0.0.1: signed as Standard Webhooks says (checked
//! with a second implementation written here from the specification, not Reach's), in log order,
//! retried on 5xx, 429 (`Retry-After`) and a dead endpoint, given up on other 4xx and redirects,
//! an endpoint switched off on 410 or after failing too long, non-public destinations refused
//! before any connection.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use api::{config::Settings, graphql::ids::Kind};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::backend_tests;
use crate::harness::{
    app::*,
    receiver::{REMOTE_BODY, Received, Receiver, Reply},
};

/// Plugins off but webhooks, which may call 127.0.0.1 over http, retry after 1–2 s, and poll
/// often.
pub fn hooks(s: &mut Settings) {
    s.plugins.email.enabled = false;
    s.plugins.platform.enabled = false;
    s.subscriptions.enabled = false;
    s.plugins.poll_interval_ms = 50;
    s.plugins.webhooks.allow_http = true;
    s.plugins.webhooks.allow_destinations = vec!["127.0.0.0/8".into()];
    s.plugins.webhooks.backoff_initial_seconds = 1;
    s.plugins.webhooks.backoff_max_seconds = 2;
}

pub const CREATE: &str = "mutation($i: WebhookEndpointCreateInput!) { webhookEndpointCreate(input: $i) {
    webhookEndpoint { id url enabled eventKinds } secret userErrors { code field message } } }";

pub const ENDPOINTS: &str = "query($a: ID!) { node(id: $a) { ... on Account { webhookEndpoints {
    id enabled disabledReason failingSince
    recentDeliveries { id messageId eventType state attempts nextAttemptAt lastStatusCode lastError latencyMs } } } } }";

/// Registers `url` for `account` as `token`; the endpoint's id and secret.
pub async fn register(app: &TestApp, token: &str, account: uuid::Uuid, url: &str, kinds: Value) -> (String, String) {
    let body = app
        .gql(
            token,
            CREATE,
            json!({"i": {"accountId": gid(Kind::Account, account), "url": url, "description": "test", "eventKinds": kinds}}),
        )
        .await;
    assert_eq!(codes(&body, "webhookEndpointCreate"), Vec::<String>::new(), "{body}");
    let made = &body["data"]["webhookEndpointCreate"];
    (
        made["webhookEndpoint"]["id"].as_str().unwrap().to_owned(),
        made["secret"].as_str().unwrap().to_owned(),
    )
}

/// The account's endpoints with their recent deliveries, as Support reads them.
pub async fn endpoints(app: &TestApp, account: uuid::Uuid) -> Vec<Value> {
    let body = app
        .gql(&app.support(), ENDPOINTS, json!({"a": gid(Kind::Account, account)}))
        .await;
    body["data"]["node"]["webhookEndpoints"].as_array().unwrap().clone()
}

/// The account's first endpoint once `done` holds for it, or as it is after 10 s (the caller's
/// assertions then say what did not happen).
pub async fn first_endpoint_when(app: &TestApp, account: uuid::Uuid, done: impl Fn(&Value) -> bool) -> Value {
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ep = endpoints(app, account).await[0].clone();
        if done(&ep) || std::time::Instant::now() > until {
            return ep;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Standard Webhooks check, written from the specification: the signed content is
/// `id.timestamp.body`; the key is the base64 after `whsec_`; the header lists `v1,<base64>`
/// signatures separated by spaces, any of which may match; the timestamp is within 5 minutes.
pub fn verified(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let (id, ts) = (r.header("webhook-id"), r.header("webhook-timestamp"));
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh && r.header("webhook-signature").split(' ').any(|s| s == expected)
}

async fn rename(app: &TestApp, t: &Tenant, name: &str) {
    let rename = "mutation($u: ID!, $n: String!) { userUpdate(input: {id: $u, name: $n}) { userErrors { code } } }";
    let body = app
        .gql(
            &app.token(t.dm),
            rename,
            json!({"u": gid(Kind::User, t.user1), "n": name}),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new(), "{body}");
}

async fn webhooks_deliver_signed_events_in_log_order(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    // The first attempt fails, so the others queue behind it and must still go in order.
    receiver.script([Reply::Status(503)]);
    let (_, secret) = register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    for i in 0..5 {
        rename(&app, t, &format!("Uma {i}")).await;
    }
    let all = receiver
        .until("five renames", |r| r.iter().filter(|r| r.status == 200).count() >= 5)
        .await;
    assert_eq!(all[0].status, 503);
    assert_eq!(
        all.len(),
        6,
        "only the kinds asked for, each once more than its failures"
    );
    let got: Vec<Received> = all.into_iter().filter(|r| r.status == 200).collect();
    let bodies: Vec<Value> = got.iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    let names: Vec<&str> = (bodies.iter())
        .map(|b| b["data"]["payload"]["changes"]["name"]["new"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Uma 0", "Uma 1", "Uma 2", "Uma 3", "Uma 4"], "in log order");
    for (r, b) in got.iter().zip(&bodies) {
        assert!(verified(&secret, r), "signature: {r:?}");
        assert!(!verified(&crate::webhooks::manage::other_secret(), r));
        assert_eq!(b["type"], "user.updated");
        assert_eq!(b["version"], "1");
        assert_eq!(b["data"]["eventId"], json!(r.header("webhook-id")));
        assert_eq!(b["data"]["actor"], json!({"kind": "USER", "userId": t.dm}));
        assert_eq!(r.header("content-type"), "application/json");
    }
    // The API shows them delivered.
    let eps = endpoints(&app, t.account).await;
    let deliveries = eps[0]["recentDeliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 5);
    assert!(
        deliveries
            .iter()
            .all(|d| d["state"] == "SUCCEEDED" && d["lastStatusCode"] == 200)
    );
}

async fn webhooks_retry_5xx_429_and_a_dead_endpoint(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(500), Reply::RetryAfter(429, 1)]);
    let (_, secret) = register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    rename(&app, t, "Uma Retried").await;
    let got = receiver.until("three attempts", |r| r.len() >= 3).await;
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one message, the same id at every attempt"
    );
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 429, 200]);
    assert!(got.iter().all(|r| verified(&secret, r)));
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(450),
        "a backoff after the 500"
    );
    assert!(
        got[2].at - got[1].at >= Duration::from_millis(950),
        "Retry-After: 1 honoured"
    );
    let deliveries = endpoints(&app, t.account).await[0]["recentDeliveries"].clone();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut d = deliveries[0].clone();
    while d["state"] != "SUCCEEDED" && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        d = endpoints(&app, t.account).await[0]["recentDeliveries"][0].clone();
    }
    assert_eq!(d["state"], "SUCCEEDED");
    assert_eq!(d["attempts"], 3);

    // A dead endpoint (nothing listens): attempted again, and shown failing meanwhile.
    let (_dead, port) = crate::harness::smtp_sink::closed_port();
    let (id, _) = register(
        &app,
        &app.token(t.dm),
        t.account,
        &format!("http://127.0.0.1:{port}/hook"),
        json!(["USER_UPDATED"]),
    )
    .await;
    rename(&app, t, "Uma Unheard").await;
    let until = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let eps = endpoints(&app, t.account).await;
        let ep = eps.iter().find(|e| e["id"] == json!(id)).unwrap();
        let d = &ep["recentDeliveries"][0];
        if d["attempts"].as_i64().unwrap_or(0) >= 2 {
            assert_eq!(d["state"], "PENDING");
            assert_eq!(d["lastError"], "the endpoint could not be reached");
            assert!(d["nextAttemptAt"].is_string());
            assert!(ep["failingSince"].is_string());
            assert_eq!(ep["enabled"], true);
            break;
        }
        assert!(std::time::Instant::now() < until, "{ep}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn webhooks_give_up_on_4xx_and_redirects_and_stop_on_410(backend: Backend) {
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    let elsewhere = receiver.url.replace("/hook", "/elsewhere");
    receiver.script([
        Reply::Status(400),
        Reply::Redirect(elsewhere.clone()),
        Reply::Status(410),
    ]);
    register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    for name in ["Uma A", "Uma B", "Uma C", "Uma D"] {
        rename(&app, t, name).await;
    }
    // 400, then the redirect (not followed), then 410 stops the endpoint: the fourth is never sent.
    let got = receiver.until("three answers", |r| r.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), 3, "nothing after the 410, and the redirect not followed");
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 302, 410]);
    let ep = first_endpoint_when(&app, t.account, |ep| ep["enabled"] == false).await;
    assert_eq!(ep["enabled"], false, "{ep}");
    assert!(ep["disabledReason"].as_str().unwrap().contains("410"), "{ep}");
    let d = ep["recentDeliveries"].as_array().unwrap();
    let states: Vec<(&str, &str)> = (d.iter())
        .filter(|d| d["attempts"] == 1)
        .map(|d| (d["state"].as_str().unwrap(), d["lastError"].as_str().unwrap()))
        .collect();
    assert_eq!(states.len(), 3, "{d:?}");
    assert!(states.iter().all(|(s, _)| *s == "FAILED"));
    assert!(states.iter().any(|(_, e)| e.contains("redirect")));
    assert!(
        !ep.to_string().contains(REMOTE_BODY),
        "the endpoint's words are never shown"
    );
    // The audit log shows Reach switching it off.
    let query = "query($a: ID!) { node(id: $a) { ... on Account { auditLog(first: 1, filter: {kinds: [WEBHOOK_ENDPOINT_UPDATED]}) {
        nodes { actor { kind name } changes { field newValue } } } } } }";
    let body = app
        .gql(&app.support(), query, json!({"a": gid(Kind::Account, t.account)}))
        .await;
    let entry = &body["data"]["node"]["auditLog"]["nodes"][0];
    assert_eq!(entry["actor"], json!({"kind": "SYSTEM", "name": "webhooks"}), "{body}");
}

async fn webhooks_switch_off_an_endpoint_failing_too_long(backend: Backend) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let app = spawn_app_with(backend, hooks).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    receiver.script([Reply::Status(503), Reply::Status(503)]);
    register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    rename(&app, t, "Uma Late").await;
    receiver.until("a first 503", |r| !r.is_empty()).await;
    // Once the first failure is recorded, it has been failing for four days (the setting: three).
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while endpoints(&app, t.account).await[0]["failingSince"].is_null() {
        assert!(std::time::Instant::now() < until, "the first failure is recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    entity::webhook_endpoint::Entity::update_many()
        .col_expr(
            entity::webhook_endpoint::Column::FailingSince,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(4)),
        )
        .filter(entity::webhook_endpoint::Column::AccountId.eq(t.account))
        .exec(&app.state.db)
        .await
        .unwrap();
    receiver.until("a second 503", |r| r.len() >= 2).await;
    let ep = first_endpoint_when(&app, t.account, |ep| ep["enabled"] == false).await;
    assert_eq!(ep["enabled"], false, "{ep}");
    assert!(ep["disabledReason"].as_str().unwrap().contains("failing since"), "{ep}");
    // Switched on again by an admin, the waiting delivery goes.
    let update = "mutation($i: WebhookEndpointUpdateInput!) { webhookEndpointUpdate(input: $i) {
        webhookEndpoint { enabled disabledReason failingSince } userErrors { code } } }";
    let body = app
        .gql(
            &app.token(t.dm),
            update,
            json!({"i": {"id": ep["id"], "enabled": true}}),
        )
        .await;
    assert_eq!(
        body["data"]["webhookEndpointUpdate"]["webhookEndpoint"],
        json!({"enabled": true, "disabledReason": null, "failingSince": null})
    );
    let got = receiver
        .until("the delivery after", |r| r.iter().any(|r| r.status == 200))
        .await;
    assert_eq!(got.last().unwrap().status, 200);
}

async fn webhooks_refuse_non_public_destinations(backend: Backend) {
    // The defaults: https only, no non-public address.
    let app = spawn_app_with(backend.clone(), |s| {
        hooks(s);
        s.plugins.webhooks.allow_http = false;
        s.plugins.webhooks.allow_destinations = Vec::new();
    })
    .await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("http://", "https://"),
        "https://10.0.0.8/hook".to_owned(),
        "https://169.254.169.254/latest".to_owned(),
        "https://[::1]/hook".to_owned(),
    ] {
        let body = app
            .gql(
                &app.token(t.dm),
                CREATE,
                json!({"i": {"accountId": gid(Kind::Account, t.account), "url": url}}),
            )
            .await;
        assert_eq!(
            codes(&body, "webhookEndpointCreate"),
            vec!["VALIDATION_FAILED"],
            "{url}: {body}"
        );
    }
    drop(app);
    // A name is checked where it is resolved: `localhost` is accepted at registration and every
    // delivery to it fails before any connection (the receiver on 127.0.0.1 hears nothing).
    let app = spawn_app_with(backend, |s| {
        hooks(s);
        s.plugins.webhooks.allow_destinations = Vec::new();
    })
    .await;
    let w = World::build(&app).await;
    let t = &w.a;
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap();
    register(
        &app,
        &app.token(t.dm),
        t.account,
        &format!("http://localhost:{port}/hook"),
        json!(["USER_UPDATED"]),
    )
    .await;
    rename(&app, t, "Uma Local").await;
    let ep = first_endpoint_when(&app, t.account, |ep| ep["recentDeliveries"][0]["state"] == "FAILED").await;
    let d = ep["recentDeliveries"][0].clone();
    assert_eq!(d["state"], "FAILED", "{d}");
    assert!(d["lastError"].as_str().unwrap().contains("allow_destinations"), "{d}");
    assert!(receiver.received().is_empty(), "no connection left Reach");
}

backend_tests!(
    webhooks_deliver_signed_events_in_log_order,
    webhooks_retry_5xx_429_and_a_dead_endpoint,
    webhooks_give_up_on_4xx_and_redirects_and_stop_on_410,
    webhooks_switch_off_an_endpoint_failing_too_long,
    webhooks_refuse_non_public_destinations,
);
