//! One socket's session around the protocol async-graphql runs: where the handshake stands, the
//! deadlines (`connection_init`, the token's expiry), the keep-alive pings, the watch on the
//! user's roles, and the frames sent to the client until the socket closes.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, Stream, StreamExt, future, stream::SplitSink};
use tokio::time::{Interval, Sleep};
use tokio_util::sync::CancellationToken;

use super::{MESSAGE_TOO_BIG, SEND_TIMEOUT, handshake::Handshake};
use crate::{
    http::ServerState,
    live::{Feed, Live, Next, Topic},
};

/// A close code and its reason.
pub(super) type Close = (u16, String);

/// What the session does after one wake-up.
pub(super) enum Step {
    /// Sends this frame to the client.
    Send(Message),
    /// Sends nothing and waits again.
    Continue,
    /// Closes the socket.
    Close(Close),
}

/// What the socket keeps around the protocol while it is open.
pub(super) struct Session {
    protocol: WebSocketProtocols,
    live: Live,
    sink: SplitSink<WebSocket, Message>,
    handshake: Handshake,
    /// Set when the input ended on a message larger than the caller may send.
    too_big: Arc<AtomicBool>,
    /// When `connection_init` must have been accepted by while the handshake waits; when the
    /// token expires once the caller is admitted.
    deadline: Pin<Box<Sleep>>,
    pings: Interval,
    /// The user's role changes, once admitted.
    roles: Option<Feed>,
    stopping: CancellationToken,
    /// The protocol's keep-alive message.
    ping: &'static str,
}

impl Session {
    /// A session waiting for `connection_init` (see [`Handshake`]) for `init_timeout`; the pings
    /// start one keep-alive from now.
    pub(super) fn new(
        state: &ServerState,
        protocol: WebSocketProtocols,
        sink: SplitSink<WebSocket, Message>,
        handshake: Handshake,
        too_big: Arc<AtomicBool>,
        init_timeout: Duration,
    ) -> Self {
        let live = state.app.live.clone();
        let keepalive = Duration::from_secs(state.app.settings.subscriptions.keepalive_seconds);
        let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stopping = live.stopping();
        let ping = match protocol {
            WebSocketProtocols::GraphQLWS => r#"{"type":"ping"}"#,
            WebSocketProtocols::SubscriptionsTransportWS => r#"{"type":"ka"}"#,
        };
        Self {
            protocol,
            live,
            sink,
            handshake,
            too_big,
            deadline: Box::pin(tokio::time::sleep(init_timeout)),
            pings,
            roles: None,
            stopping,
            ping,
        }
    }

    /// Waits for what comes first: a message of the protocol (`operations`), a deadline, a
    /// keep-alive tick, a change of the user's roles, or the server stopping.
    pub(super) async fn next(&mut self, operations: &mut (impl Stream<Item = WsMessage> + Unpin)) -> Step {
        let admitted = matches!(self.handshake, Handshake::Admitted);
        let waiting = matches!(self.handshake, Handshake::Waiting(_));
        let roles = &mut self.roles;
        tokio::select! {
            message = operations.next() => self.forward(message),
            () = self.deadline.as_mut(), if waiting || admitted => Step::Close(if admitted {
                (4403, "Forbidden: token expired".into())
            } else {
                (4408, "Connection initialisation timeout".into())
            }),
            _ = self.pings.tick(), if admitted => Step::Send(Message::Text(self.ping.into())),
            next = async { match roles.as_mut() { Some(feed) => feed.next().await, None => future::pending().await } } => {
                self.roles_changed(next)
            }
            () = self.stopping.cancelled() => Step::Close((1001, "server shutting down".into())),
        }
    }

    /// A message of the protocol, once the handshake's outcome (if it just came) is taken: the
    /// frame to send, or the close the protocol asks for or its input's end calls for.
    fn forward(&mut self, message: Option<WsMessage>) -> Step {
        self.take_admission();
        match message {
            Some(WsMessage::Text(text)) => Step::Send(Message::Text(text.into())),
            Some(WsMessage::Close(code, reason)) => Step::Close(closing(self.protocol, &self.handshake, code, reason)),
            None => Step::Close(match &self.handshake {
                _ if self.too_big.load(Ordering::Acquire) => (MESSAGE_TOO_BIG, "Message too big".into()),
                Handshake::Refused(reason) => (4403, format!("Forbidden: {reason}")),
                _ => (1000, String::new()),
            }),
        }
    }

    /// When `connection_init` has just been accepted: the socket is to close when the token
    /// expires, and when the user's roles change.
    fn take_admission(&mut self) {
        if let Some(a) = self.handshake.poll() {
            self.deadline.as_mut().reset(a.expires);
            if let Some(user) = a.principal.user() {
                self.roles = self.live.subscribe(Topic::Roles(user.user_id), None).ok();
            }
        }
    }

    /// What the watch on the user's roles gave: a change closes the socket.
    fn roles_changed(&mut self, next: Next) -> Step {
        match next {
            Next::Event(_) | Next::Overflowed => Step::Close((4403, "Forbidden: roles changed; connect again".into())),
            // The server is stopping (its own branch closes the socket).
            Next::Closed => {
                self.roles = None;
                Step::Continue
            }
        }
    }

    /// Sends `out` to the client; `false` when the socket is gone, or when the client did not
    /// read it within [`SEND_TIMEOUT`] and is cut off.
    pub(super) async fn send(&mut self, out: Message) -> bool {
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(out)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::info!("a websocket client stopped reading; cut off");
                false
            }
        }
    }

    /// Sends the close frame, waiting for it at most a second.
    pub(super) async fn close(&mut self, (code, reason): Close) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), self.sink.send(Message::Close(Some(frame)))).await;
    }
}

/// The close code to send for a close async-graphql asked for, in `graphql-transport-ws` terms.
fn closing(protocol: WebSocketProtocols, handshake: &Handshake, code: u16, reason: String) -> Close {
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
