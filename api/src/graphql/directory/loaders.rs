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

/// Loads, in one batch each, what the selection asks of a page of users (their locations, roles
/// and the roles' locations, their Remote Extension rows) and seeds the request's loader with
/// them, the users and their account. The items then resolve from the loader's cache, so a page
/// costs the same number of statements whatever its size; without this, items resolving a
/// little apart could split a batch in two. The reads run here rather than through the loader,
/// which would wait its batching delay (a millisecond) before each.
///
/// `under` is the path from a list item to its user: empty for a list of users, `["user"]` for
/// items that hold one (a `MobilityUser`).
pub async fn prefetch_users<'a>(
    ctx: &async_graphql::Context<'_>,
    account: &account::Model,
    users: impl Iterator<Item = &'a user::Model> + Clone,
    under: &[&str],
) -> async_graphql::Result<()> {
    let look = ctx.look_ahead();
    let items = [look.field("nodes"), look.field("edges").field("node")].map(|mut item| {
        for name in under {
            item = item.field(name);
        }
        item
    });
    prefetch_for(ctx, account, users, &items, false).await
}

/// [`prefetch_users`] for the one user the current field resolves to (`me`, `viewer.user`).
pub async fn prefetch_user(
    ctx: &async_graphql::Context<'_>,
    account: &account::Model,
    user: &user::Model,
) -> async_graphql::Result<()> {
    let built = numbers_built(ctx);
    prefetch_for(ctx, account, std::iter::once(user), &[ctx.look_ahead()], built).await
}

/// Whether the `numbers` of the user `ctx` resolves alone are built by that field
/// (`User.numbers`) rather than read here: every `numbers` its selection names directly is one
/// a built page shows, and no fragment could name more.
fn numbers_built(ctx: &async_graphql::Context<'_>) -> bool {
    use async_graphql::parser::types::Selection;
    let columns = crate::graphql::remote::types::UserNumber::columns();
    ctx.item
        .node
        .selection_set
        .node
        .items
        .iter()
        .all(|item| match &item.node {
            Selection::Field(f) => f.node.name.node != "numbers" || crate::graphql::built::builds(&f.node, &columns),
            _ => false,
        })
}

async fn prefetch_for<'a>(
    ctx: &async_graphql::Context<'_>,
    account: &account::Model,
    users: impl Iterator<Item = &'a user::Model> + Clone,
    items: &[async_graphql::Lookahead<'_>],
    numbers_built: bool,
) -> async_graphql::Result<()> {
    let loader = ctx.data::<RequestLoader>()?;
    let db = &loader.loader().db;
    let wants = |path: &[&str]| {
        items.iter().any(|item| {
            let mut sel = item.field(path[0]);
            for name in &path[1..] {
                sel = sel.field(name);
            }
            sel.exists()
        })
    };
    loader.feed_one(AccountKey(account.id), account.clone()).await;
    loader
        .feed_many(users.clone().map(|u| (UserKey(u.id), u.clone())))
        .await;
    let ids: Vec<Uuid> = users.clone().map(|u| u.id).collect();
    let mut locations: Vec<Uuid> = Vec::new();
    if wants(&["location"]) {
        locations.extend(users.clone().filter_map(|u| u.location_id));
    }
    if wants(&["roles"]) {
        let mut roles = directory::roles_of_users(db, &ids)
            .await
            .map_err(crate::graphql::errors::db)?;
        if wants(&["roles", "location"]) {
            locations.extend(roles.values().flatten().filter_map(|r| r.location_id));
        }
        loader
            .feed_many(
                ids.iter()
                    .map(|id| (RolesOfUser(*id), roles.remove(id).unwrap_or_default())),
            )
            .await;
    }
    if !locations.is_empty() {
        locations.sort();
        locations.dedup();
        let found = directory::locations_by_id(db, &locations)
            .await
            .map_err(crate::graphql::errors::db)?;
        loader
            .feed_many(found.into_iter().map(|(id, l)| (LocationKey(id), l)))
            .await;
    }
    let mut remote = crate::graphql::remote::loaders::Wanted::of(wants);
    if numbers_built {
        remote.numbers = crate::graphql::remote::loaders::NUMBER_FIELDS
            .iter()
            .any(|f| *f != "numbers" && wants(&[f]));
    }
    if remote.numbers || remote.statuses {
        crate::graphql::remote::loaders::prefetch(loader, account, &ids, remote)
            .await
            .map_err(load_err)?;
    }
    Ok(())
}
