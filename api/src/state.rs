//! Shared state: cloneable, held by the router and the schema.

use std::sync::{Arc, atomic::AtomicU64};

use sea_orm::DatabaseConnection;

use crate::{
    auth::{AuthError, Claims, Own, Tokens},
    config::Settings,
    policy::Principal,
};

/// What every request may need: a handle on the [`App`], cheap to clone (one counter). Every
/// request, websocket operation and handler extraction clones it; a copy of the fields
/// themselves would copy the token keys and validation rules each time.
#[derive(Clone, Debug)]
pub struct AppState(Arc<App>);

impl AppState {
    /// Shares `app`.
    pub fn new(app: App) -> Self {
        Self(Arc::new(app))
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// The server's shared parts, behind an [`AppState`].
#[derive(Debug)]
pub struct App {
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
    /// What `/metrics` shows.
    pub metrics: crate::metrics::Metrics,
    /// The time schedules go by (the system clock unless a test stops it).
    pub clock: crate::clock::Clock,
}

impl App {
    /// After a request that committed a change: kept principals are retired (the
    /// next request reads its caller's roles as they are now) and this process's readers of
    /// the log look at once.
    pub fn committed(&self) {
        self.principals.invalidate();
        self.wake.notify();
    }

    /// Checks `token` and loads who it is now (roles as of this moment), with a user's records.
    pub(crate) async fn authenticate(&self, token: &str) -> Result<(Principal, Option<Own>, Claims), AuthError> {
        let claims = self.tokens.verify(token)?;
        let (principal, records) = self.tokens.principal(&self.db, &self.principals, &claims).await?;
        Ok((principal, records.map(|(user, account)| Own { user, account }), claims))
    }
}
