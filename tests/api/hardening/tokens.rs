//! Issue 16 items 7 and 10 (part): token clock rules (no `exp` leeway by default, a few seconds
//! of `nbf` skew, a maximum lifetime that `reach token` keeps to too), one rate-limit bucket per
//! user whatever spelling of the id, and the warning about a generated signing secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, BufReader, Read},
    process::Stdio,
};

use chrono::Utc;
use serde_json::json;

use crate::backend_tests;
use crate::harness::app::*;
use crate::server::auth::{claims, server_secret, sign};
use crate::server::cli::{Server, reach, temp_dir};

const VIEWER: &str = "{ viewer { kind } }";

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.post(token, VIEWER, json!({})).await.0
}

// issue 16 item 7: the clock rules, each one way and the other.
async fn token_clock_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = server_secret(&app).await;
    let now = Utc::now().timestamp();
    let token = |overrides| sign(&claims(&app, overrides), &secret);

    assert_eq!(status_of(&app, &token(json!({}))).await, 200, "the control passes");
    let expired = token(json!({"iat": now - 600, "nbf": now - 600, "exp": now - 5}));
    assert_eq!(status_of(&app, &expired).await, 401, "expired 5 s ago: no leeway");
    let early = token(json!({"nbf": now + 20}));
    assert_eq!(status_of(&app, &early).await, 401, "nbf 20 s ahead");
    let skewed = token(json!({"nbf": now + 2, "iat": now + 2}));
    assert_eq!(status_of(&app, &skewed).await, 200, "nbf 2 s ahead is clock skew");
    let day = 24 * 3600;
    let full_day = token(json!({"exp": now + day}));
    assert_eq!(status_of(&app, &full_day).await, 200, "a lifetime of exactly 24 h");
    let too_long = token(json!({"exp": now + day + 60}));
    assert_eq!(status_of(&app, &too_long).await, 401, "exp - iat over 24 h");
    // A future `iat` would let a token live past the maximum from now.
    let later_iat = token(json!({"iat": now + 3600, "exp": now + 3600 + 600}));
    assert_eq!(status_of(&app, &later_iat).await, 401, "iat in the future");
    let mut no_iat = claims(&app, json!({}));
    no_iat.as_object_mut().unwrap().remove("iat");
    assert_eq!(status_of(&app, &sign(&no_iat, &secret)).await, 401, "iat is required");
}

// issue 16 item 7: the leeways and the maximum are settings.
async fn token_clock_rules_follow_the_settings(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.token_exp_leeway_seconds = 30;
        s.token_nbf_leeway_seconds = 0;
        s.token_max_ttl_seconds = 3600;
        s.token_ttl_seconds = 3600;
    })
    .await;
    let secret = server_secret(&app).await;
    let now = Utc::now().timestamp();
    let token = |overrides| sign(&claims(&app, overrides), &secret);
    let lately = token(json!({"iat": now - 600, "nbf": now - 600, "exp": now - 20}));
    assert_eq!(status_of(&app, &lately).await, 200, "within a 30 s exp leeway");
    let early = token(json!({"nbf": now + 3}));
    assert_eq!(status_of(&app, &early).await, 401, "no nbf skew allowed");
    let long = token(json!({"exp": now + 3700}));
    assert_eq!(status_of(&app, &long).await, 401, "over a 1 h maximum");
    // A websocket admits the late token as HTTP does, and closes when its leeway runs out
    // (about 10 s from the start of this test).
    let mut ws = crate::harness::ws_client::WsClient::ready(
        &app.address,
        crate::harness::ws_client::Proto::TransportWs,
        &lately,
    )
    .await;
    let (code, _) = ws.closed(std::time::Duration::from_secs(20)).await;
    assert_eq!(code, 4403, "closed when the token's leeway ends");
    // HTTP kept what its signature says since it passed above (issue 17), and still refuses it
    // once its leeway has run out (the leeway's last second included, as jsonwebtoken counts).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status_of(&app, &lately).await, 401, "refused once its leeway ends");
}

// issue 16 item 7: `sub` spelt in upper case names the same user, and so the same bucket.
async fn one_rate_limit_bucket_per_user(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.limits.rate_limit_per_second = 1;
        s.limits.rate_limit_burst = 2;
    })
    .await;
    let world = World::build(&app).await;
    let secret = server_secret(&app).await;
    let user = world.a.user1;
    let as_user = |sub: String| {
        sign(
            &claims(&app, json!({"kind": "user", "sub": sub, "name": null})),
            &secret,
        )
    };
    let lower = as_user(user.to_string());
    let upper = as_user(user.to_string().to_uppercase());
    assert_eq!(status_of(&app, &upper).await, 200, "an upper-case sub is the same user");
    assert_eq!(status_of(&app, &lower).await, 200);
    // The burst is spent by the two spellings together.
    assert_eq!(status_of(&app, &upper).await, 429, "one bucket for both spellings");
    assert_eq!(status_of(&app, &lower).await, 429);
    // Another user is not held up.
    assert_eq!(status_of(&app, &app.token(world.a.user2)).await, 200);
}

// issue 16 item 7: `reach token` will not mint what the server would refuse.
#[test]
fn token_command_refuses_a_ttl_over_the_maximum() {
    let dir = temp_dir();
    let out = reach(&dir)
        .args(["token", "--support", "--ttl", "999999"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ttl") && err.contains("token_max_ttl_seconds"), "{err}");
    assert!(out.stdout.is_empty(), "no token printed");
    let out = reach(&dir)
        .args(["token", "--support", "--ttl", "86400"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

// issue 16 item 10: `reach serve` on PostgreSQL without REACH_JWT_SECRET warns, on stderr;
// SQLite (the demo store) and a set secret stay quiet.
async fn serve_warns_about_a_generated_secret(backend: Backend) {
    use secrecy::ExposeSecret;
    let postgres = matches!(backend, Backend::Postgres(_));
    let (settings, _database) = fresh_database(&backend).await;
    let url = settings.database_url.expose_secret().to_owned();
    let stderr_of = |secret: Option<&str>| {
        let mut cmd = reach(&temp_dir());
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .env("REACH_DATABASE_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(secret) = secret {
            cmd.env("REACH_JWT_SECRET", secret);
        }
        let mut server = Server(cmd.spawn().unwrap());
        let stdout = server.0.stdout.take().unwrap();
        let listening = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.starts_with("listening on "));
        assert!(listening, "the server started");
        let mut stderr = server.0.stderr.take().unwrap();
        drop(server);
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    };
    let warned = stderr_of(None).contains("REACH_JWT_SECRET is not set");
    assert_eq!(warned, postgres, "warning only on PostgreSQL");
    let quiet = stderr_of(Some("a-secret-of-at-least-thirty-two-characters"));
    assert!(!quiet.contains("REACH_JWT_SECRET is not set"), "{quiet}");
}

backend_tests!(
    token_clock_rules,
    token_clock_rules_follow_the_settings,
    one_rate_limit_bucket_per_user,
    serve_warns_about_a_generated_secret,
);
