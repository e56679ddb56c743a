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
    (1..=MAX_SUPPORT_NAME).contains(&len)
        && text::displayable(name).is_ok()
        && !crate::policy::SYSTEM_NAMES.contains(&name)
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

/// Why a request is not authenticated (always HTTP 401 `UNAUTHENTICATED`). Each message says
/// what is wrong and what to do; the clock's verdicts (expired, not yet valid, too long-lived) are
/// given only for a token whose signature, issuer and audience passed. A websocket's close
/// reason carries the message too, so each stays within [`MAX_MESSAGE_BYTES`].
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    /// The token's `exp` (seconds since the epoch) has passed, with the leeway.
    #[error("the token expired at {}; ask for a new one", instant(*.0))]
    Expired(i64),
    /// The token's `nbf` or `iat` (seconds since the epoch) is ahead of the clock, past the skew.
    #[error("the token is not valid before {}; check the issuer's clock", instant(*.0))]
    NotYetValid(i64),
    /// The token's lifetime (`exp - iat`) is longer than the most allowed, in seconds.
    #[error("the token lives longer than the {0} s allowed (exp - iat); ask for a shorter-lived one")]
    TooLong(i64),
    /// Bad signature, algorithm or claims (the caller learns no more about a token it may have
    /// forged).
    #[error("invalid token (signature, algorithm, issuer, audience or claims); ask for a new one")]
    Invalid,
    /// The user the token names no longer exists.
    #[error("the token's user no longer exists; ask for a token of an existing user")]
    UnknownUser,
    /// The database failed while loading the principal.
    #[error("database error")]
    Db(#[from] DbErr),
}

/// Longest [`AuthError`] message, in bytes: a websocket close reason holds 123, and the refusal
/// puts `Forbidden: ` before it.
pub const MAX_MESSAGE_BYTES: usize = 123 - "Forbidden: ".len();

/// Seconds since the epoch as a message shows them: RFC 3339 in UTC, to the second.
fn instant(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0).map_or_else(
        || seconds.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
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
        self.check(claims, now).is_ok()
    }

    /// [`Self::admits`], saying why not.
    fn check(&self, claims: &Claims, now: i64) -> Result<(), AuthError> {
        let horizon = now.saturating_add(self.nbf_leeway);
        if claims.nbf > horizon || claims.iat > horizon {
            return Err(AuthError::NotYetValid(claims.nbf.max(claims.iat)));
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime {
            return Err(AuthError::TooLong(self.max_lifetime));
        }
        Ok(())
    }
}

/// The key a caller's requests are counted under by the rate limiter and the per-token
/// subscription cap: who the principal is, whatever spelling of the id the token used (an
/// upper-case or braced UUID names the same user).
pub fn rate_key(principal: &Principal) -> String {
    match principal {
        Principal::User(user) => user
            .user_id
            .hyphenated()
            .encode_lower(&mut Uuid::encode_buffer())
            .to_owned(),
        Principal::Support { name } => ["support:", name.as_str()].concat(),
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
        // The clock rules are checked in `verify`, after the signature, issuer and audience, so
        // that a refusal can say which one failed: `exp` with its leeway, `nbf` with its own skew.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let timing = TokenTiming::default();
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
            self.on_the_clock(&claims, now)?;
            return Ok(claims.as_ref().clone());
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::Invalid)?;
        self.on_the_clock(&claims, now)?;
        self.verified.keep(token, Arc::new(claims.clone()));
        Ok(claims)
    }

    /// The clock rules on claims whose signature passed: not expired (with the leeway), then
    /// [`TokenTiming::admits`].
    fn on_the_clock(&self, claims: &Claims, now: i64) -> Result<(), AuthError> {
        if now > self.expires_at(claims) {
            return Err(AuthError::Expired(claims.exp));
        }
        self.timing.check(claims, now)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(
            &SecretString::from("a test secret of at least thirty-two bytes"),
            "reach",
            "reach-api",
        )
    }

    fn signed(tokens: &Tokens, secret: &str, iat: i64, nbf: i64, exp: i64) -> String {
        let claims = Claims {
            iss: tokens.issuer.clone(),
            aud: tokens.audience.clone(),
            sub: "support:sam".into(),
            kind: TokenKind::Support,
            name: Some("sam".into()),
            iat,
            nbf,
            exp,
            jti: "t".into(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_refusal_says_what_is_wrong() {
        let tokens = tokens();
        let secret = "a test secret of at least thirty-two bytes";
        let now = Utc::now().timestamp();
        let at = |s| instant(s);

        let expired = signed(&tokens, secret, now - 600, now - 600, now - 60);
        let e = tokens.verify(&expired).unwrap_err();
        assert!(matches!(e, AuthError::Expired(exp) if exp == now - 60), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("the token expired at {}; ask for a new one", at(now - 60))
        );

        // Only a token whose signature passed learns about its clock.
        let forged = signed(
            &tokens,
            "another secret of thirty-two bytes!!",
            now - 600,
            now - 600,
            now - 60,
        );
        assert!(matches!(tokens.verify(&forged), Err(AuthError::Invalid)));

        let early = signed(&tokens, secret, now, now + 3600, now + 7200);
        assert!(matches!(tokens.verify(&early), Err(AuthError::NotYetValid(t)) if t == now + 3600));
        let long = signed(&tokens, secret, now, now, now + 2 * 24 * 3600);
        assert!(matches!(tokens.verify(&long), Err(AuthError::TooLong(s)) if s == 24 * 3600));

        // A token kept from an earlier use expires with the same answer.
        let short = signed(&tokens, secret, now, now, now + 600);
        let kept = tokens.verify(&short).unwrap();
        let later = now + 700;
        assert!(matches!(tokens.on_the_clock(&kept, later), Err(AuthError::Expired(exp)) if exp == now + 600));
    }

    #[test]
    fn every_message_fits_a_websocket_close_reason() {
        for e in [
            AuthError::Missing,
            AuthError::Expired(i64::MAX),
            AuthError::Expired(253_402_300_799),
            AuthError::NotYetValid(253_402_300_799),
            AuthError::TooLong(i64::MAX),
            AuthError::Invalid,
            AuthError::UnknownUser,
        ] {
            let message = e.to_string();
            assert!(message.len() <= MAX_MESSAGE_BYTES, "{} bytes: {message}", message.len());
        }
    }
}
