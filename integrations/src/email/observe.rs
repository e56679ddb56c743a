//! What the email plugin tells an observer about its SMTP sends: the seam through which `api`
//! counts them (its metrics), keeping this crate free of any metrics library.

use std::time::Duration;

/// Why an SMTP send failed, in a few classes (a bounded label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The server answered 4xx for the message: it is tried again later.
    Transient,
    /// The server answered 5xx for the message: it failed for good.
    Permanent,
    /// The server refused the session rather than the message (authentication, `421`).
    Session,
    /// No connection could be made or kept (TCP, TLS, no SMTP answer).
    Connection,
    /// No answer within `timeout_ms`.
    Timeout,
}

impl FailureClass {
    /// Every class, for an observer that shows each one from the start.
    pub const ALL: [Self; 5] = [
        Self::Transient,
        Self::Permanent,
        Self::Session,
        Self::Connection,
        Self::Timeout,
    ];

    /// Its name in lower case (`transient`, `permanent`, `session`, `connection`, `timeout`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::Session => "session",
            Self::Connection => "connection",
            Self::Timeout => "timeout",
        }
    }
}

/// Told of every SMTP send the plugin makes. Called on the sending task: keep it cheap.
pub trait EmailObserver: Send + Sync {
    /// One send ended after `elapsed`: `failure` is `None` when the server took the message.
    fn sent(&self, elapsed: Duration, failure: Option<FailureClass>);
}

/// Observes nothing (the plugin's default).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unobserved;

impl EmailObserver for Unobserved {
    fn sent(&self, _: Duration, _: Option<FailureClass>) {}
}
