//! Guards on every request before the API sees it: a deadline for receiving the body (408, the
//! connection closed) and a client's `x-request-id` kept only when it is a short token of safe
//! characters, since it is echoed into the logs and the response.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use crate::codes::Code;
use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use hyper::body::{Frame, SizeHint};
use serde_json::json;

const X_REQUEST_ID: &str = "x-request-id";

/// Longest request id a client may choose.
pub const MAX_REQUEST_ID: usize = 64;

/// Whether a client's request id may be kept: 1–64 characters of `A–Z a–z 0–9 . _ -`.
pub fn valid_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Removes the client's `x-request-id` unless it sent exactly one valid value, so that the
/// request-id layer behind gives the request a fresh one instead.
pub async fn strip_unsafe_request_id(mut req: Request) -> Request {
    let headers = req.headers_mut();
    let mut values = headers.get_all(X_REQUEST_ID).iter();
    let keep = matches!((values.next(), values.next()), (Some(v), None) if valid_request_id(v.as_bytes()));
    if !keep {
        headers.remove(X_REQUEST_ID);
    }
    req
}

/// Gives the request `limit` to deliver its whole body; past it reading the body fails and the
/// answer, whatever the handler made of the failure, is 408 with the connection closed.
pub async fn body_deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let until = tokio::time::Instant::now() + limit;
    let req = req.map(|inner| {
        Body::new(Deadline {
            inner,
            until,
            sleep: None,
            expired: expired.clone(),
        })
    });
    let response = next.run(req).await;
    if !expired.load(Ordering::SeqCst) {
        return response;
    }
    let body = json!({ "errors": [{
        "message": "the request body was not received in time",
        "extensions": { "code": Code::Timeout.as_str() },
    }] });
    (
        StatusCode::REQUEST_TIMEOUT,
        [
            (header::CONNECTION, HeaderValue::from_static("close")),
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// A request body that fails once its deadline has passed. The timer is set only when the
/// body first has to be waited for: most bodies arrive with their headers and never need one.
struct Deadline {
    inner: Body,
    until: tokio::time::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: Arc<AtomicBool>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let until = this.until;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::SeqCst);
            let late = io::Error::new(io::ErrorKind::TimedOut, "request body not received in time");
            return Poll::Ready(Some(Err(axum::Error::new(late))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // issue 16 item 10: a tab (or any control or odd character) never reaches the logs.
    #[test]
    fn only_short_safe_ids_are_kept() {
        assert!(valid_request_id(b"abc-123"));
        assert!(valid_request_id(b"A.b_c-9"));
        assert!(valid_request_id("x".repeat(64).as_bytes()));
        assert!(!valid_request_id(b""));
        assert!(!valid_request_id(b"abc\tdef"));
        assert!(!valid_request_id(b"a b"));
        assert!(!valid_request_id(b"a\"b"));
        assert!(!valid_request_id("x".repeat(65).as_bytes()));
        assert!(!valid_request_id("é".as_bytes()));
    }
}
