//! The per-request loader every domain's nested fields load through: one batched query per kind
//! of row and page, not one per row. Its cache lives for one request, and is emptied before each
//! mutation field ([`forget_all`]) so that a payload shows what earlier fields of the same request
//! changed. Each domain adds its keys in its own `loaders.rs`.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache};
use futures::FutureExt;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// Loads rows by key for every domain, batching the keys of one request.
pub struct DbLoader {
    /// The database.
    pub db: DatabaseConnection,
}

/// The per-request loader: caches what it loaded for the rest of the request.
pub type RequestLoader = DataLoader<DbLoader, HashMapCache>;

impl DbLoader {
    /// A fresh loader for one request.
    pub fn for_request(db: DatabaseConnection) -> RequestLoader {
        // A batch runs in a task of its own; when spans are exported, inside the span that asked
        // for it (the operation's), so that its statements belong to the request's trace.
        let spawn = |batch: futures::future::BoxFuture<'static, ()>| {
            if integrations::trace_context::exporting() {
                tokio::spawn(tracing::Instrument::in_current_span(batch).boxed())
            } else {
                tokio::spawn(batch)
            }
        };
        DataLoader::with_cache(DbLoader { db }, spawn, HashMapCache::default())
    }
}

/// Empties the request's cache (before a mutation field runs: [`crate::graphql::MutationRoot`]).
pub fn forget_all(loader: &RequestLoader) {
    crate::graphql::directory::loaders::forget(loader);
    crate::graphql::mobility::loaders::forget(loader);
    crate::graphql::remote::loaders::forget(loader);
}

/// A loader failure, shown to the client as `INTERNAL` (`TIMEOUT` when the pool is exhausted).
pub fn load_err(e: std::sync::Arc<sea_orm::DbErr>) -> async_graphql::Error {
    crate::graphql::errors::db_ref(&e)
}

pub(crate) fn keys<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

pub(crate) fn rekey<K: Eq + std::hash::Hash, V>(map: HashMap<Uuid, V>, f: impl Fn(Uuid) -> K) -> HashMap<K, V> {
    map.into_iter().map(|(k, v)| (f(k), v)).collect()
}
