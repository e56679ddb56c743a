//! `mobilityChanged` (SPEC E4): an account's Connect for Mobile state, settings and users, live,
//! for whoever may read the account's add-on (T1: another account's id is refused exactly like
//! an unknown one). One change that enables or disables many users arrives as one event.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, MergedObject, Object, Result, Subscription, futures_util::stream::BoxStream};
use entity::event::Event;

use super::types::{Mobility, MobilityUser};
use crate::codes::Code;
use crate::{
    graphql::{
        args::IdArg,
        context,
        errors::coded,
        ids::{self, Kind},
        live::{self, Change, Step},
        objects::Account,
    },
    live::{Delivery, Topic},
    service::directory,
};

/// What happened to an account's Connect for Mobile add-on.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MobilityChange {
    /// The add-on was bought (M1, M2).
    ActivationRequested,
    /// Support completed the activation (M3).
    ActivationCompleted,
    /// Settings changed (M4).
    SettingsUpdated,
    /// The email notification flag changed (M5).
    EmailNotificationChanged,
    /// The add-on was deactivated.
    Deactivated,
    /// Users were enabled (`mobilityUsers`).
    UsersEnabled,
    /// A user's mobility extension changed (`mobilityUsers`).
    UserUpdated,
    /// Users were disabled (`disabledUserIds`).
    UsersDisabled,
}

impl MobilityChange {
    /// The change `event` shows; `None` for an event this subscription does not show (which
    /// events reach its topic at all is decided in one place, `live::load::topics`).
    fn of(event: &Event) -> Option<Self> {
        Some(match event {
            Event::MobilityActivationRequested(_) => Self::ActivationRequested,
            Event::MobilityActivationCompleted(_) => Self::ActivationCompleted,
            Event::MobilitySettingsUpdated(_) => Self::SettingsUpdated,
            Event::MobilityEmailNotificationChanged(_) => Self::EmailNotificationChanged,
            Event::MobilityDeactivated(_) => Self::Deactivated,
            Event::MobilityUserEnabled(_) => Self::UsersEnabled,
            Event::MobilityUserUpdated(_) => Self::UserUpdated,
            Event::MobilityUserDisabled(_) => Self::UsersDisabled,
            _ => return None,
        })
    }
}

/// What changed about an account's add-on.
#[derive(Clone, Debug)]
pub struct AddonChange {
    change: MobilityChange,
    delivery: Arc<Delivery>,
}

impl AddonChange {
    fn account_id(&self) -> uuid::Uuid {
        self.delivery.event.account_id.unwrap_or_default()
    }
}

#[Object]
impl AddonChange {
    /// What happened.
    async fn change(&self) -> MobilityChange {
        self.change
    }

    /// The account.
    async fn account(&self) -> Result<Account> {
        self.delivery
            .objects
            .accounts
            .get(&self.account_id())
            .cloned()
            .map(Account::new)
            .ok_or_else(|| coded(Code::NotFound, "no account with this id"))
    }

    /// The add-on: its state and settings now.
    async fn mobility(&self) -> Mobility {
        Mobility {
            account_id: self.account_id(),
            addon: self.delivery.objects.addons.get(&self.account_id()).cloned(),
        }
    }

    /// The users enabled or updated by this change, among those the caller may read.
    async fn mobility_users(&self, ctx: &Context<'_>) -> Result<Vec<MobilityUser>> {
        if !matches!(self.change, MobilityChange::UsersEnabled | MobilityChange::UserUpdated) {
            return Ok(Vec::new());
        }
        let p = context::principal(ctx)?;
        let objects = &self.delivery.objects;
        Ok(self
            .delivery
            .subjects
            .iter()
            .filter_map(|id| {
                let user = objects.users.get(id).filter(|u| p.sees_user(directory::scope(u)))?;
                let mobility = objects.mobility_users.get(id)?;
                Some(MobilityUser {
                    user: user.clone(),
                    mobility: mobility.clone(),
                })
            })
            .collect())
    }

    /// The users disabled by this change (their `User` ids), among those the caller may read.
    async fn disabled_user_ids(&self, ctx: &Context<'_>) -> Result<Vec<ID>> {
        if self.change != MobilityChange::UsersDisabled {
            return Ok(Vec::new());
        }
        let p = context::principal(ctx)?;
        let users = &self.delivery.objects.users;
        Ok(self
            .delivery
            .subjects
            .iter()
            .filter(|id| users.get(id).is_some_and(|u| p.sees_user(directory::scope(u))))
            .map(|id| ids::encode(Kind::User, *id))
            .collect())
    }
}

/// An account's Connect for Mobile add-on or its users changed.
#[derive(MergedObject, Clone, Debug)]
pub struct MobilityChangedEvent(AddonChange, Change);

/// Connect for Mobile subscriptions.
#[derive(Default)]
pub struct MobilitySubscription;

#[Subscription]
impl MobilitySubscription {
    /// An account's Connect for Mobile state, settings and users change.
    async fn mobility_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account (an `Account` id).")] account_id: IdArg,
    ) -> Result<BoxStream<'static, Result<MobilityChangedEvent>>> {
        if let Some(event) = live::replayed(ctx) {
            return Ok(event);
        }
        let account = live::watched_account(ctx, &account_id).await?;
        let feed = live::subscribe(ctx, Topic::Mobility(account.id))?;
        Ok(live::events(ctx, feed, |d| match MobilityChange::of(d.kind()) {
            Some(change) => Step::Emit(MobilityChangedEvent(
                AddonChange {
                    change,
                    delivery: d.clone(),
                },
                Change(d),
            )),
            None => Step::Skip,
        }))
    }
}
