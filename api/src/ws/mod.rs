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
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::{Stream, StreamExt, future, stream::SplitStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite;
use tracing::Instrument;
use uuid::Uuid;

mod exec;
mod handshake;
mod parked;
mod session;

use crate::{
    graphql::live::LiveSession,
    http::{self, ServerState},
    live::Connection,
};
use exec::Exec;
use handshake::{Admitted, Handshake, admit};
use session::{Session, Step};

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
    // The caller's trace, which the socket's queries and mutations join (when spans are exported).
    let trace = (integrations::trace_context::exporting())
        .then(|| parts.headers.get("traceparent")?.to_str().ok().map(Arc::<str>::from))
        .flatten();
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
            serve(state, protocol, socket, trace).instrument(span)
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

/// One socket until it closes: async-graphql runs the protocol over its input, and the
/// [`Session`] around it sends what the protocol and its own deadlines and watches say.
async fn serve(state: Arc<ServerState>, protocol: WebSocketProtocols, socket: WebSocket, trace: Option<Arc<str>>) {
    let _open = state.app.metrics.websocket_opened();
    let (mut session, mut operations) = open(&state, protocol, socket, trace);
    let close = loop {
        match session.next(&mut operations).await {
            Step::Send(out) => {
                if !session.send(out).await {
                    return;
                }
            }
            Step::Continue => {}
            Step::Close(close) => break close,
        }
    };
    session.close(close).await;
}

/// The socket's session and the protocol over its input. Built outside [`serve`]'s future: a
/// value moved out of a future's local stays in the future's memory, and this future lives as
/// long as the socket (each idle socket kept about 900 bytes of parts already moved into these
/// two, issue 17).
fn open(
    state: &Arc<ServerState>,
    protocol: WebSocketProtocols,
    socket: WebSocket,
    trace: Option<Arc<str>>,
) -> (Session, impl Stream<Item = WsMessage> + Unpin + use<>) {
    let settings = &state.app.settings;
    let (sink, source) = socket.split();
    let admitted = Arc::new(AtomicBool::new(false));
    let too_big = Arc::new(AtomicBool::new(false));
    let incoming = incoming(
        source,
        settings.limits.max_body_bytes,
        admitted.clone(),
        too_big.clone(),
    );
    let (admitted_tx, admitted_rx) = oneshot::channel();
    let keepalive = Duration::from_secs(settings.subscriptions.keepalive_seconds);
    let exec = Exec {
        server: state.clone(),
        trace,
    };
    let operations = operations(exec, incoming, protocol, keepalive, admitted, admitted_tx);
    let init_timeout = Duration::from_secs(settings.subscriptions.init_timeout_seconds);
    let handshake = Handshake::Waiting(admitted_rx);
    let session = Session::new(state, protocol, sink, handshake, too_big, init_timeout);
    (session, operations)
}

/// The socket's input as the protocol reads it: the bytes of its text and binary frames. A close
/// frame, an error, or a message larger than an anonymous body (`anonymous_limit`) before the
/// caller is `admitted` ends it; a message too large also sets `too_big` (the socket closes with
/// 1009).
fn incoming(
    source: SplitStream<WebSocket>,
    anonymous_limit: usize,
    admitted: Arc<AtomicBool>,
    too_big: Arc<AtomicBool>,
) -> impl Stream<Item = Vec<u8>> + Unpin {
    source
        .take_while(move |m| {
            let size = match m {
                Ok(Message::Text(t)) => t.len(),
                Ok(Message::Binary(b)) => b.len(),
                _ => 0,
            };
            let within = size <= anonymous_limit || admitted.load(Ordering::Acquire);
            if !within || m.as_ref().is_err_and(is_too_big) {
                too_big.store(true, Ordering::Release);
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
        })
}

/// async-graphql's protocol over `incoming`: operations run by [`Exec`], `connection_init`
/// checked by [`connection_init`], and on `graphql-transport-ws` a client silent for three
/// keep-alives closed.
fn operations(
    exec: Exec,
    incoming: impl Stream<Item = Vec<u8>> + Unpin + Send + 'static,
    protocol: WebSocketProtocols,
    keepalive: Duration,
    admitted: Arc<AtomicBool>,
    admitted_tx: oneshot::Sender<Result<Admitted, String>>,
) -> impl Stream<Item = WsMessage> + Unpin {
    let state = exec.server.clone();
    let gql = GqlWebSocket::new(exec, incoming, protocol)
        .on_connection_init(move |payload| connection_init(state, payload, admitted, admitted_tx));
    if protocol == WebSocketProtocols::GraphQLWS {
        gql.keepalive_timeout(keepalive * 3)
    } else {
        gql
    }
}

/// `connection_init`: the session's data when [`admit`] accepts the caller (then `admitted` is
/// set), or why not; the outcome also goes to the session on `admitted_tx`.
async fn connection_init(
    state: Arc<ServerState>,
    payload: serde_json::Value,
    admitted: Arc<AtomicBool>,
    admitted_tx: oneshot::Sender<Result<Admitted, String>>,
) -> async_graphql::Result<Data> {
    match admit(&state, &payload).await {
        Ok((caller, subject)) => {
            admitted.store(true, Ordering::Release);
            let mut data = Data::default();
            data.insert(caller.principal.clone());
            data.insert(LiveSession {
                connection: Connection::new(subject),
            });
            let _ = admitted_tx.send(Ok(caller));
            Ok(data)
        }
        Err(reason) => {
            let _ = admitted_tx.send(Err(reason.clone()));
            Err(async_graphql::Error::new(reason))
        }
    }
}

/// Whether a read failed on a message or frame larger than the socket accepts.
fn is_too_big(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}
