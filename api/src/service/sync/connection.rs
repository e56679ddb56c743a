//! `platformConnectionSet` (Support only): where an MX-ONE account's platform is and the token to
//! reach it. The token is sealed before it is stored and is never given back.

use chrono::Utc;
use entity::{Platform, account, platform_connection};
use integrations::outbound::OutboundPolicy;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::seal::TokenKey;
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError,
        outbox::{self, Event, ev},
    },
};

/// Longest base URL.
const MAX_URL: usize = 2_048;
/// Longest token.
const MAX_TOKEN: usize = 4_096;
/// Longest platform account name.
const MAX_PLATFORM_ACCOUNT: usize = 128;

/// What `platformConnectionSet` takes.
#[derive(Clone)]
pub struct ConnectionInput {
    /// The platform's base URL (`https`, or `http` where `plugins.platform.allow_http` is set).
    pub base_url: String,
    /// The bearer token.
    pub token: String,
    /// The account's name on the platform.
    pub platform_account: String,
}

impl std::fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("base_url", &self.base_url)
            .field("token", &"[redacted]")
            .field("platform_account", &self.platform_account)
            .finish()
    }
}

fn invalid(field: &str, message: impl Into<String>) -> UserError {
    UserError::new(ErrorCode::ValidationFailed, &[field], message)
}

/// The base URL, checked: `https://host[:port][/path]` (`http://` where the policy allows it),
/// no credentials, query or fragment, and no host written as an address the policy refuses
/// (names are checked when they are resolved, at every call); given back without a trailing
/// slash.
fn base_url(raw: &str, policy: &OutboundPolicy) -> Result<String, UserError> {
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(invalid("baseUrl", format!("at most {MAX_URL} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| invalid("baseUrl", format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("baseUrl", "must be an https:// URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("baseUrl", "must not carry credentials; give the token instead"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("baseUrl", "must not have a query or a fragment"));
    }
    // issue 16 item 6: the words name Reach's settings and the caller's own input only.
    policy
        .check_url(&url)
        .map_err(|refused| invalid("baseUrl", refused.to_string()))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn token(raw: &str) -> Result<(), UserError> {
    if raw.is_empty() || raw.len() > MAX_TOKEN {
        return Err(invalid("token", format!("1 to {MAX_TOKEN} characters")));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("token", "must not contain spaces or control characters"));
    }
    Ok(())
}

fn platform_account(raw: &str) -> Result<String, UserError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if !(1..=MAX_PLATFORM_ACCOUNT).contains(&len) || trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "platformAccount",
            format!("1 to {MAX_PLATFORM_ACCOUNT} characters, no control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The account of a sync request, checked: known to the caller (T1), allowed by `access` (a
/// refusal names who may `action`), and on MX-ONE (R1).
pub(crate) async fn open_account(
    db: &impl ConnectionTrait,
    p: &Principal,
    action: &str,
    access: impl FnOnce(Uuid) -> crate::policy::Access,
    account_id: Option<Uuid>,
) -> ServiceResult<account::Model> {
    let field = &["accountId"];
    let account =
        crate::service::directory::accounts::account_for_change(db, p, account_id, field, "account", action, access)
            .await?;
    if account.platform != Platform::MxOne {
        return Err(ServiceError::reject(
            ErrorCode::PlatformNotSupported,
            &["accountId"],
            "the platform sync is for accounts on MX-ONE",
        ));
    }
    Ok(account)
}

/// Sets the account's platform connection (Support only), within the outbound `policy`. A new
/// or changed connection is due for a run at once. The token is sealed for this base URL.
pub async fn set_connection(
    db: &impl db::Db,
    p: &Principal,
    key: &TokenKey,
    policy: &OutboundPolicy,
    account_id: Option<Uuid>,
    input: ConnectionInput,
) -> ServiceResult<platform_connection::Model> {
    let txn = db::begin_write(db).await?;
    let account = open_account(
        &txn,
        p,
        "set the account's platform connection",
        |id| p.support_only(id),
        account_id,
    )
    .await?;
    let mut errors = Vec::new();
    let url = base_url(&input.base_url, policy).map_err(|e| errors.push(e)).ok();
    let _ = token(&input.token).map_err(|e| errors.push(e));
    let name = platform_account(&input.platform_account)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(url), Some(name), true) = (url, name, errors.is_empty()) else {
        return Err(ServiceError::Rejected(errors));
    };
    let now = Utc::now();
    let existing = platform_connection::Entity::find_by_id(account.id).one(&txn).await?;
    let row = platform_connection::ActiveModel {
        account_id: Set(account.id),
        token_sealed: Set(key.seal(account.id, &url, &input.token)),
        base_url: Set(url),
        platform_account: Set(name),
        next_run_at: Set(Some(now)),
        failures: Set(0),
        created_at: Set(existing.as_ref().map_or(now, |c| c.created_at)),
        updated_at: Set(now),
        updated_by: Set(p.actor()),
    };
    let model = match existing {
        Some(_) => row.update(&txn).await?,
        None => row.insert(&txn).await?,
    };
    outbox::record(
        &txn,
        p,
        // Never the token.
        Event::PlatformConnectionSet(ev::PlatformConnection {
            base_url: model.base_url.clone(),
            platform_account: model.platform_account.clone(),
        })
        .about(account.id, account.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// The account's connection, if one is set.
pub async fn connection_of(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Option<platform_connection::Model>, sea_orm::DbErr> {
    platform_connection::Entity::find_by_id(account_id).one(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_http_with_a_host_and_nothing_secret() {
        let policy = OutboundPolicy::default();
        assert_eq!(
            base_url(" https://mx.example.com/api/ ", &policy).ok().as_deref(),
            Some("https://mx.example.com/api")
        );
        assert!(base_url("ftp://mx.example.com", &policy).is_err());
        assert!(base_url("https://user:pw@mx.example.com", &policy).is_err());
        assert!(base_url("https://mx.example.com/?token=x", &policy).is_err());
        assert!(base_url("not a url", &policy).is_err());
        assert!(token("abc def").is_err());
        assert!(token("").is_err());
        assert!(platform_account("  ").is_err());
    }

    // issue 16 item 6: plain http and non-public addresses are refused unless a setting allows
    // them; nothing is resolved or connected to here.
    #[test]
    fn base_urls_are_https_to_allowed_destinations() {
        let strict = OutboundPolicy::default();
        for url in [
            "http://mx.example.com",
            "http://169.254.169.254/latest/meta-data",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1",
            "https://127.0.0.1:5432",
            "https://[::1]:22",
            "https://[fd00::1]",
            "https://[::ffff:192.168.0.1]",
        ] {
            let refused = base_url(url, &strict);
            assert!(
                refused.as_ref().is_err_and(|e| e.code == ErrorCode::ValidationFailed),
                "{url}: {refused:?}"
            );
        }
        let allowing = OutboundPolicy {
            allow_http: true,
            allowed: vec!["127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))],
            ..Default::default()
        };
        assert!(base_url("http://127.0.0.1:9000", &allowing).is_ok());
        assert!(base_url("http://10.0.0.1", &allowing).is_err());
    }
}
