//! `GET /graphql` upgraded to a websocket: subscriptions (and queries and mutations) over
//! `graphql-transport-ws` and the legacy `graphql-ws` (subscriptions-transport-ws) protocol.
//!
//! async-graphql speaks both protocols; this module runs it and adds what a service needs
//! around it:
//! - the token in the `connection_init` payload (`{"authorization": "Bearer …"}`) is checked
//!   before any operation starts; a bad or missing one closes the socket with `4403 Forbidden`
//!   (after a `connection_error` message on the legacy protocol), and no data is ever sent;
//! - the socket closes with `4403` when the token expires, and when one of the user's roles is
//!   revoked (the client connects again and gets its current rights);
//! - no `connection_init` within `subscriptions.init_timeout_seconds` closes with `4408`;
//! - a message larger than the caller may send (`limits.max_body_bytes` before `connection_init`
//!   is accepted, `limits.max_body_bytes_authenticated` after) closes with `1009`, unread;
//! - keep-alive: a `ping` (legacy: `ka`) every `subscriptions.keepalive_seconds`; on
//!   `graphql-transport-ws` a client silent for three of those is closed;
//! - a client that does not read for [`SEND_TIMEOUT`] is cut off, and the server stopping closes
//!   every socket with `1001 Going Away`;
//! - a subscription keeps only its feed between events ([`parked`]).

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GqlWebSocket, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        FromRequestParts, Query, Request as HttpRequest, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt, future};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite;
use tracing::Instrument;
use uuid::Uuid;

mod exec;
mod handshake;
mod parked;

use crate::{
    graphql::live::LiveSession,
    http::{self, ServerState},
    live::{Connection, Feed, Next, Topic},
};
use exec::Exec;
use handshake::{Handshake, admit};

/// How long one message may wait for a client that does not read before it is cut off.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A socket's read buffer, bytes: what an idle socket keeps; `connection_init` with its token
/// and a `subscribe` fit in one read.
pub const READ_BUFFER: usize = 1024;

/// The close code for a message larger than the caller may send (RFC 6455, 7.4.1): before
/// `connection_init` is accepted, `limits.max_body_bytes`; after, `limits.max_body_bytes_authenticated`.
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// `GET /graphql`: a websocket upgrade, or a query in the URL.
pub async fn graphql_get(State(state): State<ServerState>, request: HttpRequest) -> Response {
    let (mut parts, _) = request.into_parts();
    if !is_upgrade(&parts.headers) {
        let headers = parts.headers.clone();
        return match Query::from_request_parts(&mut parts, &state).await {
            Ok(query) => http::graphql_get(State(state), headers, query).await.into_response(),
            Err(rejection) => rejection.into_response(),
        };
    }
    let Some(protocol) = protocol_of(&parts.headers) else {
        return (
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // An admitted caller may send what it may POST; before `connection_init` is accepted a
    // message may be no larger than an anonymous body (see `serve`).
    let max_message = state.app.settings.limits.max_body_bytes_authenticated;
    // One copy of the server's state per socket, shared by its parts (a copy holds the token
    // keys and settings: each would be memory every idle subscriber keeps).
    let state = Arc::new(state);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        // Small buffers: an idle subscriber should cost little. A larger frame still arrives
        // whole (room for it is made from its header), in reads of this size.
        .read_buffer_size(READ_BUFFER)
        // Each message is flushed before the next is taken, so the write buffer holds one
        // message at a time whatever this is (a client that stops reading is cut off after
        // `SEND_TIMEOUT`).
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| {
            // At debug level only: a span lives as long as its socket, and at `info` (the
            // default) the subscriber's copy of it cost 1.9 KiB per idle socket (issue 17).
            let span = tracing::debug_span!("websocket", connection = %Uuid::new_v4(), protocol = protocol.sec_websocket_protocol());
            serve(state, protocol, socket).instrument(span)
        })
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The first protocol offered that we speak, in the client's order of preference.
fn protocol_of(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| WebSocketProtocols::from_str(p.trim()).ok())
}

async fn serve(state: Arc<ServerState>, protocol: WebSocketProtocols, socket: WebSocket) {
    let settings = state.app.settings.subscriptions.clone();
    let live = state.app.live.clone();
    let (mut sink, source) = socket.split();
    let admitted_flag = Arc::new(AtomicBool::new(false));
    let anonymous_limit = state.app.settings.limits.max_body_bytes;
    let before_init = admitted_flag.clone();
    let too_big = Arc::new(AtomicBool::new(false));
    let saw_too_big = too_big.clone();
    // Text and binary frames go to the protocol; a close frame, an error, or a message larger
    // than an anonymous body before the caller is admitted ends the input (a message too large
    // closes the socket with 1009).
    let incoming = source
        .take_while(move |m| {
            let size = match m {
                Ok(Message::Text(t)) => t.len(),
                Ok(Message::Binary(b)) => b.len(),
                _ => 0,
            };
            let within = size <= anonymous_limit || before_init.load(Ordering::Acquire);
            if !within || m.as_ref().is_err_and(is_too_big) {
                saw_too_big.store(true, Ordering::Release);
            }
            future::ready(
                within
                    && matches!(
                        m,
                        Ok(Message::Text(_) | Message::Binary(_) | Message::Ping(_) | Message::Pong(_))
                    ),
            )
        })
        .filter_map(|m| {
            future::ready(match m {
                Ok(Message::Text(t)) => Some(t.as_str().as_bytes().to_vec()),
                Ok(Message::Binary(b)) => Some(b.to_vec()),
                _ => None,
            })
        });
    let (admitted_tx, admitted_rx) = oneshot::channel();
    let init_state = state.clone();
    let exec = Exec { server: state.clone() };
    let keepalive = Duration::from_secs(settings.keepalive_seconds);
    let mut gql = GqlWebSocket::new(exec, incoming, protocol).on_connection_init(move |payload| async move {
        match admit(&init_state, &payload).await {
            Ok((admitted, subject)) => {
                admitted_flag.store(true, Ordering::Release);
                let mut data = Data::default();
                data.insert(admitted.principal.clone());
                data.insert(LiveSession {
                    connection: Connection::new(subject),
                });
                let _ = admitted_tx.send(Ok(admitted));
                Ok(data)
            }
            Err(reason) => {
                let _ = admitted_tx.send(Err(reason.clone()));
                Err(async_graphql::Error::new(reason))
            }
        }
    });
    if protocol == WebSocketProtocols::GraphQLWS {
        gql = gql.keepalive_timeout(keepalive * 3);
    }
    let mut handshake = Handshake::Waiting(admitted_rx);
    let init_timeout = tokio::time::sleep(Duration::from_secs(settings.init_timeout_seconds));
    tokio::pin!(init_timeout);
    let expiry = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
    tokio::pin!(expiry);
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut roles: Option<Feed> = None;
    let stopping = live.stopping();
    let ping = match protocol {
        WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
        WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
    };

    let close = loop {
        let admitted = matches!(handshake, Handshake::Admitted);
        let out = tokio::select! {
            message = gql.next() => {
                if let Some(a) = handshake.poll() {
                    expiry.as_mut().reset(a.expires);
                    if let Some(user) = a.principal.user() {
                        roles = live.subscribe(Topic::Roles(user.user_id), None).ok();
                    }
                }
                match message {
                    Some(WsMessage::Text(text)) => Message::Text(text.into()),
                    Some(WsMessage::Close(code, reason)) => break closing(protocol, &handshake, code, reason),
                    None => break match &handshake {
                        _ if too_big.load(Ordering::Acquire) => (MESSAGE_TOO_BIG, "Message too big".into()),
                        Handshake::Refused(reason) => (4403, format!("Forbidden: {reason}")),
                        _ => (1000, String::new()),
                    },
                }
            }
            () = &mut init_timeout, if matches!(handshake, Handshake::Waiting(_)) => {
                break (4408, "Connection initialisation timeout".into());
            }
            () = &mut expiry, if admitted => break (4403, "Forbidden: token expired".into()),
            _ = pings.tick(), if admitted => Message::Text(ping.into()),
            next = async { match roles.as_mut() { Some(feed) => feed.next().await, None => future::pending().await } } => {
                match next {
                    Next::Event(_) | Next::Overflowed => {
                        break (4403, "Forbidden: roles changed; connect again".into());
                    }
                    // The server is stopping (the branch below closes the socket).
                    Next::Closed => {
                        roles = None;
                        continue;
                    }
                }
            }
            () = stopping.cancelled() => break (1001, "server shutting down".into()),
        };
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(out)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                tracing::info!("a websocket client stopped reading; cut off");
                return;
            }
        }
    };
    let (code, reason) = close;
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
}

/// Whether a read failed on a message or frame larger than the socket accepts.
fn is_too_big(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// The close code to send for a close async-graphql asked for, in `graphql-transport-ws` terms.
fn closing(protocol: WebSocketProtocols, handshake: &Handshake, code: u16, reason: String) -> (u16, String) {
    if let Handshake::Refused(why) = handshake {
        return (4403, format!("Forbidden: {why}"));
    }
    if protocol != WebSocketProtocols::GraphQLWS {
        return (code, reason);
    }
    match code {
        // A message that is not valid JSON of the protocol.
        1002 => (4400, reason),
        // An operation before `connection_ack`.
        1011 => (4401, "Unauthorized".into()),
        _ => (code, reason),
    }
}
