//! DataLoaders: nested fields (a user's account, location and roles) load in one query per page,
//! not one per row.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{account, location, role_assignment, user};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::service::directory;

/// Loads directory rows by key, batching the keys of one request.
pub struct DirectoryLoader {
    /// The database.
    pub db: DatabaseConnection,
}

/// The per-request loader: caches what it loaded for the rest of the request.
pub type RequestLoader = DataLoader<DirectoryLoader, HashMapCache>;

impl DirectoryLoader {
    /// A fresh loader for one request.
    pub fn for_request(db: DatabaseConnection) -> RequestLoader {
        DataLoader::with_cache(DirectoryLoader { db }, tokio::spawn, HashMapCache::default())
    }
}

/// Key: an account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey(pub Uuid);
/// Key: a location id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LocationKey(pub Uuid);
/// Key: a user id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);
/// Key: the roles of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RolesOfUser(pub Uuid);

fn keys<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

fn rekey<K: Eq + std::hash::Hash, V>(map: HashMap<Uuid, V>, f: impl Fn(Uuid) -> K) -> HashMap<K, V> {
    map.into_iter().map(|(k, v)| (f(k), v)).collect()
}

impl Loader<AccountKey> for DirectoryLoader {
    type Value = account::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[AccountKey]) -> Result<HashMap<AccountKey, Self::Value>, Self::Error> {
        Ok(rekey(
            directory::accounts_by_id(&self.db, &keys(k, |k| k.0)).await?,
            AccountKey,
        ))
    }
}

impl Loader<LocationKey> for DirectoryLoader {
    type Value = location::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[LocationKey]) -> Result<HashMap<LocationKey, Self::Value>, Self::Error> {
        Ok(rekey(
            directory::locations_by_id(&self.db, &keys(k, |k| k.0)).await?,
            LocationKey,
        ))
    }
}

impl Loader<UserKey> for DirectoryLoader {
    type Value = user::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[UserKey]) -> Result<HashMap<UserKey, Self::Value>, Self::Error> {
        Ok(rekey(
            directory::users_by_id(&self.db, &keys(k, |k| k.0)).await?,
            UserKey,
        ))
    }
}

impl Loader<RolesOfUser> for DirectoryLoader {
    type Value = Vec<role_assignment::Model>;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[RolesOfUser]) -> Result<HashMap<RolesOfUser, Self::Value>, Self::Error> {
        let mut found = directory::roles_of_users(&self.db, &keys(k, |k| k.0)).await?;
        // Every key gets an answer, an empty list included, so the cache covers users without roles.
        Ok(k.iter()
            .map(|key| (*key, found.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}
