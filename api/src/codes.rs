//! The codes of top-level errors (`errors[].extensions.code`), in one place: SPEC §6's
//! transport codes and Reach's additions (docs/api.md, "HTTP and GraphQL conventions"). Business
//! failures answer `userErrors` with [`crate::service::ErrorCode`] instead.

/// A top-level error's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// No valid token (HTTP 401).
    Unauthenticated,
    /// The request is not valid for this schema, or an argument is refused before any resolver
    /// runs.
    BadRequest,
    /// The document is deeper or more complex than the limits allow.
    QueryTooComplex,
    /// The caller used up its requests for now (HTTP 429).
    RateLimited,
    /// The request ran out of time, or the server was too busy to start it.
    Timeout,
    /// A fault; its cause is logged, never shown.
    Internal,
    /// No such object (or another tenant's).
    NotFound,
    /// The caller may not do this.
    Forbidden,
    /// Subscriptions are switched off, or the server is stopping.
    Unavailable,
    /// A connection's or a token's subscription limit is reached.
    TooManySubscriptions,
    /// A subscription fell too far behind and was closed.
    SlowConsumer,
}

impl Code {
    /// As sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::BadRequest => "BAD_REQUEST",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::RateLimited => "RATE_LIMITED",
            Self::Timeout => "TIMEOUT",
            Self::Internal => "INTERNAL",
            Self::NotFound => "NOT_FOUND",
            Self::Forbidden => "FORBIDDEN",
            Self::Unavailable => "UNAVAILABLE",
            Self::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            Self::SlowConsumer => "SLOW_CONSUMER",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
