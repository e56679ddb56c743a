//! The subscription limits: why a subscription could not be opened ([`LimitError`]) and one
//! websocket connection's share of the per-connection and per-token caps ([`Connection`]).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Why a subscription could not be opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// `subscriptions.max_per_connection` reached.
    #[error("this connection already has {0} subscriptions open")]
    Connection(usize),
    /// `subscriptions.max_per_token` reached.
    #[error("this token already has {0} subscriptions open")]
    Token(usize),
    /// The server is stopping.
    #[error("the server is shutting down")]
    Stopping,
    /// `subscriptions.enabled` is off on this process.
    #[error("live subscriptions are switched off on this server")]
    Off,
}

/// One websocket connection's share of the limits (held in the connection's data).
#[derive(Debug)]
pub struct Connection {
    /// The token's subject, for the per-token limit.
    pub subject: String,
    pub(super) open: AtomicUsize,
}

impl Connection {
    /// A connection of token subject `subject`.
    pub fn new(subject: String) -> Arc<Self> {
        Arc::new(Self {
            subject,
            open: AtomicUsize::new(0),
        })
    }

    /// Subscriptions open on it now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}
