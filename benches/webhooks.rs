//! Webhook throughput (issue 20): 1,000 events of one account delivered to one endpoint (a local
//! HTTP receiver that answers 200 at once), against a bare HTTP client loop posting the same
//! 1,000 bodies, signed, to the same receiver, one after another as an endpoint gets them. On
//! SQLite, then on a fresh PostgreSQL database when `REACH_TEST_POSTGRES_URL` names an admin
//! database.
//!
//! Reach's time runs from the commit of a 1,000-user import (1,000 `user.created` events, one
//! statement) to the receiver holding all 1,000: the plugin's feed reading the log, queueing,
//! and the workers claiming, posting, and recording each attempt. Rounds alternate floor and
//! Reach; the table gives medians. Run:
//! `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench webhooks`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use api::{
    config::Settings,
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        webhooks::{self, NewEndpoint, sign},
    },
    startup::Application,
};
use axum::{Router, routing::post};
use entity::{PhoneProfile, Platform};
use support::machine;

const EVENTS: usize = 1_000;
const ROUNDS: usize = 5;

fn settings(database_url: String) -> Settings {
    let mut s = support::quiet_settings(database_url);
    s.plugins.webhooks.enabled = true;
    s.plugins.poll_interval_ms = 50;
    s.plugins.webhooks.allow_http = true;
    s.plugins.webhooks.allow_destinations = vec!["127.0.0.0/8".into()];
    s
}

/// A receiver that counts what it gets and answers 200.
async fn receiver() -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let app = Router::new().route(
        "/hook",
        post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), count)
}

async fn wait_for(count: &AtomicU64, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while count.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} arrived",
            count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run(label: &str, url: String) {
    let app = Application::build(settings(url), false)
        .await
        .expect("the server starts");
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let s = Principal::Support { name: "bench".into() };
    let new = NewAccount {
        name: "Hooked".into(),
        platform: Platform::MicloudConnect,
        destination_codes: None,
        extension_length: None,
    };
    let account = directory::create_account(&state.db, &s, new).await.unwrap();
    let (hook, count) = receiver().await;
    let endpoint = NewEndpoint {
        url: hook.clone(),
        description: "bench".into(),
        event_kinds: vec!["user.created".into()],
    };
    let settings = &state.settings.plugins.webhooks;
    let (_, secret) = webhooks::create(&state.db, &s, &state.token_key, settings, Some(account.id), endpoint)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let body = webhooks::body(
        "user.created",
        chrono::Utc::now(),
        &serde_json::json!({"payload": {"name": "Hooked Person 00000", "extension": "100000"}}),
    );
    let (mut floor, mut reach) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // The floor: one request after another, signed, to the same receiver.
        let before = count.load(Ordering::SeqCst);
        let started = Instant::now();
        for i in 0..EVENTS {
            let id = format!("floor-{round}-{i}");
            let ts = chrono::Utc::now().timestamp();
            let signature = sign::header(&[secret.as_str()], &id, ts, &body);
            let resp = client
                .post(&hook)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
        }
        floor.push(started.elapsed());
        assert_eq!(count.load(Ordering::SeqCst), before + EVENTS as u64);
        // Reach: 1,000 users imported in one statement; the receiver gets their events.
        let rows = (0..EVENTS)
            .map(|i| UserFields {
                location_id: None,
                name: format!("Hooked Person {round}-{i:04}"),
                email: None,
                phone_number: None,
                extension: format!("{}", 100_000 + round * EVENTS + i),
                phone_profile: PhoneProfile::Basic,
            })
            .collect();
        let before = count.load(Ordering::SeqCst);
        let cfg = &state.settings.remote_extension;
        let started = Instant::now();
        directory::import_users(&state.db, &s, cfg, Some(account.id), rows)
            .await
            .unwrap();
        state.wake.notify();
        wait_for(&count, before + EVENTS as u64).await;
        reach.push(started.elapsed());
    }
    let (f, r) = (median(floor), median(reach));
    let per_s = |d: Duration| EVENTS as f64 / d.as_secs_f64();
    println!("\n### {label}\n");
    println!("| {EVENTS} events to one endpoint, medians of {ROUNDS} | ms | events/s | ÷ floor |");
    println!("|---|---:|---:|---:|");
    println!(
        "| floor: a bare HTTP client loop, signed, one request after another | {:.0} | {:.0} | 1.00× |",
        f.as_secs_f64() * 1000.0,
        per_s(f)
    );
    println!(
        "| Reach: import committed → all delivered (feed, queue, claim, post, record) | {:.0} | {:.0} | {:.2}× |",
        r.as_secs_f64() * 1000.0,
        per_s(r),
        r.as_secs_f64() / f.as_secs_f64()
    );
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    println!("## Webhooks benchmark (issue 20)\n");
    println!(
        "{}; release build; Reach, receiver and floor in one process.",
        machine()
    );
    support::on_each_database(run).await;
    println!("\nAt the end: {}.", machine());
}
