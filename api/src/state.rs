//! Shared state: cloneable, held by the router and the schema.

use std::sync::{Arc, atomic::AtomicU64};

use sea_orm::DatabaseConnection;

use crate::{auth::Tokens, config::Settings};

/// What every request may need.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: DatabaseConnection,
    /// Settings, validated.
    pub settings: Arc<Settings>,
    /// Token signing and checking.
    pub tokens: Tokens,
    /// User principals kept between requests until the next change.
    pub principals: crate::auth::cache::PrincipalCache,
    /// SQL statements run since start.
    pub statements: Arc<AtomicU64>,
    /// Raised after a request that committed a change, for the plugins and the subscriptions'
    /// reader of the log.
    pub wake: integrations::Wake,
    /// This process's subscribers.
    pub live: crate::live::Live,
    /// Seals and opens the platform tokens.
    pub token_key: crate::service::sync::seal::TokenKey,
}

impl AppState {
    /// After a request that committed a change: kept principals are retired (the
    /// next request reads its caller's roles as they are now) and this process's readers of
    /// the log look at once.
    pub fn committed(&self) {
        self.principals.invalidate();
        self.wake.notify();
    }
}
