//! The platform connector (SPEC E3) against a real HTTP server standing in for the platform
//! (`harness/fake_platform.rs`): the adapter contract — pages, create (and `409`), delete (and
//! `404`) — and every fault: `5xx` retried up to the limit, `4xx` not retried, timeouts, garbage
//! and truncated JSON, each a typed error — and the outbound policy (issue 16 item 6): plain http
//! and non-public destinations refused before any packet is sent, redirects not followed, replies
//! capped, and errors in Reach's words. Every server here listens on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use integrations::{
    outbound::{Allowed, OutboundPolicy},
    platform::{ConnectorSettings, Created, NewPlatformNumber, PlatformConnector, PlatformError, http::HttpConnector},
};
use secrecy::SecretString;

use crate::harness::fake_platform::{FakePlatform, Fault};

const TOKEN: &str = "platform-secret";

/// Plain http to loopback allowed, as the fake platform needs.
fn settings() -> ConnectorSettings {
    ConnectorSettings {
        timeout_ms: 500,
        max_attempts: 3,
        backoff_initial_ms: 10,
        page_size: 100,
        outbound: OutboundPolicy {
            allow_http: true,
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
            max_reply_bytes: 1024 * 1024,
        },
    }
}

/// `settings()` with this policy.
fn with_policy(outbound: OutboundPolicy) -> ConnectorSettings {
    ConnectorSettings { outbound, ..settings() }
}

fn connector(platform: &FakePlatform, account: &str) -> HttpConnector {
    HttpConnector::new(&platform.url, SecretString::from(TOKEN), account, settings()).unwrap()
}

/// Every item of the account, page after page.
async fn all(c: &HttpConnector, limit: u32) -> Result<Vec<String>, PlatformError> {
    let mut cursor: Option<String> = None;
    let mut numbers = Vec::new();
    loop {
        let page = c.list(cursor.as_deref(), limit).await?;
        numbers.extend(page.items.into_iter().map(|i| i.number));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(numbers),
        }
    }
}

#[tokio::test]
async fn e3_the_connector_pages_through_one_accounts_numbers() {
    let platform = FakePlatform::start(TOKEN).await;
    for i in 0..250 {
        platform.add(
            "acme",
            &format!("{}", 2000 + i % 5),
            &format!("070{i:07}"),
            Some("desk"),
        );
    }
    platform.add("other", "2000", "0709999999", None);
    let c = connector(&platform, "acme");
    let mut numbers = all(&c, 100).await.unwrap();
    numbers.sort();
    assert_eq!(numbers.len(), 250);
    assert_eq!(numbers, platform.numbers("acme"));
    let requests = platform.requests();
    assert_eq!(requests.len(), 3, "three pages of 100: {requests:?}");
    assert_eq!(requests[0], "GET /v1/remote-extensions?account=acme&limit=100");
    assert_eq!(
        requests[1],
        "GET /v1/remote-extensions?account=acme&cursor=100&limit=100"
    );
    let first = c.list(None, 1).await.unwrap();
    assert_eq!(first.items[0].user_ref, "2000");
    assert_eq!(first.items[0].label.as_deref(), Some("desk"));
}

#[tokio::test]
async fn e3_create_and_delete_follow_the_contract() {
    let platform = FakePlatform::start(TOKEN).await;
    let c = connector(&platform, "acme");
    let new = NewPlatformNumber {
        user_ref: "2001".into(),
        number: "0701234567".into(),
        label: Some("Home".into()),
        ringing: Default::default(),
    };
    let Created::New(id) = c.create(&new).await.unwrap() else {
        panic!("expected a new id");
    };
    assert_eq!(platform.numbers("acme"), ["0701234567"]);
    assert_eq!(c.create(&new).await.unwrap(), Created::AlreadyExists, "409");
    c.delete(&id).await.unwrap();
    assert!(platform.numbers("acme").is_empty());
    c.delete(&id).await.unwrap(); // 404: gone already, done
    c.delete("a/b c").await.unwrap(); // an id that needs encoding is one path segment
    assert!(
        platform
            .requests()
            .contains(&"DELETE /v1/remote-extensions/a/b c".to_owned()),
        "{:?}",
        platform.requests()
    );
}

#[tokio::test]
async fn e3_transient_failures_are_retried_up_to_the_limit_and_refusals_are_not() {
    let platform = FakePlatform::start(TOKEN).await;
    platform.add("acme", "2001", "0701111111", None);
    let c = connector(&platform, "acme");

    // Two 503s, then the answer: the third try succeeds.
    platform.fail_next(&[Fault::Status(503), Fault::Status(503)]);
    assert_eq!(all(&c, 10).await.unwrap(), ["0701111111"]);
    assert_eq!(platform.requests().len(), 3);

    // Three 500s: the limit (3 tries), then a typed, transient error.
    platform.fail_next(&[Fault::Status(500), Fault::Status(500), Fault::Status(500)]);
    let err = c.list(None, 10).await.unwrap_err();
    assert_eq!(err, PlatformError::Status(500));
    assert!(err.is_transient());
    assert_eq!(platform.requests().len(), 6);

    // A refusal is not retried.
    platform.fail_next(&[Fault::Status(400)]);
    assert_eq!(c.list(None, 10).await.unwrap_err(), PlatformError::Status(400));
    assert_eq!(platform.requests().len(), 7);

    // A wrong token: 401, not retried, not transient.
    let wrong = HttpConnector::new(&platform.url, SecretString::from("nope"), "acme", settings()).unwrap();
    let err = wrong.list(None, 10).await.unwrap_err();
    assert_eq!(err, PlatformError::Status(401));
    assert!(!err.is_transient());
    assert_eq!(platform.requests().len(), 8);
}

#[tokio::test]
async fn e3_slow_garbage_and_truncated_answers_are_typed_errors() {
    let platform = FakePlatform::start(TOKEN).await;
    platform.add("acme", "2001", "0701111111", None);
    let c = connector(&platform, "acme");

    // Slower than the timeout every time: three tries, then Timeout, within bounded time.
    let slow = Fault::Delay(Duration::from_millis(800));
    platform.fail_next(&[slow.clone(), slow.clone(), slow]);
    let started = Instant::now();
    assert_eq!(c.list(None, 10).await.unwrap_err(), PlatformError::Timeout(500));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    platform.fail_next(&[Fault::Garbage]);
    assert_eq!(c.list(None, 10).await.unwrap_err(), PlatformError::Malformed);
    platform.fail_next(&[Fault::Truncated]);
    let err = c.list(None, 10).await.unwrap_err();
    assert_eq!(err, PlatformError::Malformed);
    assert!(!err.is_transient());
    // A garbage answer to a create is an error too, not a made-up id.
    platform.fail_next(&[Fault::Truncated]);
    let new = NewPlatformNumber {
        user_ref: "2001".into(),
        number: "0702222222".into(),
        label: None,
        ringing: Default::default(),
    };
    assert_eq!(c.create(&new).await.unwrap_err(), PlatformError::Malformed);

    // Nobody listening: unreachable, transient.
    let (_held, port) = crate::harness::smtp_sink::closed_port();
    let closed = format!("http://127.0.0.1:{port}");
    let gone = HttpConnector::new(&closed, SecretString::from(TOKEN), "acme", settings()).unwrap();
    let err = gone.list(None, 10).await.unwrap_err();
    assert!(err == PlatformError::Unreachable && err.is_transient(), "{err:?}");
    // issue 16 item 6: a closed port and a slow platform read the same (no port scanner).
    assert_eq!(err.to_string(), PlatformError::Timeout(500).to_string());
    // And a base URL that is not HTTP is refused up front.
    assert!(HttpConnector::new("ftp://x", SecretString::from(TOKEN), "acme", settings()).is_err());
}

// issue 16 item 6: plain http, and an address in the URL that the policy refuses, are refused
// when the connector is made: no request is sent.
#[tokio::test]
async fn outbound_plain_http_and_unlisted_addresses_are_refused_before_any_request() {
    let platform = FakePlatform::start(TOKEN).await;
    let make = |policy: OutboundPolicy| {
        HttpConnector::new(&platform.url, SecretString::from(TOKEN), "acme", with_policy(policy)).map(|_| ())
    };
    assert_eq!(make(OutboundPolicy::default()), Err(PlatformError::NotAllowed), "http");
    let http_only = OutboundPolicy {
        allow_http: true,
        ..Default::default()
    };
    assert_eq!(make(http_only), Err(PlatformError::NotAllowed), "127.0.0.1 not listed");
    let v6_only = OutboundPolicy {
        allow_http: true,
        allowed: vec!["::1".parse().unwrap()],
        ..Default::default()
    };
    assert_eq!(make(v6_only), Err(PlatformError::NotAllowed), "only what is listed");
    assert!(platform.requests().is_empty(), "{:?}", platform.requests());
    assert!(make(settings().outbound).is_ok());
}

// issue 16 item 6: a name that resolves to a refused address is refused when the client
// resolves it — the check runs on the addresses connected to, so a rebind cannot slip by.
#[tokio::test]
async fn outbound_a_name_resolving_to_loopback_is_refused_at_connect_time() {
    let platform = FakePlatform::start(TOKEN).await;
    platform.add("acme", "2001", "0701111111", None);
    let by_name = platform.url.replace("127.0.0.1", "localhost");
    let http_only = OutboundPolicy {
        allow_http: true,
        ..Default::default()
    };
    let c = HttpConnector::new(&by_name, SecretString::from(TOKEN), "acme", with_policy(http_only)).unwrap();
    let err = c.list(None, 10).await.unwrap_err();
    assert_eq!(err, PlatformError::NotAllowed);
    assert!(!err.is_transient(), "not tried again");
    assert!(platform.requests().is_empty(), "{:?}", platform.requests());
    // Listing the name lets it through: the refusal above was the policy's.
    let listed = OutboundPolicy {
        allow_http: true,
        allowed: vec![Allowed::Host("localhost".into())],
        ..Default::default()
    };
    let c = HttpConnector::new(&by_name, SecretString::from(TOKEN), "acme", with_policy(listed)).unwrap();
    assert_eq!(all(&c, 10).await.unwrap(), ["0701111111"]);
}

// issue 16 item 6: a redirect is an answer, not a place to go.
#[tokio::test]
async fn outbound_redirects_are_not_followed() {
    let platform = FakePlatform::start(TOKEN).await;
    let elsewhere = FakePlatform::start(TOKEN).await;
    let c = connector(&platform, "acme");
    platform.fail_next(&[Fault::Redirect(format!(
        "{}/v1/remote-extensions?account=acme",
        elsewhere.url
    ))]);
    assert_eq!(c.list(None, 10).await.unwrap_err(), PlatformError::Status(302));
    assert_eq!(platform.requests().len(), 1);
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
}

// issue 16 item 6: a reply over the cap is given up on, announced or not.
#[tokio::test]
async fn outbound_replies_over_the_cap_are_cut() {
    let platform = FakePlatform::start(TOKEN).await;
    let c = connector(&platform, "acme");
    let cap = settings().outbound.max_reply_bytes;
    // 256 MiB without a Content-Length: stopped after the first MiB.
    platform.fail_next(&[Fault::Endless]);
    let started = Instant::now();
    assert_eq!(c.list(None, 10).await.unwrap_err(), PlatformError::TooLarge(cap));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // With a Content-Length over the cap.
    let big = format!("{{\"items\": [], \"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    platform.fail_next(&[Fault::Body(200, big)]);
    let err = c.list(None, 10).await.unwrap_err();
    assert_eq!(err, PlatformError::TooLarge(cap));
    assert!(err.to_string().starts_with("PLATFORM_REPLY_TOO_LARGE"), "{err}");
    assert_eq!(platform.requests().len(), 2, "not tried again");
}

// issue 16 item 6: nothing the platform wrote reaches the error's text.
#[tokio::test]
async fn outbound_errors_never_quote_the_reply() {
    const MARKER: &str = "SSRF-MARKER-5b1e";
    let platform = FakePlatform::start(TOKEN).await;
    let c = connector(&platform, "acme");
    let quoting = format!("{{\"items\": \"{MARKER}\", \"nextCursor\": {{\"{MARKER}\": 1}}}}");
    let failing = Fault::Body(500, format!("<h1>{MARKER}</h1>"));
    let cases = [
        vec![Fault::Body(200, quoting)],
        vec![Fault::Body(200, format!("{MARKER} not json"))],
        vec![failing.clone(), failing.clone(), failing],
        vec![Fault::Body(409, MARKER.into())],
    ];
    for faults in cases {
        platform.fail_next(&faults);
        let err = c.list(None, 10).await.unwrap_err();
        assert!(!format!("{err} {err:?}").contains(MARKER), "{err:?}");
    }
}
