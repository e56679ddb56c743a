//! Authentication: HS256 bearer tokens (issuer, audience, expiry and not-before checked) and the
//! principal behind them, whose roles are read from the database, and kept between requests only
//! until the next change (see [`cache`]), so that a revoked role takes effect at once.

pub mod cache;
mod principal;

pub use principal::load_user_principal;

use std::sync::Arc;

use chrono::Utc;
use entity::{account, user};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{config::Settings, policy::Principal, service::text};

/// Longest name a Support token may carry.
pub const MAX_SUPPORT_NAME: usize = 64;

/// Whether `name` may stand on a Support token: 1–64 characters, no control or format
/// characters (the name rule of [`text::displayable`]: it is shown to users as who changed
/// their data, so it must not reorder itself on screen).
pub fn valid_support_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=MAX_SUPPORT_NAME).contains(&len) && text::displayable(name).is_ok()
}

/// The two kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Support staff.
    Support,
    /// A user of an account.
    User,
}

/// What a Reach token says.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the user's id, or `support:<name>`.
    pub sub: String,
    /// Token kind.
    pub kind: TokenKind,
    /// Display name (Support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Not valid before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// Token id.
    pub jti: String,
}

/// Why a request is not authenticated (always HTTP 401 `UNAUTHENTICATED`).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    Missing,
    /// Bad signature, algorithm, claims or timing.
    #[error("invalid token")]
    Invalid,
    /// The user the token names no longer exists.
    #[error("unknown user")]
    UnknownUser,
    /// The database failed while loading the principal.
    #[error("database error")]
    Db(#[from] DbErr),
}

/// Signs and checks tokens with the server's secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    timing: TokenTiming,
    verified: cache::Verified,
}

/// The clock rules of a token beyond its signature: how late after `exp`, how early before
/// `nbf` (and `iat`), and how long a lifetime (`exp - iat`) is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenTiming {
    /// Seconds accepted after `exp`.
    pub exp_leeway: i64,
    /// Seconds of clock skew accepted on `nbf` and `iat`.
    pub nbf_leeway: i64,
    /// Longest `exp - iat`, in seconds.
    pub max_lifetime: i64,
}

impl Default for TokenTiming {
    fn default() -> Self {
        Self {
            exp_leeway: 0,
            nbf_leeway: 5,
            max_lifetime: 24 * 3600,
        }
    }
}

impl TokenTiming {
    /// The rules the settings give (`token_*_leeway_seconds`, `token_max_ttl_seconds`).
    pub fn from_settings(settings: &Settings) -> Self {
        let secs = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Self {
            exp_leeway: secs(settings.token_exp_leeway_seconds),
            nbf_leeway: secs(settings.token_nbf_leeway_seconds),
            max_lifetime: secs(settings.token_max_ttl_seconds),
        }
    }

    /// Whether claims already checked for signature and `exp` keep to the rules at `now`: not
    /// before `nbf` or `iat` (give or take the skew), and no longer-lived than the maximum — a
    /// future `iat` would otherwise stretch a token's life past it.
    pub fn admits(&self, claims: &Claims, now: i64) -> bool {
        let horizon = now.saturating_add(self.nbf_leeway);
        claims.nbf <= horizon && claims.iat <= horizon && claims.exp.saturating_sub(claims.iat) <= self.max_lifetime
    }
}

/// The key a caller's requests are counted under by the rate limiter and the per-token
/// subscription cap: who the principal is, whatever spelling of the id the token used (an
/// upper-case or braced UUID names the same user).
pub fn rate_key(principal: &Principal) -> String {
    match principal {
        Principal::User(user) => user.user_id.to_string(),
        Principal::Support { name } => format!("support:{name}"),
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Keys from `secret` and the clock rules of `settings` (issuer, audience, leeways, maximum
    /// lifetime).
    pub fn from_settings(secret: &SecretString, settings: &Settings) -> Self {
        Self::new(secret, &settings.jwt_issuer, &settings.jwt_audience)
            .with_timing(TokenTiming::from_settings(settings))
    }

    /// These keys with the clock rules `timing` instead of the defaults.
    pub fn with_timing(mut self, timing: TokenTiming) -> Self {
        self.validation.leeway = u64::try_from(timing.exp_leeway).unwrap_or(0);
        self.timing = timing;
        self
    }

    /// Keys from `secret`, checking `issuer` and `audience`, with the default clock rules.
    pub fn new(secret: &SecretString, issuer: &str, audience: &str) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // One leeway covers `exp` and `nbf` in jsonwebtoken: it is the `exp` one, and `nbf`
        // has its own skew, checked in `verify`.
        validation.validate_nbf = false;
        let timing = TokenTiming::default();
        validation.leeway = u64::try_from(timing.exp_leeway).unwrap_or(0);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            timing,
            verified: cache::Verified::default(),
        }
    }

    /// Mints a token for Support staff called `name`, valid for `ttl_seconds`.
    pub fn mint_support(&self, name: &str, ttl_seconds: u64) -> Result<String, jsonwebtoken::errors::Error> {
        self.mint(
            format!("support:{name}"),
            TokenKind::Support,
            Some(name.to_owned()),
            ttl_seconds,
        )
    }

    /// Mints a token for the user `user_id`, valid for `ttl_seconds`.
    pub fn mint_user(&self, user_id: Uuid, ttl_seconds: u64) -> Result<String, jsonwebtoken::errors::Error> {
        self.mint(user_id.to_string(), TokenKind::User, None, ttl_seconds)
    }

    fn mint(
        &self,
        sub: String,
        kind: TokenKind,
        name: Option<String>,
        ttl: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub,
            kind,
            name,
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
            jti: Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// When a token with `claims` stops being accepted: its `exp` plus the leeway (seconds since
    /// the epoch). A websocket is admitted, and later closed, by this same instant.
    pub fn expires_at(&self, claims: &Claims) -> i64 {
        claims.exp.saturating_add(self.timing.exp_leeway)
    }

    /// Checks a token's signature, algorithm, issuer, audience, expiry, not-before, issue time
    /// and lifetime.
    ///
    /// A token whose signature passed once is not checked again: its claims are kept, and the
    /// clock rules (`exp` with its leeway among them) are applied to them at every use.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let now = Utc::now().timestamp();
        if let Some(claims) = self.verified.get(token) {
            let live = now <= self.expires_at(&claims);
            return if live && self.timing.admits(&claims, now) {
                Ok(claims.as_ref().clone())
            } else {
                Err(AuthError::Invalid)
            };
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::Invalid)?;
        if self.timing.admits(&claims, now) {
            self.verified.keep(token, Arc::new(claims.clone()));
            Ok(claims)
        } else {
            Err(AuthError::Invalid)
        }
    }

    /// The principal a verified token stands for, with its roles as stored now; for a user, also
    /// their user and account records as stored now (read in the same statement, so that a
    /// request about the caller's own user or account need not read them again).
    pub async fn principal(
        &self,
        db: &impl ConnectionTrait,
        kept: &cache::PrincipalCache,
        claims: &Claims,
    ) -> Result<(Principal, Option<(user::Model, account::Model)>), AuthError> {
        match claims.kind {
            TokenKind::Support => {
                let name = claims
                    .name
                    .clone()
                    .or_else(|| claims.sub.strip_prefix("support:").map(str::to_owned));
                match name {
                    Some(name) if valid_support_name(&name) => Ok((Principal::Support { name }, None)),
                    _ => Err(AuthError::Invalid),
                }
            }
            TokenKind::User => {
                let id = Uuid::parse_str(&claims.sub).map_err(|_| AuthError::Invalid)?;
                kept.get_or_load(id, || load_user_principal(db, id))
                    .await?
                    .map(|(principal, records)| (Principal::User(principal), Some(records)))
                    .ok_or(AuthError::UnknownUser)
            }
        }
    }
}

/// A user caller's own records, read with who they are: a request's data, so that reading them
/// (`me`, or `account` with their account's id) needs no statement of its own.
#[derive(Clone, Debug)]
pub struct Own {
    /// The caller's user.
    pub user: entity::user::Model,
    /// The caller's account.
    pub account: entity::account::Model,
}

/// The signing secret: `REACH_JWT_SECRET` where set, else the one generated on first use and kept
/// in the database (so `reach token` and every `reach serve` agree).
pub async fn signing_secret(db: &DatabaseConnection, settings: &Settings) -> Result<SecretString, DbErr> {
    match &settings.jwt_secret {
        Some(secret) => Ok(secret.clone()),
        None => crate::db::kept_secret(db, "jwt", 48).await,
    }
}

/// What `reach serve` warns when the signing secret would be generated into a PostgreSQL
/// database: fine for a demo, but in production whoever reads the database (a backup, a replica)
/// can then mint tokens. SQLite is the demo and development store, so it stays quiet.
pub fn generated_secret_warning(settings: &Settings) -> Option<&'static str> {
    (settings.jwt_secret.is_none() && settings.is_postgres()).then_some(
        "REACH_JWT_SECRET is not set: tokens are signed with a secret kept in the database; \
         set REACH_JWT_SECRET (at least 32 characters) in production",
    )
}
