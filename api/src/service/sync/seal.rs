//! Sealing platform tokens (ChaCha20-Poly1305): a token is stored as `v2:` and the base64 of a
//! random nonce and the ciphertext, bound to its account and to the base URL it was given for
//! (both are the associated data), so a sealed token copied to another account's row, or a row
//! whose `base_url` was pointed at another host, does not open: the token goes only where the
//! Support user who typed it meant it to go.
//!
//! Tokens sealed by earlier versions (`v1:`, bound to the account only) are not opened: they
//! carry no proof of the host they were meant for, so their runs fail with
//! `PLATFORM_TOKEN_UNUSABLE` until the token is set again.

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

const PREFIX: &str = "v2:";
/// Starts the associated data, so it never matches another use of the key.
const DOMAIN: &[u8] = b"reach/platform-token/v2\0";
const NONCE: usize = 12;

/// The key that seals and opens platform tokens.
#[derive(Clone)]
pub struct TokenKey(ChaCha20Poly1305);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// A sealed token that does not open: another key, another account or base URL, an earlier
/// version's seal, or damaged.
#[derive(Debug, thiserror::Error)]
#[error(
    "PLATFORM_TOKEN_UNUSABLE: the platform token cannot be used (the connection's baseUrl or the \
     server's platform_token_key changed since it was set); set the token again"
)]
pub struct Unsealable;

/// The associated data: the account (16 bytes) then the base URL, after a fixed domain tag.
fn aad(account_id: Uuid, base_url: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(DOMAIN.len() + 16 + base_url.len());
    aad.extend_from_slice(DOMAIN);
    aad.extend_from_slice(account_id.as_bytes());
    aad.extend_from_slice(base_url.as_bytes());
    aad
}

impl TokenKey {
    /// A key from the base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = crate::config::token_key_bytes(text)?;
        ChaCha20Poly1305::new_from_slice(&bytes)
            .map(Self)
            .map_err(|_| format!("must be 32 bytes once decoded, not {}", bytes.len()))
    }

    /// The server's key: `platform_token_key` where set, else the one generated once and kept in
    /// the database.
    pub async fn load(db: &DatabaseConnection, settings: &Settings) -> Result<Self, DbErr> {
        let text = match &settings.platform_token_key {
            Some(key) => key.clone(),
            None => crate::db::kept_secret(db, "platform_token_key", 32).await?,
        };
        Self::from_base64(text.expose_secret()).map_err(|why| DbErr::Custom(format!("platform_token_key {why}")))
    }

    /// `token` sealed for `account_id`'s platform at `base_url`.
    pub fn seal(&self, account_id: Uuid, base_url: &str, token: &str) -> String {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad(account_id, base_url);
        let payload = Payload {
            msg: token.as_bytes(),
            aad: &aad,
        };
        // Encryption fails only for messages over 256 GiB; tokens are capped far below.
        let sealed = self.0.encrypt(&Nonce::from(nonce), payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The token `sealed` holds for `account_id`'s platform at `base_url`.
    pub fn open(&self, account_id: Uuid, base_url: &str, sealed: &str) -> Result<SecretString, Unsealable> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE)
            .ok_or(Unsealable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| Unsealable)?;
        let aad = aad(account_id, base_url);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
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

    const URL: &str = "https://mx.example.com/api";

    #[test]
    fn a_sealed_token_opens_only_for_its_account_and_key() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = key(1).seal(a, URL, "s3cret-token");
        assert!(!sealed.contains("s3cret"), "the clear token is not stored");
        assert_ne!(sealed, key(1).seal(a, URL, "s3cret-token"), "a fresh nonce each time");
        let opened = key(1).open(a, URL, &sealed).map(|t| t.expose_secret().to_owned());
        assert_eq!(opened.ok().as_deref(), Some("s3cret-token"));
        assert!(key(1).open(b, URL, &sealed).is_err(), "bound to its account");
        assert!(key(2).open(a, URL, &sealed).is_err(), "bound to its key");
        assert!(key(1).open(a, URL, "v2:AAAA").is_err());
        assert!(key(1).open(a, URL, "garbage").is_err());
    }

    // issue 16 item 6: a sealed token moved to a row with another baseUrl does not open, so
    // pointing a connection elsewhere needs the token to be given again.
    #[test]
    fn a_sealed_token_opens_only_for_its_base_url() {
        let a = Uuid::now_v7();
        let sealed = key(1).seal(a, URL, "s3cret-token");
        for elsewhere in [
            "https://attacker.example.net",
            "http://169.254.169.254/latest",
            "https://mx.example.com/api/other",
            "https://mx.example.com/ap",
        ] {
            assert!(key(1).open(a, elsewhere, &sealed).is_err(), "{elsewhere}");
        }
        assert!(key(1).open(a, URL, &sealed).is_ok());
    }

    // issue 16 item 6: a token sealed the old way (account only) is not opened; it must be
    // set again.
    #[test]
    fn a_token_sealed_for_the_account_only_does_not_open() {
        let a = Uuid::now_v7();
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let old = key(1)
            .0
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: b"s3cret-token",
                    aad: a.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&old);
        let v1 = format!("v1:{}", STANDARD.encode(&bytes));
        assert!(key(1).open(a, URL, &v1).is_err());
        let relabelled = format!("v2:{}", STANDARD.encode(&bytes));
        assert!(
            key(1).open(a, URL, &relabelled).is_err(),
            "the old binding fails in the new format too"
        );
        assert!(Unsealable.to_string().starts_with("PLATFORM_TOKEN_UNUSABLE:"));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(TokenKey::from_base64("not base64!").is_err());
        assert!(TokenKey::from_base64(&STANDARD.encode([0u8; 16])).is_err());
        assert!(TokenKey::from_base64(&STANDARD.encode([0u8; 32])).is_ok());
    }
}
