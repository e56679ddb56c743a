//! The communication platform's side of the sync (SPEC E3): the [`PlatformConnector`] trait —
//! list a page of the remote extensions provisioned on the platform, create one, delete one —
//! and [`http::HttpConnector`], which speaks the HTTP/JSON contract in docs/platform.md ("Platform
//! adapter contract"). A run tells an [`observe::SyncObserver`] how it ended.

pub mod http;
pub mod observe;

use serde::{Deserialize, Serialize};

/// A remote extension as the platform holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformNumber {
    /// The platform's id of it.
    pub id: String,
    /// The user's extension in the account.
    pub user_ref: String,
    /// The outside number.
    pub number: String,
    /// Its label on the platform, if any.
    #[serde(default)]
    pub label: Option<String>,
    /// How it rings, where the platform says (a platform that does not, sends none).
    #[serde(flatten)]
    pub ringing: Ringing,
}

/// How a remote extension rings (issue 21 §3), as the contract carries it beside the number:
/// `ringDelaySeconds`, `answerTooSoonMs`, `answerTooLateMs` (0: off), `requireKeypress`. Each
/// is optional in a listed item (absent: the platform does not say); Reach sends all four when
/// it creates one. A platform that knows none of them ignores them and lists none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ringing {
    /// Seconds before it rings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_delay_seconds: Option<i32>,
    /// An answer sooner than this (ms) is taken for voicemail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_too_soon_ms: Option<i32>,
    /// Ringing stops after this (ms); 0: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_too_late_ms: Option<i32>,
    /// Whoever answers presses a key first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_keypress: Option<bool>,
}

/// One page of the platform's remote extensions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The items of this page.
    pub items: Vec<PlatformNumber>,
    /// Where the next page starts; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A remote extension to create on the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPlatformNumber {
    /// The user's extension in the account.
    pub user_ref: String,
    /// The outside number.
    pub number: String,
    /// Its label.
    pub label: Option<String>,
    /// How it rings (all four given).
    #[serde(flatten)]
    pub ringing: Ringing,
}

/// What a create did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// Created, with the platform's id.
    New(String),
    /// The platform holds that number already (`409`).
    AlreadyExists,
}

/// Why a call to the platform failed. The texts are Reach's own words with a code — run
/// errors and `platformError` show them to account admins — never the platform's reply or the
/// network layer's message (those go to the log): an unreachable platform and a slow one read
/// the same, so the errors cannot map which ports answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// No connection could be made, or it broke.
    #[error("PLATFORM_UNREACHABLE: the platform could not be reached or did not answer in time")]
    Unreachable,
    /// No complete answer within the timeout (in ms).
    #[error("PLATFORM_UNREACHABLE: the platform could not be reached or did not answer in time")]
    Timeout(u64),
    /// An HTTP status the contract does not allow here.
    #[error("{}: the platform answered HTTP {}", status_code(*.0), .0)]
    Status(u16),
    /// An answer that is not the contract's JSON (garbage, a truncated body, missing fields).
    #[error("PLATFORM_REPLY_INVALID: the platform's answer could not be read")]
    Malformed,
    /// An answer larger than the cap (in bytes).
    #[error("PLATFORM_REPLY_TOO_LARGE: the platform's answer was over {0} bytes")]
    TooLarge(u64),
    /// The platform's address is not one Reach may call (plain http, or a non-public address
    /// not on the allow list).
    #[error(
        "DESTINATION_NOT_ALLOWED: Reach may not call the platform's address \
         (see plugins.platform.allow_http and allow_destinations)"
    )]
    NotAllowed,
}

/// A `4xx` is the platform refusing; anything else it answered is the platform failing.
fn status_code(status: u16) -> &'static str {
    if (400..500).contains(&status) {
        "PLATFORM_REFUSED"
    } else {
        "PLATFORM_FAILED"
    }
}

impl PlatformError {
    /// Whether trying again later may succeed: the platform down, slow, overloaded or failing
    /// (`5xx`, `429`, `408`); not a refusal (`4xx`) or an answer it will give again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable | Self::Timeout(_) => true,
            Self::Status(code) => *code >= 500 || *code == 429 || *code == 408,
            Self::Malformed | Self::TooLarge(_) | Self::NotAllowed => false,
        }
    }
}

/// How a connector calls the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorSettings {
    /// Longest one request may take, answer body included, in ms.
    pub timeout_ms: u64,
    /// Tries of one call when the failure is transient (1: no retry).
    pub max_attempts: u32,
    /// Wait before the first retry, in ms; doubles per try, with jitter.
    pub backoff_initial_ms: u64,
    /// Items asked for per page.
    pub page_size: u32,
    /// Where calls may go and how much of a reply is read.
    pub outbound: crate::outbound::OutboundPolicy,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            max_attempts: 3,
            backoff_initial_ms: 500,
            page_size: 500,
            outbound: crate::outbound::OutboundPolicy::default(),
        }
    }
}

/// The platform of one account.
#[async_trait::async_trait]
pub trait PlatformConnector: Send + Sync {
    /// The page starting at `cursor` (`None`: the first), at most `limit` items.
    async fn list(&self, cursor: Option<&str>, limit: u32) -> Result<Page, PlatformError>;

    /// Creates a remote extension; [`Created::AlreadyExists`] when the number is there already.
    async fn create(&self, number: &NewPlatformNumber) -> Result<Created, PlatformError>;

    /// Deletes the platform's remote extension `id`; one that is gone already counts as done.
    async fn delete(&self, id: &str) -> Result<(), PlatformError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_are_the_retryable_ones() {
        assert!(PlatformError::Timeout(10).is_transient());
        assert!(PlatformError::Unreachable.is_transient());
        assert!(PlatformError::Status(503).is_transient());
        assert!(PlatformError::Status(429).is_transient());
        assert!(!PlatformError::Status(400).is_transient());
        assert!(!PlatformError::Status(401).is_transient());
        assert!(!PlatformError::Malformed.is_transient());
        assert!(!PlatformError::TooLarge(1).is_transient());
        assert!(!PlatformError::NotAllowed.is_transient());
    }

    // issue 16 item 6: admins read a code and Reach's words; a refused and a slow platform read
    // the same.
    #[test]
    fn errors_read_as_codes_and_reachs_words() {
        assert_eq!(
            PlatformError::Unreachable.to_string(),
            PlatformError::Timeout(500).to_string()
        );
        assert!(PlatformError::Status(409).to_string().starts_with("PLATFORM_REFUSED:"));
        assert!(PlatformError::Status(409).to_string().contains("HTTP 409"));
        assert!(PlatformError::Status(503).to_string().starts_with("PLATFORM_FAILED:"));
        assert!(
            PlatformError::TooLarge(64)
                .to_string()
                .starts_with("PLATFORM_REPLY_TOO_LARGE:")
        );
        assert!(
            PlatformError::NotAllowed
                .to_string()
                .starts_with("DESTINATION_NOT_ALLOWED:")
        );
    }
}
