//! The `Node` interface and `node`/`nodes`: any global id, resolved under the tenant rule T1
//! (another account's id answers null, exactly like an unknown one).

use async_graphql::{Context, ID, Interface, Object, Result};

use super::args::IdArg;
use super::{
    context,
    directory::{
        loaders::{AccessNumberKey, AccountKey, LocationKey, RequestLoader, RoleAssignmentKey, UserKey, load_err},
        types::{AccessNumber, Account, Location, RoleAssignment, User},
    },
    errors,
    ids::{self, Kind},
    mobility::{
        loaders::NotificationKey,
        notifications::{MobilityNotification, NotificationRecipient},
        types::{MobilityUser, mobility_of},
    },
    remote::{
        loaders::{NumberKey, ProfileKey, StatusKey},
        types::{ClientProfile, DynamicStatus, UserNumber},
    },
    sync::types::PlatformSyncRun,
};
use crate::service::{directory, mobility, sync};

/// An object with a global id.
#[derive(Interface, Clone, Debug)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id, resolvable with `node(id:)`."))]
pub enum Node {
    /// An account.
    Account(Account),
    /// A location.
    Location(Location),
    /// An access number.
    AccessNumber(AccessNumber),
    /// A user.
    User(User),
    /// A role assignment.
    RoleAssignment(RoleAssignment),
    /// A user's Connect for Mobile record.
    MobilityUser(MobilityUser),
    /// A settings-change notification.
    MobilityNotification(MobilityNotification),
    /// One recipient's delivery of a notification.
    NotificationRecipient(NotificationRecipient),
    /// One of a user's numbers.
    UserNumber(UserNumber),
    /// A dynamic status.
    DynamicStatus(DynamicStatus),
    /// A client profile.
    ClientProfile(ClientProfile),
    /// A platform sync run.
    PlatformSyncRun(PlatformSyncRun),
}

/// Whether the caller may read user `id` (T1; a plain user: only themself).
async fn sees_user(ctx: &Context<'_>, loader: &RequestLoader, id: uuid::Uuid) -> Result<bool> {
    let p = context::principal(ctx)?;
    let user = loader.load_one(UserKey(id)).await.map_err(load_err)?;
    Ok(user.is_some_and(|u| p.sees_user(directory::scope(&u))))
}

/// Resolves one global id, or `None` when it is unknown or not visible to the caller.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let Some((kind, key)) = ids::decode(id) else {
        return Ok(None);
    };
    let p = context::principal(ctx)?;
    let loader = ctx.data::<RequestLoader>()?;
    Ok(match kind {
        Kind::Account => {
            if !p.sees_account(key) {
                return Ok(None);
            }
            loader
                .load_one(AccountKey(key))
                .await
                .map_err(load_err)?
                .map(|m| Node::Account(Account(m)))
        }
        Kind::Location => loader
            .load_one(LocationKey(key))
            .await
            .map_err(load_err)?
            .filter(|l| p.sees_account(l.account_id))
            .map(|m| Node::Location(Location(m))),
        Kind::AccessNumber => loader
            .load_one(AccessNumberKey(key))
            .await
            .map_err(load_err)?
            .filter(|a| p.sees_account(a.account_id))
            .map(|m| Node::AccessNumber(AccessNumber(m))),
        Kind::User => loader
            .load_one(UserKey(key))
            .await
            .map_err(load_err)?
            .filter(|u| p.sees_user(directory::scope(u)))
            .map(|m| Node::User(User(m))),
        Kind::RoleAssignment => {
            let Some(role) = loader.load_one(RoleAssignmentKey(key)).await.map_err(load_err)? else {
                return Ok(None);
            };
            let holder = loader.load_one(UserKey(role.user_id)).await.map_err(load_err)?;
            holder
                .filter(|u| p.sees_user(directory::scope(u)))
                .map(|_| Node::RoleAssignment(RoleAssignment(role)))
        }
        Kind::MobilityUser => {
            let user = loader.load_one(UserKey(key)).await.map_err(load_err)?;
            match user.filter(|u| p.sees_user(directory::scope(u))) {
                Some(user) => mobility_of(ctx, &user).await?.map(Node::MobilityUser),
                None => None,
            }
        }
        Kind::MobilityNotification => loader
            .load_one(NotificationKey(key))
            .await
            .map_err(load_err)?
            .filter(|n| mobility::may_read_notifications(p, n.account_id))
            .map(|n| Node::MobilityNotification(MobilityNotification(n))),
        Kind::NotificationRecipient => {
            let db = context::db(ctx)?;
            let Some(row) = mobility::delivery(db, key).await? else {
                return Ok(None);
            };
            loader
                .load_one(NotificationKey(row.notification_id))
                .await
                .map_err(load_err)?
                .filter(|n| mobility::may_read_notifications(p, n.account_id))
                .map(|_| Node::NotificationRecipient(NotificationRecipient(row)))
        }
        Kind::UserNumber => match loader.load_one(NumberKey(key)).await.map_err(load_err)? {
            Some(n) if sees_user(ctx, loader, n.user_id).await? => Some(Node::UserNumber(UserNumber(n))),
            _ => None,
        },
        Kind::DynamicStatus => match loader.load_one(StatusKey(key)).await.map_err(load_err)? {
            Some(s) if sees_user(ctx, loader, s.user_id).await? => Some(Node::DynamicStatus(DynamicStatus(s))),
            _ => None,
        },
        Kind::ClientProfile => loader
            .load_one(ProfileKey(key))
            .await
            .map_err(load_err)?
            .filter(|c| p.sees_account(c.account_id))
            .map(|c| Node::ClientProfile(ClientProfile(c))),
        Kind::PlatformSyncRun => sync::runs_by_id(context::db(ctx)?, &[key])
            .await
            .map_err(errors::db)?
            .remove(&key)
            .filter(|r| sync::may_read_runs(p, r.account_id) == crate::policy::Access::Allowed)
            .map(|r| Node::PlatformSyncRun(PlatformSyncRun(r))),
    })
}

/// `node` and `nodes`.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when unknown or not visible to the caller.
    async fn node(&self, ctx: &Context<'_>, #[graphql(desc = "A global id.")] id: IdArg) -> Result<Option<Node>> {
        resolve(ctx, &id).await
    }

    /// Several objects by global id, in the order asked (at most 100); null where unknown or not
    /// visible.
    #[graphql(complexity = "ids.len().max(1) * child_complexity + 1")]
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids (at most 100).")] ids: Vec<IdArg>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > super::connection::MAX_PAGE as usize {
            return Err(errors::coded("BAD_REQUEST", "at most 100 ids"));
        }
        let lookups = ids.iter().map(|id| resolve(ctx, id));
        futures::future::try_join_all(lookups).await
    }
}
