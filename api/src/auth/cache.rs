//! Who a user token stands for, kept between requests for a moment: every request with a user
//! token needs the caller's roles and records, and reading them is a statement of its own that
//! the answer itself does not need.
//!
//! An entry is used only while nothing may have changed it. Every committed change that could
//! (a mutation of this process, a notification that another process committed, an event the
//! reader of the log finds) calls [`PrincipalCache::invalidate`], which retires every entry at
//! once; an entry read before such a change is never used after it. The time to live bounds
//! what no signal reaches (another process on SQLite with subscriptions off).

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use entity::{account, user};
use sea_orm::DbErr;
use uuid::Uuid;

use crate::policy::UserPrincipal;

/// A user, their roles, and their user and account records, as read together.
pub type Loaded = (UserPrincipal, (user::Model, account::Model));

/// Most users kept at once; past it, entries no longer usable are dropped, then all of them.
const MAX_ENTRIES: usize = 10_000;

/// The cache of user principals.
pub type PrincipalCache = Kept<Loaded>;

/// Values by user, each kept until the next change or its time to live (cheap to clone: clones
/// share it).
pub struct Kept<T>(Arc<Inner<T>>);

impl<T> Clone for Kept<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Inner<T> {
    ttl: Duration,
    /// Raised by each change that may make an entry wrong.
    epoch: AtomicU64,
    entries: Mutex<HashMap<Uuid, Entry<T>>>,
}

struct Entry<T> {
    /// The epoch before the entry was read.
    epoch: u64,
    until: Instant,
    value: Arc<T>,
}

impl<T> std::fmt::Debug for Kept<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("ttl", &self.0.ttl).finish_non_exhaustive()
    }
}

impl<T: Clone> Kept<T> {
    /// A cache keeping each entry at most `ttl`; zero keeps nothing (every request reads).
    pub fn new(ttl: Duration) -> Self {
        Self(Arc::new(Inner {
            ttl,
            epoch: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }))
    }

    /// Retires every entry: something that may change a user's roles or records committed.
    pub fn invalidate(&self) {
        self.0.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The user `user_id` as kept, or as `load` reads it now (and then kept, unless a change
    /// came while it read). `None` (no such user) is not kept.
    pub async fn get_or_load<F, Fut>(&self, user_id: Uuid, load: F) -> Result<Option<T>, DbErr>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, DbErr>>,
    {
        if self.0.ttl.is_zero() {
            return load().await;
        }
        // Taken before reading, so that a change committed during the read retires the entry.
        let epoch = self.0.epoch.load(Ordering::Acquire);
        if let Some(kept) = self.kept(user_id, epoch) {
            return Ok(Some(kept.as_ref().clone()));
        }
        let loaded = load().await?;
        if let Some(value) = &loaded {
            self.keep(user_id, epoch, Arc::new(value.clone()));
        }
        Ok(loaded)
    }

    fn kept(&self, user_id: Uuid, epoch: u64) -> Option<Arc<T>> {
        let entries = self.0.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&user_id)
            .filter(|e| e.epoch == epoch && Instant::now() < e.until)
            .map(|e| e.value.clone())
    }

    fn keep(&self, user_id: Uuid, epoch: u64, value: Arc<T>) {
        let now = Instant::now();
        let current = self.0.epoch.load(Ordering::Acquire);
        if current != epoch {
            // A change came while it was read: the reading may be older than the change.
            return;
        }
        let mut entries = self.0.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&user_id) {
            entries.retain(|_, e| e.epoch == current && now < e.until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            user_id,
            Entry {
                epoch,
                until: now + self.0.ttl,
                value,
            },
        );
    }
}

/// Most verified tokens kept at once; past it, all are dropped.
const MAX_TOKENS: usize = 10_000;

/// What tokens' signatures were found to say, by token (cheap to clone: clones share it).
/// A token's signed claims never change, so checking its signature again would find the same;
/// what depends on the time (expiry, not-before) is checked again at each use by the caller.
/// Only tokens that passed are kept.
#[derive(Clone, Debug)]
pub struct Verified(crate::by_text::ByText<crate::auth::Claims>);

impl Default for Verified {
    fn default() -> Self {
        Self(crate::by_text::ByText::new(MAX_TOKENS))
    }
}

impl Verified {
    /// The claims of `token` if its signature passed before.
    pub fn get(&self, token: &str) -> Option<Arc<crate::auth::Claims>> {
        self.0.get(token)
    }

    /// Keeps the claims whose signature `token` carries.
    pub fn keep(&self, token: &str, claims: Arc<crate::auth::Claims>) {
        self.0.keep(token, claims);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A cache of numbers whose loads count themselves and answer the count.
    fn counting(ttl_ms: u64) -> (Kept<usize>, Arc<AtomicUsize>) {
        (Kept::new(Duration::from_millis(ttl_ms)), Arc::new(AtomicUsize::new(0)))
    }

    async fn read(cache: &Kept<usize>, loads: &Arc<AtomicUsize>, id: Uuid) -> usize {
        let loads = loads.clone();
        cache
            .get_or_load(id, || async move { Ok(Some(loads.fetch_add(1, Ordering::SeqCst) + 1)) })
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_kept_value_serves_until_a_change_retires_it() {
        let (cache, loads) = counting(60_000);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(read(&cache, &loads, a).await, 1);
        assert_eq!(read(&cache, &loads, a).await, 1, "kept");
        assert_eq!(read(&cache, &loads, b).await, 2, "kept per user");
        cache.invalidate();
        assert_eq!(read(&cache, &loads, a).await, 3, "read again after a change");
        assert_eq!(read(&cache, &loads, b).await, 4);
        assert_eq!(read(&cache, &loads, a).await, 3);
    }

    #[tokio::test]
    async fn a_value_read_while_a_change_commits_is_not_kept() {
        let (cache, loads) = counting(60_000);
        let id = Uuid::new_v4();
        let during = cache.clone();
        let first = cache
            .get_or_load(id, || async move {
                during.invalidate();
                Ok(Some(100))
            })
            .await
            .unwrap();
        assert_eq!(first, Some(100));
        assert_eq!(
            read(&cache, &loads, id).await,
            1,
            "the reading from before the change is not used"
        );
    }

    #[tokio::test]
    async fn values_expire_and_a_zero_ttl_keeps_nothing() {
        let (cache, loads) = counting(30);
        let id = Uuid::new_v4();
        assert_eq!(read(&cache, &loads, id).await, 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(read(&cache, &loads, id).await, 2, "expired");

        let (cache, loads) = counting(0);
        assert_eq!(read(&cache, &loads, id).await, 1);
        assert_eq!(read(&cache, &loads, id).await, 2);
    }

    #[tokio::test]
    async fn no_user_is_not_kept() {
        let cache: Kept<usize> = Kept::new(Duration::from_secs(60));
        let id = Uuid::new_v4();
        assert_eq!(cache.get_or_load(id, || async { Ok(None) }).await.unwrap(), None);
        assert_eq!(cache.get_or_load(id, || async { Ok(Some(7)) }).await.unwrap(), Some(7));
    }
}
