//! A real HTTP server standing in for an account's webhook endpoint: it records every request
//! (headers and body) and answers each with the next scripted reply (then 200).

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status, with a body of the endpoint's own (Reach must never show it).
    Status(u16),
    /// This status and `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
    /// `302 Found` to this URL.
    Redirect(String),
    /// `200`, after this long (recorded when it arrives).
    Delay(std::time::Duration),
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: String,
    /// When it arrived.
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

/// The receiver.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

/// What the endpoint writes in its error bodies: a test checks Reach never repeats it.
pub const REMOTE_BODY: &str = "REMOTE-BODY-NOT-FOR-ADMINS";

async fn hook(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let (status, response, delay) = {
        let mut inner = inner.lock().unwrap();
        let reply = inner.replies.pop_front();
        let (status, response, delay) = match reply {
            None => (200, StatusCode::OK.into_response(), None),
            Some(Reply::Status(s)) => (s, (StatusCode::from_u16(s).unwrap(), REMOTE_BODY).into_response(), None),
            Some(Reply::RetryAfter(s, secs)) => (
                s,
                (
                    StatusCode::from_u16(s).unwrap(),
                    [("retry-after", secs.to_string())],
                    REMOTE_BODY,
                )
                    .into_response(),
                None,
            ),
            Some(Reply::Redirect(to)) => (302, (StatusCode::FOUND, [("location", to)]).into_response(), None),
            Some(Reply::Delay(d)) => (200, StatusCode::OK.into_response(), Some(d)),
        };
        inner.received.push(Received {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
            status,
        });
        (status, response, delay)
    };
    let _ = status;
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

impl Receiver {
    /// Starts one on 127.0.0.1.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/elsewhere", post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/hook"),
            inner,
        }
    }

    /// Answers the next requests with `replies`, in order (then 200).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().replies.extend(replies);
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits (at most 20 s) until `done` holds for what it received; returns it.
    pub async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited 20 s for {what}; received {}",
                got.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}
