//! The `Node` interface and `node`/`nodes`: any global id, resolved under the tenant rule T1
//! (another account's id answers null, exactly like an unknown one).

use async_graphql::{Context, ID, Interface, Object, Result};

use super::args::IdArg;
use super::{
    context,
    directory::{
        loaders::{AccessNumberKey, AccountKey, LocationKey, RequestLoader, RoleAssignmentKey, UserKey, load_err},
        types::{AccessNumber, Location, RoleAssignment},
    },
    errors,
    ids::{self, Kind},
    mobility::{
        loaders::NotificationKey,
        notifications::{MobilityNotification, NotificationRecipient},
        types::{MobilityUser, mobility_of},
    },
    objects::{Account, User},
    remote::{
        loaders::{NumberKey, ProfileKey, StatusKey},
        types::{ClientProfile, DynamicStatus, UserNumber},
    },
    sync::types::PlatformSyncRun,
    webhooks::types::{WebhookDelivery, WebhookEndpoint},
};
use crate::codes::Code;
use crate::service::{directory, mobility, sync, webhooks};

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
    /// A webhook endpoint.
    WebhookEndpoint(WebhookEndpoint),
    /// One delivery to a webhook endpoint.
    WebhookDelivery(WebhookDelivery),
}

/// Whose an object is under the tenant rule (T1): the caller sees the object only when it may
/// see its owner. Every kind of node names one ([`resolve`]), and the rule is applied in one
/// place ([`Owner::seen`]), so a new kind cannot skip it.
#[derive(Clone, Copy)]
enum Owner {
    /// An account's object: the caller sees the account.
    Account(uuid::Uuid),
    /// A user's object (or the user): the caller sees the user (a plain user: only themself).
    User(uuid::Uuid),
    /// An account's settings-change notifications.
    Notifications(uuid::Uuid),
    /// An account's platform sync runs.
    SyncRuns(uuid::Uuid),
    /// An account's webhooks.
    Webhooks(uuid::Uuid),
}

impl Owner {
    /// Whether the caller may see what this owner holds.
    async fn seen(self, ctx: &Context<'_>, loader: &RequestLoader) -> Result<bool> {
        let p = context::principal(ctx)?;
        Ok(match self {
            Self::Account(account) => p.sees_account(account),
            Self::User(id) => {
                let user = loader.load_one(UserKey(id)).await.map_err(load_err)?;
                user.is_some_and(|u| p.sees_user(directory::scope(&u)))
            }
            Self::Notifications(account) => mobility::may_read_notifications(p, account),
            Self::SyncRuns(account) => sync::may_read_runs(p, account) == crate::policy::Access::Allowed,
            Self::Webhooks(account) => webhooks::may_manage(p, account) == crate::policy::Access::Allowed,
        })
    }
}

/// Resolves one global id, or `None` when it is unknown or not visible to the caller.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> Result<Option<Node>> {
    let Some((kind, key)) = ids::decode(id) else {
        return Ok(None);
    };
    let loader = ctx.data::<RequestLoader>()?;
    // An account's id names its owner: another tenant's is refused before anything is read.
    if kind == Kind::Account && !Owner::Account(key).seen(ctx, loader).await? {
        return Ok(None);
    }
    let found = match kind {
        Kind::Account => (loader.load_one(AccountKey(key)).await.map_err(load_err)?)
            .map(|m| (Owner::Account(m.id), Node::Account(Account::new(m)))),
        Kind::Location => (loader.load_one(LocationKey(key)).await.map_err(load_err)?)
            .map(|m| (Owner::Account(m.account_id), Node::Location(Location(m)))),
        Kind::AccessNumber => (loader.load_one(AccessNumberKey(key)).await.map_err(load_err)?)
            .map(|m| (Owner::Account(m.account_id), Node::AccessNumber(AccessNumber(m)))),
        Kind::User => (loader.load_one(UserKey(key)).await.map_err(load_err)?)
            .map(|m| (Owner::User(m.id), Node::User(User::new(m)))),
        Kind::RoleAssignment => (loader.load_one(RoleAssignmentKey(key)).await.map_err(load_err)?)
            .map(|m| (Owner::User(m.user_id), Node::RoleAssignment(RoleAssignment(m)))),
        Kind::MobilityUser => match loader.load_one(UserKey(key)).await.map_err(load_err)? {
            // The user's record is read only for a user the caller sees.
            Some(user) if Owner::User(user.id).seen(ctx, loader).await? => {
                (mobility_of(ctx, &user).await?).map(|m| (Owner::User(user.id), Node::MobilityUser(m)))
            }
            Some(_) => None,
            None => None,
        },
        Kind::MobilityNotification => (loader.load_one(NotificationKey(key)).await.map_err(load_err)?).map(|n| {
            (
                Owner::Notifications(n.account_id),
                Node::MobilityNotification(MobilityNotification(n)),
            )
        }),
        Kind::NotificationRecipient => match mobility::delivery(context::db(ctx)?, key).await? {
            Some(row) => (loader
                .load_one(NotificationKey(row.notification_id))
                .await
                .map_err(load_err)?)
            .map(|n| {
                (
                    Owner::Notifications(n.account_id),
                    Node::NotificationRecipient(NotificationRecipient(row)),
                )
            }),
            None => None,
        },
        Kind::UserNumber => (loader.load_one(NumberKey(key)).await.map_err(load_err)?)
            .map(|n| (Owner::User(n.user_id), Node::UserNumber(UserNumber(n)))),
        Kind::DynamicStatus => (loader.load_one(StatusKey(key)).await.map_err(load_err)?)
            .map(|s| (Owner::User(s.user_id), Node::DynamicStatus(DynamicStatus(s)))),
        Kind::ClientProfile => (loader.load_one(ProfileKey(key)).await.map_err(load_err)?)
            .map(|c| (Owner::Account(c.account_id), Node::ClientProfile(ClientProfile(c)))),
        Kind::PlatformSyncRun => (sync::runs_by_id(context::db(ctx)?, &[key]).await)
            .map_err(errors::db)?
            .remove(&key)
            .map(|r| (Owner::SyncRuns(r.account_id), Node::PlatformSyncRun(PlatformSyncRun(r)))),
        Kind::WebhookEndpoint => (webhooks::endpoints_by_id(context::db(ctx)?, &[key]).await)
            .map_err(errors::db)?
            .remove(&key)
            .map(|e| (Owner::Webhooks(e.account_id), Node::WebhookEndpoint(WebhookEndpoint(e)))),
        Kind::WebhookDelivery => match webhooks::delivery(context::db(ctx)?, key).await.map_err(errors::db)? {
            Some((d, e)) => Some((Owner::Webhooks(e.account_id), Node::WebhookDelivery(WebhookDelivery(d)))),
            None => None,
        },
    };
    match found {
        Some((owner, node)) if owner.seen(ctx, loader).await? => Ok(Some(node)),
        _ => Ok(None),
    }
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
            return Err(errors::coded(Code::BadRequest, "at most 100 ids"));
        }
        let lookups = ids.iter().map(|id| resolve(ctx, id));
        futures::future::try_join_all(lookups).await
    }
}
