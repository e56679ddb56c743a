//! Remote Extension loaders on the request's [`DbLoader`]: a user's numbers, statuses and
//! record, and numbers, statuses and profiles by id — each batched over a page of users.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{client_profile, dynamic_status, remote_user, user_number};
use uuid::Uuid;

use crate::{
    graphql::common::loader::{DbLoader, RequestLoader},
    service::remote,
};

/// Key: a user's numbers, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NumbersOfUser(pub Uuid);
/// Key: a user's statuses, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusesOfUser(pub Uuid);
/// Key: a user's Remote Extension record (active status, client profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemoteOfUser(pub Uuid);
/// Key: a number id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NumberKey(pub Uuid);
/// Key: a status id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StatusKey(pub Uuid);
/// Key: a client profile id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProfileKey(pub Uuid);

/// Key: an account id, for its holidays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HolidaysOfAccount(pub Uuid);

/// Empties the Remote Extension part of the request's cache.
pub fn forget(loader: &RequestLoader) {
    loader.clear::<NumbersOfUser>();
    loader.clear::<StatusesOfUser>();
    loader.clear::<RemoteOfUser>();
    loader.clear::<NumberKey>();
    loader.clear::<StatusKey>();
    loader.clear::<ProfileKey>();
    loader.clear::<HolidaysOfAccount>();
}

type LoadResult<K, V> = Result<HashMap<K, V>, std::sync::Arc<sea_orm::DbErr>>;

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

/// A loader through one of the service's batch reads; `$list` answers an empty list for a key
/// the read did not return.
macro_rules! loader {
    ($key:ident, $value:ty, $fetch:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = std::sync::Arc<sea_orm::DbErr>;

            async fn load(&self, k: &[$key]) -> LoadResult<$key, Self::Value> {
                let found = $fetch(&self.db, &ids(k, |k| k.0)).await?;
                Ok(found.into_iter().map(|(id, m)| ($key(id), m)).collect())
            }
        }
    };
    ($key:ident, $value:ty, $fetch:path, list) => {
        impl Loader<$key> for DbLoader {
            type Value = $value;
            type Error = std::sync::Arc<sea_orm::DbErr>;

            async fn load(&self, k: &[$key]) -> LoadResult<$key, Self::Value> {
                let mut found = $fetch(&self.db, &ids(k, |k| k.0)).await?;
                Ok(k.iter()
                    .map(|key| (*key, found.remove(&key.0).unwrap_or_default()))
                    .collect())
            }
        }
    };
}

loader!(NumbersOfUser, Vec<user_number::Model>, remote::numbers_of_users, list);
loader!(
    StatusesOfUser,
    Vec<dynamic_status::Model>,
    remote::statuses_of_users,
    list
);
loader!(RemoteOfUser, remote_user::Model, remote::remote_users);
loader!(NumberKey, user_number::Model, remote::numbers_by_id);
loader!(StatusKey, dynamic_status::Model, remote::statuses_by_id);
loader!(ProfileKey, client_profile::Model, remote::profiles_by_id);
loader!(
    HolidaysOfAccount,
    Vec<entity::account_holiday::Model>,
    remote::schedule::holidays_of_accounts,
    list
);

/// The `User` fields that read a user's Remote Extension rows.
pub const USER_FIELDS: [&str; 7] = [
    "numbers",
    "dynamicStatuses",
    "activeStatus",
    "activeRemoteExtension",
    "canAddRemoteExtension",
    "canAddStatus",
    "clientProfile",
];

/// Of [`USER_FIELDS`], those that read a user's numbers.
pub const NUMBER_FIELDS: [&str; 3] = ["numbers", "activeRemoteExtension", "canAddRemoteExtension"];

/// Of [`USER_FIELDS`], those that read a user's statuses.
pub const STATUS_FIELDS: [&str; 6] = [
    "dynamicStatuses",
    "activeStatus",
    "activeRemoteExtension",
    "canAddRemoteExtension",
    "canAddStatus",
    "clientProfile",
];

/// The fields of a status (under `dynamicStatuses`) that read the user's Remote Extension record
/// and client profile: whether it is active or editable.
const STATUS_RECORD_FIELDS: [&str; 2] = ["isActive", "editable"];

/// Which of a user's Remote Extension rows a selection reads.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    /// The numbers ([`NUMBER_FIELDS`]).
    pub numbers: bool,
    /// The statuses ([`STATUS_FIELDS`]).
    pub statuses: bool,
    /// The Remote Extension record and the client profile (what `user_remote` in `types.rs`
    /// reads with the statuses): every field of [`STATUS_FIELDS`] but the list of statuses
    /// itself, and the list's [`STATUS_RECORD_FIELDS`].
    pub records: bool,
}

impl Wanted {
    /// What a selection asking for the `User` field paths `asks` reads.
    pub fn of(asks: impl Fn(&[&str]) -> bool) -> Self {
        Self {
            numbers: NUMBER_FIELDS.iter().any(|f| asks(&[f])),
            statuses: STATUS_FIELDS.iter().any(|f| asks(&[f])),
            records: STATUS_FIELDS
                .iter()
                .filter(|f| **f != "dynamicStatuses")
                .any(|f| asks(&[f]))
                || STATUS_RECORD_FIELDS.iter().any(|f| asks(&["dynamicStatuses", f])),
        }
    }
}

/// Loads, in one batch each, the Remote Extension rows of a page of users of `account` that
/// `wanted` names (their numbers; their statuses, records and client profiles) and feeds them to
/// the request's loader, so that the page's items resolve from its cache (see
/// `prefetch_users`). The reads run here, not through the loader, which would wait its batching
/// delay before each; what is not prefetched still loads on demand.
pub async fn prefetch(
    loader: &RequestLoader,
    account: &entity::account::Model,
    users: &[Uuid],
    wanted: Wanted,
) -> Result<(), std::sync::Arc<sea_orm::DbErr>> {
    if account.platform != entity::Platform::MxOne {
        return Ok(());
    }
    let db = &loader.loader().db;
    // What is wanted, read side by side as before the choice.
    let numbers = async {
        if !wanted.numbers {
            return Ok(None);
        }
        remote::numbers_of_users(db, users).await.map(Some)
    };
    let statuses = async {
        if !wanted.statuses {
            return Ok(None);
        }
        remote::statuses_of_users(db, users).await.map(Some)
    };
    let records = async {
        if !wanted.records {
            return Ok(None);
        }
        remote::remote_users(db, users).await.map(Some)
    };
    let (numbers, statuses, records) = futures::try_join!(numbers, statuses, records)?;
    if let Some(mut numbers) = numbers {
        loader
            .feed_many(
                users
                    .iter()
                    .map(|u| (NumbersOfUser(*u), numbers.remove(u).unwrap_or_default())),
            )
            .await;
    }
    if let Some(mut statuses) = statuses {
        loader
            .feed_many(
                users
                    .iter()
                    .map(|u| (StatusesOfUser(*u), statuses.remove(u).unwrap_or_default())),
            )
            .await;
    }
    let Some(records) = records else {
        return Ok(());
    };
    let mut profiles: Vec<Uuid> = users
        .iter()
        .map(|u| remote::profile_id(records.get(u), account.id))
        .collect();
    profiles.sort();
    profiles.dedup();
    let profiles = remote::profiles_by_id(db, &profiles).await?;
    loader
        .feed_many(records.into_iter().map(|(id, r)| (RemoteOfUser(id), r)))
        .await;
    loader
        .feed_many(profiles.into_iter().map(|(id, p)| (ProfileKey(id), p)))
        .await;
    Ok(())
}
