//! Directory loaders on the request's [`DbLoader`]: accounts, locations, users, their roles,
//! access numbers and role assignments by key.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{access_number, account, location, role_assignment, user};
use uuid::Uuid;

use crate::graphql::common::loader::{DbLoader, keys, rekey};
pub use crate::graphql::common::loader::{RequestLoader, load_err};
use crate::service::directory;

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
/// Key: an access number id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccessNumberKey(pub Uuid);
/// Key: a role assignment id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoleAssignmentKey(pub Uuid);

/// Empties the directory's part of the request's cache ([`crate::graphql::common::loader::forget_all`]).
pub fn forget(loader: &RequestLoader) {
    loader.clear::<AccountKey>();
    loader.clear::<LocationKey>();
    loader.clear::<UserKey>();
    loader.clear::<RolesOfUser>();
    loader.clear::<AccessNumberKey>();
    loader.clear::<RoleAssignmentKey>();
}

/// A loader of rows by their id, through one of the service's batch reads.
macro_rules! by_id {
    ($key:ident, $model:ty, $fetch:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $model;
            type Error = std::sync::Arc<sea_orm::DbErr>;

            async fn load(&self, k: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                Ok(rekey($fetch(&self.db, &keys(k, |k| k.0)).await?, $key))
            }
        }
    };
}

by_id!(AccountKey, account::Model, directory::accounts_by_id);
by_id!(LocationKey, location::Model, directory::locations_by_id);
by_id!(UserKey, user::Model, directory::users_by_id);
by_id!(AccessNumberKey, access_number::Model, directory::access_numbers_by_id);
by_id!(
    RoleAssignmentKey,
    role_assignment::Model,
    directory::role_assignments_by_id
);

impl Loader<RolesOfUser> for DbLoader {
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
