//! Webhooks across processes (`reach serve` run as real processes on the test's database): two
//! processes deliver 500 events each exactly once and in order, and a process killed (SIGKILL)
//! during an attempt loses nothing — the delivery is attempted again, under the same
//! `webhook-id`, once its lease runs out.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use api::{graphql::ids::Kind, policy::Principal, service::directory};
use entity::{PhoneProfile, WebhookDeliveryState, outbox_event, webhook_delivery};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use secrecy::ExposeSecret;
use serde_json::json;

use super::delivery::{hooks, register};
use crate::backend_tests;
use crate::harness::{
    app::*,
    receiver::{Receiver, Reply},
};
use crate::server::cli::{Server, listening, start, temp_dir};

/// A `reach serve` process on the app's database delivering webhooks (the other plugins off),
/// with a 1 s attempt timeout and a 2 s lease.
fn deliverer(app: &TestApp) -> Server {
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let env = [
        ("REACH_DATABASE_URL", url.as_str()),
        ("REACH_PLUGINS__POLL_INTERVAL_MS", "50"),
        ("REACH_PLUGINS__EMAIL__ENABLED", "false"),
        ("REACH_PLUGINS__PLATFORM__ENABLED", "false"),
        ("REACH_SUBSCRIPTIONS__ENABLED", "false"),
        ("REACH_PLUGINS__WEBHOOKS__ALLOW_HTTP", "true"),
        ("REACH_PLUGINS__WEBHOOKS__ALLOW_DESTINATIONS", r#"["127.0.0.0/8"]"#),
        ("REACH_PLUGINS__WEBHOOKS__TIMEOUT_MS", "1000"),
        ("REACH_PLUGINS__WEBHOOKS__LEASE_SECONDS", "2"),
        ("REACH_PLUGINS__WEBHOOKS__BACKOFF_INITIAL_SECONDS", "1"),
        ("REACH_PLUGINS__WEBHOOKS__BACKOFF_MAX_SECONDS", "2"),
    ];
    let (server, _, _) = listening(start(&temp_dir(), &[], &env));
    server
}

/// The in-process app: it makes the changes; only the child processes deliver.
fn changes_only(s: &mut api::config::Settings) {
    hooks(s);
    s.plugins.webhooks.enabled = false;
}

async fn webhooks_two_processes_deliver_each_event_once_in_order(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return; // several server processes on one database: the PostgreSQL set-up
    }
    let app = spawn_app_with(backend, changes_only).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_CREATED"]),
    )
    .await;
    let (_one, _two) = (deliverer(&app), deliverer(&app));
    let rows = (0..500)
        .map(|i| directory::UserFields {
            location_id: None,
            name: format!("Hooked {i:03}"),
            email: None,
            phone_number: None,
            extension: format!("{}", 6000 + i),
            phone_profile: PhoneProfile::Basic,
        })
        .collect();
    let s = Principal::Support { name: "fixture".into() };
    let cfg = &app.state.settings.remote_extension;
    directory::import_users(&app.state.db, &s, cfg, Some(t.account), rows)
        .await
        .unwrap();
    let logged: Vec<String> = outbox_event::Entity::find()
        .filter(outbox_event::Column::AccountId.eq(t.account))
        .filter(outbox_event::Column::EventType.eq("user.created"))
        .order_by_asc(outbox_event::Column::Position)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .skip(5) // the tenant's own five users came before the endpoint
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(logged.len(), 500);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut first_seen: Vec<String> = Vec::new();
    loop {
        first_seen.clear();
        for r in receiver.received() {
            let id = r.header("webhook-id").to_owned();
            if !first_seen.contains(&id) {
                first_seen.push(id);
            }
        }
        if first_seen.len() >= 500 {
            break;
        }
        assert!(Instant::now() < deadline, "{} of 500 delivered", first_seen.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(first_seen, logged, "each event once, in the log's order");
    let received = receiver.received().len();
    // At least once: a repeat is allowed only for an attempt whose answer was lost, and none
    // was here.
    assert_eq!(received, 500, "no delivery was attempted twice");
    let done = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::State.eq(WebhookDeliveryState::Succeeded))
        .all(&app.state.db)
        .await
        .unwrap()
        .len();
    assert_eq!(done, 500);
}

async fn webhooks_a_killed_process_loses_nothing(backend: Backend) {
    let app = spawn_app_with(backend, changes_only).await;
    let w = World::build(&app).await;
    let t = &w.a;
    let receiver = Receiver::start().await;
    // The first attempt is answered after 800 ms: the process is killed before.
    receiver.script([Reply::Delay(Duration::from_millis(800))]);
    register(
        &app,
        &app.token(t.dm),
        t.account,
        &receiver.url,
        json!(["USER_UPDATED"]),
    )
    .await;
    let first = deliverer(&app);
    let rename = "mutation($u: ID!) { userUpdate(input: {id: $u, name: \"Uma Killed\"}) { userErrors { code } } }";
    let body = app
        .gql(&app.token(t.dm), rename, json!({"u": gid(Kind::User, t.user1)}))
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    receiver.until("the first attempt", |r| !r.is_empty()).await;
    drop(first); // SIGKILL, mid-attempt
    let d = webhook_delivery::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.state, WebhookDeliveryState::Pending, "not settled: {d:?}");
    assert!(d.lease_owner.is_some());
    let _second = deliverer(&app);
    let got = receiver.until("the attempt again", |r| r.len() >= 2).await;
    assert_eq!(
        got[0].header("webhook-id"),
        got[1].header("webhook-id"),
        "the same message"
    );
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(1500),
        "after the lease ran out"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = webhook_delivery::Entity::find()
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        if d.state == WebhookDeliveryState::Succeeded {
            break;
        }
        assert!(Instant::now() < deadline, "{d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

backend_tests!(
    webhooks_two_processes_deliver_each_event_once_in_order,
    webhooks_a_killed_process_loses_nothing,
);
