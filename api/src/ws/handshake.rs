//! `connection_init`: the token in its payload checked (with the rate limit and the token's
//! expiry), and where the socket's handshake stands meanwhile.

use std::time::Duration;

use tokio::sync::oneshot;

use crate::{
    auth::AuthError,
    http::{self, ServerState},
    policy::Principal,
};

/// A caller admitted by `connection_init`.
pub(super) struct Admitted {
    pub(super) principal: Principal,
    /// When the token expires.
    pub(super) expires: tokio::time::Instant,
}

/// Checks the `connection_init` payload's token: the principal, or why not.
pub(super) async fn admit(state: &ServerState, payload: &serde_json::Value) -> Result<(Admitted, String), String> {
    let token = ["authorization", "Authorization"]
        .iter()
        .find_map(|k| payload.get(*k))
        .and_then(|v| v.as_str())
        .and_then(http::bearer)
        .ok_or_else(|| AuthError::Missing.to_string())?;
    let (principal, _, claims) = match state.app.authenticate(token).await {
        Ok(found) => found,
        Err(AuthError::Db(e)) => {
            tracing::error!(error = %e, "database error while authenticating a websocket");
            return Err("service unavailable".into());
        }
        Err(e) => return Err(e.to_string()),
    };
    // The token's end as HTTP reckons it (with `token_exp_leeway_seconds`).
    let expires_at = state.app.tokens.expires_at(&claims);
    let now = chrono::Utc::now().timestamp();
    if expires_at <= now {
        return Err(AuthError::Expired(claims.exp).to_string());
    }
    let key = crate::auth::rate_key(&principal);
    if http::rate_limited(&state.limiter, &key) {
        state.app.metrics.rate_limited();
        return Err("too many requests".into());
    }
    let left = Duration::from_secs(u64::try_from(expires_at - now).unwrap_or(0));
    let admitted = Admitted {
        principal,
        expires: tokio::time::Instant::now() + left,
    };
    Ok((admitted, key))
}

/// Where the handshake stands.
pub(super) enum Handshake {
    Waiting(oneshot::Receiver<Result<Admitted, String>>),
    Admitted,
    Refused(String),
}

impl Handshake {
    /// Takes the result of `connection_init` once it is known.
    pub(super) fn poll(&mut self) -> Option<Admitted> {
        let Handshake::Waiting(rx) = self else {
            return None;
        };
        match rx.try_recv() {
            Ok(Ok(admitted)) => {
                *self = Handshake::Admitted;
                Some(admitted)
            }
            Ok(Err(reason)) => {
                *self = Handshake::Refused(reason);
                None
            }
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => {
                *self = Handshake::Refused("the handshake failed".into());
                None
            }
        }
    }
}
