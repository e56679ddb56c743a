//! Mobility loaders on the request's [`DbLoader`]: an account's add-on, a user's mobility
//! record, a notification and its deliveries — each batched over a page.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{mobility_account, mobility_notification, mobility_user, notification_delivery};
use uuid::Uuid;

use crate::{
    graphql::common::loader::{DbLoader, RequestLoader},
    service::mobility,
};

/// Key: the add-on row of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddonOfAccount(pub Uuid);
/// Key: the mobility record of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MobilityOfUser(pub Uuid);
/// Key: a notification id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotificationKey(pub Uuid);
/// Key: the delivery rows of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliveriesOf(pub Uuid);

/// Empties the mobility part of the request's cache.
pub fn forget(loader: &RequestLoader) {
    loader.clear::<AddonOfAccount>();
    loader.clear::<MobilityOfUser>();
    loader.clear::<NotificationKey>();
    loader.clear::<DeliveriesOf>();
}

type LoadResult<K, V> = Result<HashMap<K, V>, std::sync::Arc<sea_orm::DbErr>>;

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| f(*k)).collect()
}

impl Loader<AddonOfAccount> for DbLoader {
    type Value = mobility_account::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[AddonOfAccount]) -> LoadResult<AddonOfAccount, Self::Value> {
        let found = mobility::addons_by_account(&self.db, &ids(k, |k| k.0)).await?;
        Ok(found.into_iter().map(|(id, m)| (AddonOfAccount(id), m)).collect())
    }
}

impl Loader<MobilityOfUser> for DbLoader {
    type Value = mobility_user::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[MobilityOfUser]) -> LoadResult<MobilityOfUser, Self::Value> {
        let found = mobility::mobility_of_users(&self.db, &ids(k, |k| k.0)).await?;
        Ok(found.into_iter().map(|(id, m)| (MobilityOfUser(id), m)).collect())
    }
}

impl Loader<NotificationKey> for DbLoader {
    type Value = mobility_notification::Model;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[NotificationKey]) -> LoadResult<NotificationKey, Self::Value> {
        let found = mobility::notifications_by_id(&self.db, &ids(k, |k| k.0)).await?;
        Ok(found.into_iter().map(|(id, m)| (NotificationKey(id), m)).collect())
    }
}

impl Loader<DeliveriesOf> for DbLoader {
    type Value = Vec<notification_delivery::Model>;
    type Error = std::sync::Arc<sea_orm::DbErr>;

    async fn load(&self, k: &[DeliveriesOf]) -> LoadResult<DeliveriesOf, Self::Value> {
        let mut found = mobility::deliveries_of(&self.db, &ids(k, |k| k.0)).await?;
        Ok(k.iter()
            .map(|key| (*key, found.remove(&key.0).unwrap_or_default()))
            .collect())
    }
}
