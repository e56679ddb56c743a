//! Issue 16 item 5 and part of 10: slow or idle clients cannot hold the server (header, body
//! and idle timeouts, a connection cap) and a client's request id is kept only when safe.
//! Every socket here is on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::backend_tests;
use crate::harness::app::*;

/// `127.0.0.1:PORT` of a test server.
fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the socket (EOF or reset), giving up after `limit`.
/// Returns what was read and when it closed, or `None` if it stayed open.
async fn read_until_closed(socket: &mut TcpStream, limit: Duration) -> Option<(String, Instant)> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((String::from_utf8_lossy(&seen).into_owned(), Instant::now())),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

// issue 16 item 5: a request head that never ends is cut off after the header-read timeout.
async fn partial_header_is_disconnected(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.server.header_read_timeout_seconds = 1).await;
    let mut socket = TcpStream::connect(host(&app)).await.unwrap();
    let sent = Instant::now();
    socket.write_all(b"GET /graphql HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (_, closed) = read_until_closed(&mut socket, Duration::from_secs(6))
        .await
        .expect("the server closes a connection whose headers never end");
    let after = closed - sent;
    assert!(after >= Duration::from_millis(900), "not before the timeout: {after:?}");
}

// issue 16 item 5: a body that stops half-way gets 408 and the connection closed.
async fn stalled_body_gets_408(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.server.body_read_timeout_seconds = 1).await;
    let mut socket = TcpStream::connect(host(&app)).await.unwrap();
    // Authenticated: an anonymous body is never read (401 first).
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{\"query\": \"{{ vie",
        app.support()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut socket, Duration::from_secs(6))
        .await
        .expect("the server answers and closes a connection whose body stalls");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"TIMEOUT""#), "{answer}");
}

// issue 16 item 5: a keep-alive connection with no request is closed after the idle timeout
// (the header-read timeout, whose clock also runs while idle, is set far off here).
async fn idle_keep_alive_is_closed(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.server.idle_timeout_seconds = 1;
        s.server.header_read_timeout_seconds = 60;
    })
    .await;
    let mut socket = TcpStream::connect(host(&app)).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut seen = String::new();
    while !seen.contains(r#""status":"ok""#) {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let answered = Instant::now();
    let (_, closed) = read_until_closed(&mut socket, Duration::from_secs(6))
        .await
        .expect("an idle keep-alive connection is closed");
    let after = closed - answered;
    assert!(after >= Duration::from_millis(800), "kept for the idle time: {after:?}");
}

// issue 16 item 5: past the cap a new connection waits (it is not accepted) and is served as
// soon as a slot frees; the server goes on serving afterwards.
async fn connections_past_the_cap_wait_for_a_slot(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.server.max_connections = 2;
        s.server.header_read_timeout_seconds = 60;
        s.server.idle_timeout_seconds = 60;
    })
    .await;
    // Two silent sockets take both slots (the backlog is first in, first accepted).
    let first = TcpStream::connect(host(&app)).await.unwrap();
    let _second = TcpStream::connect(host(&app)).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", app.address);
    let waiting = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(url).send().await.map(|r| r.status().as_u16()) }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is not served while the cap is reached"
    );
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot frees")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    // The slot the third request holds (pooled by the client) keeps serving.
    let again = client.get(&url).send().await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
}

// issue 16 item 10: a client's request id is echoed only when it is a short safe token.
async fn unsafe_request_ids_are_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let id_for = |sent: &'static str| {
        let req = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", sent);
        async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            let ids: Vec<_> = resp.headers().get_all("x-request-id").iter().collect();
            assert_eq!(ids.len(), 1, "one request id");
            ids[0].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(id_for("abc-123").await, "abc-123");
    for bad in ["abc\tdef", "a b", "{\"x\":1}"] {
        let got = id_for(bad).await;
        assert!(
            uuid::Uuid::parse_str(&got).is_ok(),
            "{bad:?} replaced by a fresh UUID, got {got:?}"
        );
    }
    let long: &'static str = "x".repeat(65).leak();
    assert!(uuid::Uuid::parse_str(&id_for(long).await).is_ok());
}

backend_tests!(
    partial_header_is_disconnected,
    stalled_body_gets_408,
    idle_keep_alive_is_closed,
    connections_past_the_cap_wait_for_a_slot,
    unsafe_request_ids_are_replaced,
);
