//! The figures subscriptions, the plugins' log cursors, SMTP sends and platform sync runs add to
//! `/metrics`, each moved by a real cause: a websocket subscriber that takes one event and falls
//! behind on the next, a plugin whose lease another process holds, mail to a real SMTP server
//! that answers 4xx once and 5xx for one recipient, and sync runs against the fake platform.

use std::time::Duration;

use api::{graphql::ids::Kind, live::Topic};
use chrono::Utc;
use entity::plugin_cursor;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use super::{sample, scrape_until};
use crate::{
    backend_tests,
    harness::{
        app::*,
        email::*,
        fake_platform::{FakePlatform, Fault},
        remote::*,
        smtp_sink::{Behaviour, SmtpSink},
        ws_client::{Incoming, Proto, WsClient},
    },
};

const ACTIVE: &str = "subscription { activeStatusChanged { activeStatus { id name } } }";
const NUMBERS: &str = "subscription { userNumbersChanged { change userNumber { id number } } }";

/// `name`'s value in `text`, 0 when absent.
fn value(text: &str, name: &str) -> f64 {
    sample(text, name).unwrap_or(0.0)
}

// Open subscriptions, events handed to them, their lag, and a slow consumer dropped.
async fn subscriptions_are_counted_open_fed_and_dropped_when_behind(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.subscriptions.buffer = 1).await;
    let w = RemoteWorld::build(&app).await;
    let user = w.c.user1;
    let re = provision_admin(&app, user, "0701110004").await;
    let read = read_user(&app, &app.support(), user).await;
    let available = read["dynamicStatuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Available")
        .unwrap_or_else(|| panic!("{read}"))["id"]
        .clone();
    app.quiesce().await;
    let mut ws = WsClient::ready(&app.address, Proto::TransportWs, &app.token(user)).await;
    ws.subscribe("n", NUMBERS, json!({})).await;
    ws.subscribe("a", ACTIVE, json!({})).await;
    app.watching(Topic::UserNumbers(user), 1).await;
    app.watching(Topic::ActiveStatus(user), 1).await;
    let text = scrape_until(&app, "two open", |t| value(t, "reach_subscriptions_open") == 2.0).await;
    assert_eq!(value(&text, "reach_subscription_events_published_total"), 0.0, "{text}");
    assert_eq!(value(&text, "reach_subscription_lag_seconds_count"), 0.0, "{text}");
    assert_eq!(value(&text, "reach_subscription_slow_consumers_total"), 0.0, "{text}");

    // One commit, two events for `n` (the status changed, and so did the active remote
    // extension) faster than a queue of one takes them: `n` takes one and is dropped on the
    // second; `a` takes its one event.
    let r = rcall(
        &app,
        &app.support(),
        "dynamicStatusUpdate",
        json!({"id": available, "remoteExtensionId": re}),
    )
    .await;
    assert!(rcodes(&r).is_empty(), "{r}");
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(ws.next(Duration::from_secs(10)).await);
    }
    assert!(got.contains(&Incoming::Complete("n".into())), "{got:?}");
    let text = scrape_until(&app, "one slow consumer", |t| {
        value(t, "reach_subscription_slow_consumers_total") == 1.0
    })
    .await;
    assert_eq!(value(&text, "reach_subscription_events_published_total"), 2.0, "{text}");
    // Each taken from its queue: `n`'s first and `a`'s, within a minute of their commit.
    assert_eq!(value(&text, "reach_subscription_lag_seconds_count"), 2.0, "{text}");
    let lag = value(&text, "reach_subscription_lag_seconds_sum");
    assert!((0.0..120.0).contains(&lag), "{text}");
    assert_eq!(
        value(&text, r#"reach_subscription_lag_seconds_bucket{le="+Inf"}"#),
        2.0,
        "{text}"
    );
    // `n` ended; `a` stays open until the socket closes.
    assert_eq!(value(&text, "reach_subscriptions_open"), 1.0, "{text}");
    drop(ws);
    scrape_until(&app, "none open", |t| value(t, "reach_subscriptions_open") == 0.0).await;
}

/// Sets the email plugin's lease: held by another process for an hour, or free (`None`).
async fn lease_email_plugin(app: &TestApp, elsewhere: Option<&str>) {
    let until = match elsewhere {
        Some(_) => Utc::now() + chrono::Duration::hours(1),
        None => Utc::now() - chrono::Duration::seconds(1),
    };
    let done = plugin_cursor::Entity::update_many()
        .col_expr(
            plugin_cursor::Column::LeaseOwner,
            Expr::value(elsewhere.map(str::to_owned)),
        )
        .col_expr(plugin_cursor::Column::LeaseUntil, Expr::value(until))
        .filter(plugin_cursor::Column::Plugin.eq("email"))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 1);
}

// A plugin's lag in seconds: the age of the oldest event it has not handled.
async fn a_stalled_plugin_lags_in_seconds(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = r#"reach_plugin_lag_seconds{plugin="email"}"#;
    scrape_until(&app, "the email plugin's cursor", |t| sample(t, email) == Some(0.0)).await;
    // Another process holds the email plugin's lease and handles nothing; events go on.
    lease_email_plugin(&app, Some("stalled-elsewhere")).await;
    World::build(&app).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let text = scrape_until(&app, "lag", |t| value(t, email) >= 1.0).await;
    assert!(value(&text, email) < 120.0, "{text}");
    assert!(
        value(&text, r#"reach_plugin_lag_events{plugin="email"}"#) > 0.0,
        "{text}"
    );
    // The lease is free again: this process takes it and catches up.
    lease_email_plugin(&app, None).await;
    let text = scrape_until(&app, "caught up", |t| value(t, email) == 0.0).await;
    assert_eq!(
        value(&text, r#"reach_plugin_lag_events{plugin="email"}"#),
        0.0,
        "{text}"
    );
}

// Each SMTP send is timed, and its failures counted by class.
async fn smtp_sends_are_timed_and_failures_classed(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |_| {}).await;
    let mut m = MailWorld::build(&app).await;
    let failures = |class: &str| format!("reach_email_send_failures_total{{class=\"{class}\"}}");
    let text = scrape_until(&app, "no sends yet", |t| sample(t, &failures("transient")) == Some(0.0)).await;
    assert_eq!(value(&text, "reach_email_send_duration_seconds_count"), 0.0, "{text}");
    // The next RCPT is answered 4xx (that one is tried again), `pm` always 5xx.
    sink.set_behaviour(Behaviour {
        transient_failures: 1,
        reject: vec![m.pm_email.to_lowercase()],
        ..Default::default()
    });
    let body = m.change(&app, "5550000002").await;
    assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    let rows = wait_deliveries(&app, m.w.a.account, Duration::from_secs(30), |r| {
        by_status(r) == [("SENT".into(), 1), ("FAILED".into(), 1), ("SKIPPED".into(), 1)].into()
    })
    .await;
    assert_eq!(to(&rows, &m.user1_email)["status"], "SENT");
    // Three sends: the one refused for now, the one refused for good, and the one sent.
    let text = scrape_until(&app, "three sends", |t| {
        value(t, "reach_email_send_duration_seconds_count") == 3.0
    })
    .await;
    assert!(value(&text, "reach_email_send_duration_seconds_sum") > 0.0, "{text}");
    assert_eq!(value(&text, &failures("transient")), 1.0, "{text}");
    assert_eq!(value(&text, &failures("permanent")), 1.0, "{text}");
    for class in ["session", "connection", "timeout"] {
        assert_eq!(value(&text, &failures(class)), 0.0, "{class}: {text}");
    }
}

const TOKEN: &str = "platform-token-7f3a";
const PLATFORM_ACCOUNT: &str = "gamma-nordic";

// A sync run's duration by outcome, the numbers it read, and what it changed.
async fn sync_runs_are_timed_and_their_numbers_counted(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.plugins.poll_interval_ms = 50;
        s.plugins.email.enabled = false;
        let p = &mut s.plugins.platform;
        (p.timeout_ms, p.max_attempts, p.backoff_initial_ms, p.page_size) = (300, 2, 10, 3);
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    // One number for a user of the account, one for a user Reach does not know.
    platform.add(PLATFORM_ACCOUNT, "3003", "0704000001", None);
    platform.add(PLATFORM_ACCOUNT, "9999", "0704000099", None);
    let runs = |outcome: &str| format!("reach_platform_sync_run_duration_seconds_count{{outcome=\"{outcome}\"}}");
    let created = r#"reach_platform_sync_changes_total{change="created"}"#;
    let text = scrape_until(&app, "no runs yet", |t| sample(t, &runs("succeeded")) == Some(0.0)).await;
    assert_eq!(value(&text, created), 0.0, "{text}");
    // The connection makes a run due at once.
    let connect =
        "mutation($i: PlatformConnectionSetInput!) { platformConnectionSet(input: $i) { userErrors { code } } }";
    let account = gid(Kind::Account, w.c.account);
    let body = app
        .gql(
            &app.support(),
            connect,
            json!({"i": {"accountId": account, "baseUrl": platform.url, "token": TOKEN,
                "platformAccount": PLATFORM_ACCOUNT}}),
        )
        .await;
    assert_eq!(codes(&body, "platformConnectionSet"), Vec::<String>::new());
    let text = scrape_until(&app, "a run succeeded", |t| value(t, &runs("succeeded")) == 1.0).await;
    assert_eq!(value(&text, "reach_platform_sync_run_numbers_count"), 1.0, "{text}");
    assert_eq!(value(&text, "reach_platform_sync_run_numbers_sum"), 2.0, "{text}");
    assert_eq!(value(&text, created), 1.0, "{text}");
    assert_eq!(value(&text, &runs("failed")), 0.0, "{text}");
    // The platform fails every try of the next run's listing: the run fails, and is timed so.
    platform.fail_next(&vec![Fault::Status(503); 4]);
    let ask = "mutation($i: PlatformSyncRunInput!) { platformSyncRun(input: $i) { created userErrors { code } } }";
    let body = app.gql(&app.support(), ask, json!({"i": {"accountId": account}})).await;
    assert_eq!(body["data"]["platformSyncRun"]["created"], true, "{body}");
    let text = scrape_until(&app, "a run failed", |t| value(t, &runs("failed")) >= 1.0).await;
    assert_eq!(value(&text, &runs("succeeded")), 1.0, "{text}");
    assert_eq!(value(&text, created), 1.0, "{text}");
}

backend_tests!(
    subscriptions_are_counted_open_fed_and_dropped_when_behind,
    a_stalled_plugin_lags_in_seconds,
    smtp_sends_are_timed_and_failures_classed,
    sync_runs_are_timed_and_their_numbers_counted,
);
