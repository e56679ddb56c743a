//! What a page of users (or one user) will show, loaded before its items resolve: the
//! directory's rows and Remote Extension's, in one batch each.

use async_graphql::{Context, Lookahead, Result};
use entity::{account, user};
use uuid::Uuid;

use super::User;
use crate::{
    auth::Own,
    graphql::{
        built, context,
        directory::loaders::{AccountKey, LocationKey, RequestLoader, RolesOfUser, UserKey, load_err},
        errors,
        remote::{
            loaders::{self as remote, NUMBER_FIELDS, STATUS_FIELDS, Wanted},
            types::{DynamicStatus, UserNumber},
        },
    },
    service::directory,
};

/// The caller's user for a field that returns it (`me`, `viewer.user`): read here, with what its
/// selection asks of it (location, roles, numbers, statuses) in one batch each, so that a user's
/// own screen runs a fixed few statements and never waits on the loader's batching delay.
pub async fn user_with_selection(ctx: &Context<'_>, user_id: uuid::Uuid) -> Result<Option<User>> {
    let db = context::db(ctx)?;
    let look = ctx.look_ahead();
    let needs_account = ["location", "roles"]
        .iter()
        .chain(remote::USER_FIELDS.iter())
        .any(|f| look.field(f).exists());
    let own = ctx.data_opt::<Own>().filter(|own| own.user.id == user_id);
    if needs_account {
        // The user and their account: as read with who the caller is, or in one statement.
        let found = match own {
            Some(own) => Some((own.user.clone(), own.account.clone())),
            None => directory::user_with_account(db, user_id).await.map_err(errors::db)?,
        };
        let Some((user, account)) = found else {
            return Ok(None);
        };
        prefetch_user(ctx, &account, &user).await?;
        return Ok(Some(User::new(user)));
    }
    let user = match own {
        Some(own) => Some(own.user.clone()),
        None => directory::users_by_id(db, &[user_id])
            .await
            .map_err(errors::db)?
            .remove(&user_id),
    };
    let Some(user) = user else {
        return Ok(None);
    };
    let loader = ctx.data::<RequestLoader>()?;
    loader.feed_one(UserKey(user.id), user.clone()).await;
    Ok(Some(User::new(user)))
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
    prefetch_for(ctx, account, users, &items, Built::default()).await
}

/// [`prefetch_users`] for the one user the current field resolves to (`me`, `viewer.user`).
async fn prefetch_user(
    ctx: &async_graphql::Context<'_>,
    account: &account::Model,
    user: &user::Model,
) -> async_graphql::Result<()> {
    let built = Built {
        numbers: built_by_field(ctx, "numbers", |f| built::builds(f, &UserNumber::columns())),
        statuses: built_by_field(ctx, "dynamicStatuses", |f| {
            built::builds_list(f, &DynamicStatus::columns())
        }),
    };
    prefetch_for(ctx, account, std::iter::once(user), &[ctx.look_ahead()], built).await
}

/// Which lists of the user resolved alone are built by their own field rather than read here.
#[derive(Clone, Copy, Default)]
struct Built {
    /// `User.numbers`.
    numbers: bool,
    /// `User.dynamicStatuses`.
    statuses: bool,
}

/// Whether the field `name` of the user `ctx` resolves alone is built by that field rather than
/// read here: every `name` its selection names directly is one `builds` says is built, and no
/// fragment could name more.
fn built_by_field(
    ctx: &async_graphql::Context<'_>,
    name: &str,
    builds: impl Fn(&async_graphql::parser::types::Field) -> bool,
) -> bool {
    use async_graphql::parser::types::Selection;
    ctx.item
        .node
        .selection_set
        .node
        .items
        .iter()
        .all(|item| match &item.node {
            Selection::Field(f) => f.node.name.node != name || builds(&f.node),
            _ => false,
        })
}

async fn prefetch_for<'a>(
    ctx: &async_graphql::Context<'_>,
    account: &account::Model,
    users: impl Iterator<Item = &'a user::Model> + Clone,
    items: &[Lookahead<'_>],
    built: Built,
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
        let mut roles = directory::roles_of_users(db, &ids).await.map_err(errors::db)?;
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
        let found = directory::locations_by_id(db, &locations).await.map_err(errors::db)?;
        loader
            .feed_many(found.into_iter().map(|(id, l)| (LocationKey(id), l)))
            .await;
    }
    let mut remote = Wanted::of(wants);
    if built.numbers {
        remote.numbers = NUMBER_FIELDS.iter().any(|f| *f != "numbers" && wants(&[f]));
    }
    if built.statuses {
        remote.statuses = STATUS_FIELDS.iter().any(|f| *f != "dynamicStatuses" && wants(&[f]));
    }
    if remote.numbers || remote.statuses {
        remote::prefetch(loader, account, &ids, remote)
            .await
            .map_err(load_err)?;
    }
    Ok(())
}
