//! A websocket GraphQL client for the tests, speaking `graphql-transport-ws` or the legacy
//! `graphql-ws` protocol over a real socket (tokio-tungstenite), answering the server's pings.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// Which protocol a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// `graphql-transport-ws` (the graphql-ws npm client).
    TransportWs,
    /// The legacy `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

impl Proto {
    pub const BOTH: [Proto; 2] = [Proto::TransportWs, Proto::Legacy];

    fn header(self) -> &'static str {
        match self {
            Proto::TransportWs => "graphql-transport-ws",
            Proto::Legacy => "graphql-ws",
        }
    }
}

/// What the server sent, keep-alives aside.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// `connection_ack`.
    Ack,
    /// `next` / `data` for subscription `id`.
    Next { id: String, payload: Value },
    /// `error` for subscription `id` (graphql-transport-ws), or `connection_error` (legacy).
    Error { id: Option<String>, payload: Value },
    /// `complete` for `id`.
    Complete(String),
    /// The socket closed with this code and reason.
    Closed(u16, String),
    /// Nothing came in time.
    Silence,
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub proto: Proto,
    /// Keep-alive messages seen (`ping` or `ka`).
    pub keepalives: usize,
    /// The text of the last `next`/`data` message, as sent (its keys in the server's order).
    pub last_text: String,
}

impl WsClient {
    /// Opens `ws://…/graphql` on the server at `http_address` (`http://127.0.0.1:PORT`).
    pub async fn connect(http_address: &str, proto: Proto) -> WsClient {
        WsClient::connect_with(http_address, proto, &[]).await
    }

    /// [`WsClient::connect`], the upgrade request carrying `headers` too.
    pub async fn connect_with(http_address: &str, proto: Proto, headers: &[(&'static str, &str)]) -> WsClient {
        let url = format!("{}/graphql", http_address.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(proto.header()));
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some(proto.header()),
            "the server picks the protocol offered"
        );
        WsClient {
            socket,
            proto,
            keepalives: 0,
            last_text: String::new(),
        }
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::text(message.to_string())).await.unwrap();
    }

    /// Sends `connection_init` with `token` (as `Bearer …`, or no payload when `None`).
    pub async fn init(&mut self, token: Option<&str>) {
        let message = match token {
            Some(t) => json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {t}")}}),
            None => json!({"type": "connection_init"}),
        };
        self.send(message).await;
    }

    /// Connects, initialises with `token` and waits for `connection_ack`.
    pub async fn ready(http_address: &str, proto: Proto, token: &str) -> WsClient {
        let mut client = WsClient::connect(http_address, proto).await;
        client.init(Some(token)).await;
        let first = client.next(Duration::from_secs(10)).await;
        assert_eq!(first, Incoming::Ack, "connection_ack expected");
        client
    }

    /// Starts operation `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let kind = match self.proto {
            Proto::TransportWs => "subscribe",
            Proto::Legacy => "start",
        };
        self.send(json!({"id": id, "type": kind, "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// Stops operation `id`.
    pub async fn stop(&mut self, id: &str) {
        let kind = match self.proto {
            Proto::TransportWs => "complete",
            Proto::Legacy => "stop",
        };
        self.send(json!({"id": id, "type": kind})).await;
    }

    /// The next message that is not a keep-alive, waiting at most `wait`.
    pub async fn next(&mut self, wait: Duration) -> Incoming {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Incoming::Silence,
                Ok(None) => return Incoming::Closed(1006, "ended without a close frame".into()),
                Ok(Some(Err(e))) => return Incoming::Closed(1006, e.to_string()),
                Ok(Some(Ok(m))) => m,
            };
            let text = match message {
                Message::Text(t) => t.to_string(),
                Message::Close(frame) => {
                    return frame.map_or(Incoming::Closed(1005, String::new()), |f| {
                        Incoming::Closed(f.code.into(), f.reason.to_string())
                    });
                }
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            let id = v["id"].as_str().map(str::to_owned);
            match v["type"].as_str().unwrap_or_default() {
                "connection_ack" => return Incoming::Ack,
                "ping" => {
                    self.keepalives += 1;
                    self.send(json!({"type": "pong"})).await;
                }
                "ka" | "pong" => self.keepalives += 1,
                "next" | "data" => {
                    self.last_text.clone_from(&text);
                    return Incoming::Next {
                        id: id.unwrap(),
                        payload: v["payload"].clone(),
                    };
                }
                "error" | "connection_error" => {
                    return Incoming::Error {
                        id,
                        payload: v["payload"].clone(),
                    };
                }
                "complete" => return Incoming::Complete(id.unwrap()),
                other => panic!("unexpected message type {other}: {text}"),
            }
        }
    }

    /// The next event's `data` for operation `id` (panics on anything else).
    pub async fn event(&mut self, id: &str) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Incoming::Next { id: got, payload } if got == id => {
                assert!(payload["errors"].is_null(), "errors in an event: {payload}");
                payload["data"].clone()
            }
            other => panic!("expected an event for {id}, got {other:?}"),
        }
    }

    /// The top-level error codes of the next message for `id`: an `error` message, or a
    /// `next` carrying errors (either way the subscription is refused or ended).
    pub async fn refusal(&mut self, id: &str) -> Vec<String> {
        let payload = match self.next(Duration::from_secs(10)).await {
            Incoming::Next { id: got, payload } if got == id => payload,
            Incoming::Error { id: Some(got), payload } if got == id => json!({ "errors": payload }),
            other => panic!("expected a refusal for {id}, got {other:?}"),
        };
        payload["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {payload}"))
            .iter()
            .map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    /// Waits for the socket to close; its code and reason (anything else in between fails).
    pub async fn closed(&mut self, wait: Duration) -> (u16, String) {
        match self.next(wait).await {
            Incoming::Closed(code, reason) => (code, reason),
            other => panic!("expected the socket to close, got {other:?}"),
        }
    }
}
