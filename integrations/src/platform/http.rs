//! [`HttpConnector`]: the platform over HTTP/JSON, as docs/platform.md's "Platform adapter contract"
//! describes it.
//!
//! - `GET {base}/v1/remote-extensions?account=A&cursor=C&limit=N` → `200 {"items": [{"id",
//!   "userRef", "number", "label"}], "nextCursor": string|null}`
//! - `POST {base}/v1/remote-extensions` `{"account", "userRef", "number", "label"}` → `201 {"id"}`;
//!   `409` when the number exists already
//! - `DELETE {base}/v1/remote-extensions/{id}` → `204`; `404` counts as done
//!
//! Every request carries `Authorization: Bearer <token>` and has `timeout_ms` for all of it,
//! answer included. A transient failure (unreachable, timeout, `5xx`, `429`, `408`) is tried
//! again, up to `max_attempts` in all, with exponential backoff and jitter; anything else is
//! returned at once.
//!
//! Calls go through the [`crate::outbound`] policy: `https` only unless allowed, no
//! non-public destination unless listed (checked on the addresses actually connected to), no
//! redirects, and no more than `max_reply_bytes` of an answer read.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::outbound::{self, ReadError};

use super::{ConnectorSettings, Created, NewPlatformNumber, Page, PlatformConnector, PlatformError};

/// The platform of one account, over HTTP.
pub struct HttpConnector {
    client: reqwest::Client,
    base: String,
    token: SecretString,
    account: String,
    settings: ConnectorSettings,
}

impl std::fmt::Debug for HttpConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConnector")
            .field("base", &self.base)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct CreatedBody {
    id: String,
}

impl HttpConnector {
    /// A connector to `base_url` (`https://…`, or `http://…` where the outbound policy allows
    /// it; no trailing path needed) for the platform's account `account`, authenticating with
    /// `token`. A base URL whose host is an address the policy refuses is refused here, before
    /// any connection.
    pub fn new(
        base_url: &str,
        token: SecretString,
        account: &str,
        settings: ConnectorSettings,
    ) -> Result<Self, PlatformError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).map_err(|e| {
            tracing::warn!(base = ?base, error = %e, "platform base URL does not parse");
            PlatformError::NotAllowed
        })?;
        if let Err(refused) = settings.outbound.check_url(&url) {
            tracing::warn!(base = ?base, reason = %refused, "platform call refused: destination not allowed");
            return Err(PlatformError::NotAllowed);
        }
        let client = settings
            .outbound
            .client(Duration::from_millis(settings.timeout_ms))
            .map_err(|e| {
                tracing::error!(error = %outbound::chain(&e), "platform HTTP client could not be built");
                PlatformError::Unreachable
            })?;
        Ok(Self {
            client,
            base,
            token,
            account: account.to_owned(),
            settings,
        })
    }

    /// The typed error of a failed request; its detail (which may quote the network layer or
    /// the remote side) goes to the log only.
    fn classify(&self, e: &reqwest::Error) -> PlatformError {
        if let Some(refused) = outbound::refusal(e) {
            tracing::warn!(base = ?self.base, reason = %refused, "platform call refused: destination not allowed");
            return PlatformError::NotAllowed;
        }
        tracing::info!(base = ?self.base, error = ?outbound::chain(e), "platform call failed");
        if e.is_timeout() {
            PlatformError::Timeout(self.settings.timeout_ms)
        } else if e.is_decode() {
            PlatformError::Malformed
        } else {
            PlatformError::Unreachable
        }
    }

    /// One request, tried again on transient failures; the answer when `accept` takes its status.
    async fn send(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        accept: impl Fn(StatusCode) -> bool,
    ) -> Result<Response, PlatformError> {
        use backon::BackoffBuilder;
        let mut waits = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(self.settings.backoff_initial_ms))
            .with_jitter()
            .with_max_times(self.settings.max_attempts.saturating_sub(1) as usize)
            .build();
        loop {
            let mut request = self
                .client
                .request(method.clone(), url)
                .bearer_auth(self.token.expose_secret())
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = match request.send().await {
                Ok(response) if accept(response.status()) => return Ok(response),
                Ok(response) => {
                    tracing::info!(base = ?self.base, status = response.status().as_u16(), "platform answered a status the contract does not allow");
                    PlatformError::Status(response.status().as_u16())
                }
                Err(e) => self.classify(&e),
            };
            match waits.next() {
                Some(wait) if outcome.is_transient() => {
                    tracing::debug!(error = %outcome, wait_ms = wait.as_millis() as u64, "platform call failed; trying again");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(outcome),
            }
        }
    }

    /// Reads an answer's JSON body (within the request's timeout), up to the policy's cap.
    async fn json<T: DeserializeOwned>(&self, response: Response) -> Result<T, PlatformError> {
        let bytes = match outbound::read_capped(response, self.settings.outbound.max_reply_bytes).await {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge(max)) => {
                tracing::warn!(base = ?self.base, max, "platform answer over the size cap; not read");
                return Err(PlatformError::TooLarge(max));
            }
            Err(ReadError::Network(e)) => return Err(self.classify(&e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            // serde's message can quote the answer: the log has it, the admin gets the code.
            tracing::info!(base = ?self.base, error = ?e.to_string(), "platform answer is not the contract's JSON");
            PlatformError::Malformed
        })
    }

    fn collection(&self) -> String {
        format!("{}/v1/remote-extensions", self.base)
    }
}

#[async_trait::async_trait]
impl PlatformConnector for HttpConnector {
    async fn list(&self, cursor: Option<&str>, limit: u32) -> Result<Page, PlatformError> {
        let mut query = vec![("account", self.account.clone()), ("limit", limit.to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let response = self
            .send(Method::GET, &self.collection(), &query, None, |s| s == StatusCode::OK)
            .await?;
        self.json(response).await
    }

    async fn create(&self, number: &NewPlatformNumber) -> Result<Created, PlatformError> {
        let mut body = json!({
            "account": self.account,
            "userRef": number.user_ref,
            "number": number.number,
            "label": number.label,
        });
        // The ringing fields beside them, those given (issue 21 §3).
        if let (Some(fields), Ok(serde_json::Value::Object(ringing))) =
            (body.as_object_mut(), serde_json::to_value(number.ringing))
        {
            fields.extend(ringing);
        }
        let response = self
            .send(Method::POST, &self.collection(), &[], Some(&body), |s| {
                s == StatusCode::CREATED || s == StatusCode::CONFLICT
            })
            .await?;
        if response.status() == StatusCode::CONFLICT {
            return Ok(Created::AlreadyExists);
        }
        let created: CreatedBody = self.json(response).await?;
        Ok(Created::New(created.id))
    }

    async fn delete(&self, id: &str) -> Result<(), PlatformError> {
        let url = format!("{}/{}", self.collection(), urlencode(id));
        self.send(Method::DELETE, &url, &[], None, |s| {
            s == StatusCode::NO_CONTENT || s == StatusCode::OK || s == StatusCode::NOT_FOUND
        })
        .await
        .map(|_| ())
    }
}

/// `id` as one path segment: unreserved characters kept, everything else percent-encoded.
fn urlencode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_one_path_segment() {
        assert_eq!(urlencode("re-42_x.~"), "re-42_x.~");
        assert_eq!(urlencode("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
