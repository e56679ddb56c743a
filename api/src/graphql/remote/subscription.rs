//! `activeStatusChanged` and `userNumbersChanged` (SPEC E4): a user's active status, and their
//! numbers and statuses, live. A subscriber names a user it may read (default: itself); another
//! account's user is refused exactly like an unknown one (T1). Objects are read when the event
//! is delivered, so they may already show a later change; the last event always shows the
//! current state.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, MergedObject, Object, Result, Subscription, futures_util::stream::BoxStream};
use entity::event::{self as ev, Event};
use uuid::Uuid;

use super::types::{DynamicStatus, UserNumber};
use crate::codes::Code;
use crate::{
    graphql::{
        args::IdArg,
        context,
        errors::{self, coded},
        ids::{self, Kind},
        live::{self, Change, Step},
        objects::User,
    },
    live::{Delivery, Topic},
    policy::Principal,
    service::directory,
};

fn no_such_user() -> async_graphql::Error {
    coded(Code::NotFound, "no user with this id")
}

/// The id of the user a subscription watches: `user_id`, or the caller; `NOT_FOUND` unless the
/// caller may read that user. The caller itself needs no statement: its row was read when the
/// socket was admitted, users are never deleted nor moved to another account, and a user always
/// sees themself.
async fn watched_user(ctx: &Context<'_>, user_id: Option<&ID>) -> Result<Uuid> {
    let p = context::principal(ctx)?;
    let caller = p.user().map(|u| u.user_id);
    let id = match user_id {
        Some(id) => match ids::decode(id) {
            Some((Kind::User, key)) => key,
            _ => return Err(no_such_user()),
        },
        None => caller.ok_or_else(|| coded(Code::BadRequest, "a Support token must name the user (`userId`)"))?,
    };
    if caller == Some(id) {
        return Ok(id);
    }
    let db = context::db(ctx)?;
    // Boxed: async-graphql keeps a subscription's resolver future for the subscription's life,
    // so a statement's state inline would be memory each idle subscriber holds.
    let mut found = Box::pin(directory::users_by_id(db, &[id])).await.map_err(errors::db)?;
    found
        .remove(&id)
        .filter(|u| p.sees_user(directory::scope(u)))
        .map(|u| u.id)
        .ok_or_else(no_such_user)
}

/// A user whose record changed: still visible to `p`? (A user moved to another location leaves
/// the sight of that location's Phone Managers; their subscriptions then end.)
fn recheck<T>(p: &Principal, d: &Delivery, user_id: Uuid) -> Step<T> {
    match d.objects.users.get(&user_id) {
        Some(u) if p.sees_user(directory::scope(u)) => Step::Skip,
        _ => Step::End(no_such_user()),
    }
}

/// What `d` says of the active status, when it is an `active_status.changed`.
fn active(d: &Delivery) -> Option<&ev::ActiveStatusChanged> {
    match d.kind() {
        Event::ActiveStatusChanged(changed) => Some(changed),
        _ => None,
    }
}

fn user_of(d: &Delivery, id: Uuid) -> Result<User> {
    d.objects
        .users
        .get(&id)
        .cloned()
        .map(User::new)
        .ok_or_else(no_such_user)
}

/// What changed about a user's active status.
#[derive(Clone, Debug)]
pub struct ActiveStatusChange(Arc<Delivery>);

#[Object]
impl ActiveStatusChange {
    /// The user.
    async fn user(&self) -> Result<User> {
        user_of(&self.0, self.0.event.aggregate_id)
    }

    /// The status that became active (null when the user has none).
    async fn active_status(&self) -> Option<DynamicStatus> {
        let id = active(&self.0)?.active_status_id?;
        self.0.objects.statuses.get(&id).cloned().map(DynamicStatus)
    }

    /// The remote extension calls now go to (the active status's; null when none).
    async fn active_remote_extension(&self) -> Option<UserNumber> {
        let id = active(&self.0)?.active_remote_extension_id?;
        self.0.objects.numbers.get(&id).cloned().map(UserNumber)
    }

    /// The status that was active before, when another one was.
    async fn previous_status_id(&self) -> Option<ID> {
        let id = active(&self.0)?.previous_status_id?;
        Some(ids::encode(Kind::DynamicStatus, id))
    }

    /// Why the status is active now: `MANUAL` (someone activated it), `SCHEDULE` (the user's
    /// schedule did) or `DEFAULT` (the schedule's fallback, or a new user's first status). Null
    /// on changes recorded before schedules existed.
    async fn reason(&self) -> Option<super::types::ActiveStatusReason> {
        use sea_orm::ActiveEnum;
        let stored = active(&self.0)?.reason.clone()?;
        entity::ActiveReason::try_from_value(&stored).ok().map(Into::into)
    }
}

/// A user's active status changed (or its remote extension did).
#[derive(MergedObject, Clone, Debug)]
pub struct ActiveStatusChangedEvent(ActiveStatusChange, Change);

/// What happened to a user's numbers or statuses.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserNumbersChange {
    /// A number was added.
    NumberCreated,
    /// A number was changed.
    NumberUpdated,
    /// A number was deleted (`deletedId`).
    NumberDeleted,
    /// A status was added.
    StatusCreated,
    /// A status was changed.
    StatusUpdated,
    /// A status was deleted (`deletedId`).
    StatusDeleted,
    /// Another status became active (`dynamicStatus`, with its remote extension in `userNumber`).
    ActiveStatusChanged,
}

impl UserNumbersChange {
    /// The change `event` shows; `None` for an event this subscription does not show (which
    /// events reach its topic at all is decided in one place, `live::load::topics`).
    fn of(event: &Event) -> Option<Self> {
        Some(match event {
            Event::UserNumberCreated(_) => Self::NumberCreated,
            Event::UserNumberUpdated(_) => Self::NumberUpdated,
            Event::UserNumberDeleted(_) => Self::NumberDeleted,
            Event::DynamicStatusCreated(_) => Self::StatusCreated,
            Event::DynamicStatusUpdated(_) => Self::StatusUpdated,
            Event::DynamicStatusDeleted(_) => Self::StatusDeleted,
            Event::ActiveStatusChanged(_) => Self::ActiveStatusChanged,
            _ => return None,
        })
    }
}

/// What changed among a user's numbers and statuses.
#[derive(Clone, Debug)]
pub struct NumbersChange {
    change: UserNumbersChange,
    delivery: Arc<Delivery>,
}

#[Object]
impl NumbersChange {
    /// What happened.
    async fn change(&self) -> UserNumbersChange {
        self.change
    }

    /// The user.
    async fn user(&self) -> Result<User> {
        user_of(&self.delivery, self.delivery.user_id())
    }

    /// The number created or changed; for `ACTIVE_STATUS_CHANGED`, the active remote extension.
    async fn user_number(&self) -> Option<UserNumber> {
        let e = &self.delivery.event;
        let id = match self.change {
            UserNumbersChange::NumberCreated | UserNumbersChange::NumberUpdated => e.aggregate_id,
            UserNumbersChange::ActiveStatusChanged => active(&self.delivery)?.active_remote_extension_id?,
            _ => return None,
        };
        self.delivery.objects.numbers.get(&id).cloned().map(UserNumber)
    }

    /// The status created or changed; for `ACTIVE_STATUS_CHANGED`, the new active status.
    async fn dynamic_status(&self) -> Option<DynamicStatus> {
        let e = &self.delivery.event;
        let id = match self.change {
            UserNumbersChange::StatusCreated | UserNumbersChange::StatusUpdated => e.aggregate_id,
            UserNumbersChange::ActiveStatusChanged => active(&self.delivery)?.active_status_id?,
            _ => return None,
        };
        self.delivery.objects.statuses.get(&id).cloned().map(DynamicStatus)
    }

    /// The id of the number or status deleted.
    async fn deleted_id(&self) -> Option<ID> {
        let id = self.delivery.event.aggregate_id;
        match self.change {
            UserNumbersChange::NumberDeleted => Some(ids::encode(Kind::UserNumber, id)),
            UserNumbersChange::StatusDeleted => Some(ids::encode(Kind::DynamicStatus, id)),
            _ => None,
        }
    }
}

/// A user's numbers or statuses changed.
#[derive(MergedObject, Clone, Debug)]
pub struct UserNumbersChangedEvent(NumbersChange, Change);

/// Remote Extension subscriptions.
#[derive(Default)]
pub struct RemoteSubscription;

#[Subscription]
impl RemoteSubscription {
    /// A user's active status changes: which status is active and which remote extension calls
    /// go to. `userId` defaults to the caller.
    async fn active_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user (a `User` id); left out, the caller.")] user_id: Option<IdArg>,
    ) -> Result<BoxStream<'static, Result<ActiveStatusChangedEvent>>> {
        if let Some(event) = live::replayed(ctx) {
            return Ok(event);
        }
        let user = watched_user(ctx, user_id.as_deref()).await?;
        let feed = live::subscribe(ctx, Topic::ActiveStatus(user))?;
        let p = context::principal(ctx)?.clone();
        Ok(live::events(ctx, feed, move |d| match d.kind() {
            Event::ActiveStatusChanged(_) => {
                Step::Emit(ActiveStatusChangedEvent(ActiveStatusChange(d.clone()), Change(d)))
            }
            Event::UserUpdated(_) => recheck(&p, &d, user),
            _ => Step::Skip,
        }))
    }

    /// A user's numbers and statuses change: added, changed, deleted, or another status made
    /// active. `userId` defaults to the caller.
    async fn user_numbers_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user (a `User` id); left out, the caller.")] user_id: Option<IdArg>,
    ) -> Result<BoxStream<'static, Result<UserNumbersChangedEvent>>> {
        if let Some(event) = live::replayed(ctx) {
            return Ok(event);
        }
        let user = watched_user(ctx, user_id.as_deref()).await?;
        let feed = live::subscribe(ctx, Topic::UserNumbers(user))?;
        let p = context::principal(ctx)?.clone();
        Ok(live::events(ctx, feed, move |d| {
            if let Event::UserUpdated(_) = d.kind() {
                return recheck(&p, &d, user);
            }
            match UserNumbersChange::of(d.kind()) {
                Some(change) => Step::Emit(UserNumbersChangedEvent(
                    NumbersChange {
                        change,
                        delivery: d.clone(),
                    },
                    Change(d),
                )),
                None => Step::Skip,
            }
        }))
    }
}
