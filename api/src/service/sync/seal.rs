//! Sealing platform tokens (ChaCha20-Poly1305): a token is stored as `v1:` and the base64 of a
//! random nonce and the ciphertext, bound to its account (the account id is the associated
//! data), so a sealed token copied to another account's row does not open.

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use rand::RngCore;
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::Settings;

const PREFIX: &str = "v1:";
const NONCE: usize = 12;

/// The key that seals and opens platform tokens.
#[derive(Clone)]
pub struct TokenKey(ChaCha20Poly1305);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// A sealed token that does not open: another key, another account, or damaged.
#[derive(Debug, thiserror::Error)]
#[error("the platform token cannot be opened with this server's key (was platform_token_key changed?)")]
pub struct Unsealable;

impl TokenKey {
    /// A key from the base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| "must be base64 (32 random bytes, e.g. `openssl rand -base64 32`)".to_owned())?;
        ChaCha20Poly1305::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| format!("must be 32 bytes once decoded, not {}", bytes.len()))
    }

    /// The server's key: `platform_token_key` where set, else the one generated once and kept in
    /// the database.
    pub async fn load(db: &DatabaseConnection, settings: &Settings) -> Result<Self, DbErr> {
        let text = match &settings.platform_token_key {
            Some(key) => key.clone(),
            None => crate::auth::kept_secret(db, "platform_token_key", 32).await?,
        };
        Self::from_base64(text.expose_secret()).map_err(|why| DbErr::Custom(format!("platform_token_key {why}")))
    }

    /// `token` sealed for `account_id`.
    pub fn seal(&self, account_id: Uuid, token: &str) -> String {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: token.as_bytes(),
            aad: account_id.as_bytes(),
        };
        // Encryption fails only for messages over 256 GiB; tokens are capped far below.
        let sealed = self.0.encrypt(&Nonce::from(nonce), payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The token `sealed` holds for `account_id`.
    pub fn open(&self, account_id: Uuid, sealed: &str) -> Result<SecretString, Unsealable> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE)
            .ok_or(Unsealable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| Unsealable)?;
        let payload = Payload {
            msg: ciphertext,
            aad: account_id.as_bytes(),
        };
        let clear = self.0.decrypt(&Nonce::from(nonce), payload).map_err(|_| Unsealable)?;
        String::from_utf8(clear).map(SecretString::from).map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> TokenKey {
        TokenKey::from_base64(&STANDARD.encode([byte; 32])).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_account_and_key() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = key(1).seal(a, "s3cret-token");
        assert!(!sealed.contains("s3cret"), "the clear token is not stored");
        assert_ne!(sealed, key(1).seal(a, "s3cret-token"), "a fresh nonce each time");
        let opened = key(1).open(a, &sealed).map(|t| t.expose_secret().to_owned());
        assert_eq!(opened.ok().as_deref(), Some("s3cret-token"));
        assert!(key(1).open(b, &sealed).is_err(), "bound to its account");
        assert!(key(2).open(a, &sealed).is_err(), "bound to its key");
        assert!(key(1).open(a, "v1:AAAA").is_err());
        assert!(key(1).open(a, "garbage").is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(TokenKey::from_base64("not base64!").is_err());
        assert!(TokenKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(TokenKey::from_base64(&STANDARD.encode([0u8; 32])).is_ok());
    }
}
