//! Which topics an event concerns, and the objects its subscribers will be shown: loaded once
//! per batch of events, a handful of statements whatever the number of events or subscribers.

use std::collections::{HashMap, HashSet};

use entity::{
    account, dynamic_status,
    event::{Event, Logged},
    mobility_account, mobility_user, platform_sync_run, user, user_number,
};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::Topic;
use crate::service::{directory, mobility, remote, sync};

/// The objects of a batch of events, by id.
#[derive(Debug, Default)]
pub struct Objects {
    /// Users.
    pub users: HashMap<Uuid, user::Model>,
    /// Accounts.
    pub accounts: HashMap<Uuid, account::Model>,
    /// Dynamic statuses.
    pub statuses: HashMap<Uuid, dynamic_status::Model>,
    /// Users' numbers.
    pub numbers: HashMap<Uuid, user_number::Model>,
    /// Connect for Mobile add-ons, by account.
    pub addons: HashMap<Uuid, mobility_account::Model>,
    /// Connect for Mobile user records, by user.
    pub mobility_users: HashMap<Uuid, mobility_user::Model>,
    /// Platform sync runs.
    pub runs: HashMap<Uuid, platform_sync_run::Model>,
}

/// What the subscriptions make of an event. [`shown`] is the one exhaustive match over the
/// event types on the live side: a new type is a compile error there until it says what
/// subscribers see of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    /// A user's active status changed (`activeStatusChanged`, `userNumbersChanged`).
    ActiveStatus,
    /// A user's directory entry changed: their subscribers re-check that they still see them.
    UserUpdated,
    /// One of a user's numbers changed.
    Number,
    /// One of a user's statuses changed.
    Status,
    /// An account's add-on changed (`mobilityChanged`).
    Addon,
    /// Users' mobility records changed (`mobilityChanged`); one change's events of a kind reach
    /// subscribers together.
    MobilityUsers,
    /// A platform sync run moved on (`platformSyncRunChanged`).
    SyncRun,
    /// A role was taken away: the holder's subscriptions re-check what they may see.
    RoleRevoked,
    /// No subscription shows it.
    Nothing,
}

/// What subscribers see of `event`.
fn shown(event: &Event) -> Shown {
    match event {
        Event::ActiveStatusChanged(_) => Shown::ActiveStatus,
        Event::UserUpdated(_) => Shown::UserUpdated,
        Event::UserNumberCreated(_) | Event::UserNumberUpdated(_) | Event::UserNumberDeleted(_) => Shown::Number,
        Event::DynamicStatusCreated(_) | Event::DynamicStatusUpdated(_) | Event::DynamicStatusDeleted(_) => {
            Shown::Status
        }
        Event::MobilityActivationRequested(_)
        | Event::MobilityActivationCompleted(_)
        | Event::MobilitySettingsUpdated(_)
        | Event::MobilityEmailNotificationChanged(_)
        | Event::MobilityDeactivated(_) => Shown::Addon,
        Event::MobilityUserEnabled(_) | Event::MobilityUserUpdated(_) | Event::MobilityUserDisabled(_) => {
            Shown::MobilityUsers
        }
        Event::PlatformSyncRunCreated(_) | Event::PlatformSyncRunUpdated(_) => Shown::SyncRun,
        Event::RoleRevoked(_) => Shown::RoleRevoked,
        Event::AccountCreated(_)
        | Event::AccountUpdated(_)
        | Event::LocationCreated(_)
        | Event::AccessNumberCreated(_)
        | Event::RoleAssigned(_)
        | Event::UserCreated(_)
        | Event::UserClientProfileChanged(_)
        | Event::ClientProfileCreated(_)
        | Event::ClientProfileUpdated(_)
        | Event::PlatformConnectionSet(_)
        | Event::MobilityNotificationQueued(_)
        | Event::NotificationRetryRequested(_)
        | Event::WebhookEndpointCreated(_)
        | Event::WebhookEndpointUpdated(_)
        | Event::WebhookEndpointDeleted(_)
        | Event::WebhookEndpointSecretRotated(_) => Shown::Nothing,
    }
}

/// Whether `event` is a per-user mobility event: one change's events of a kind reach
/// subscribers together.
pub fn per_user(event: &Event) -> bool {
    shown(event) == Shown::MobilityUsers
}

/// The topics `event` concerns (none for events no subscription shows).
pub fn topics(event: &Logged) -> Vec<Topic> {
    match shown(&event.event) {
        Shown::ActiveStatus | Shown::UserUpdated => vec![
            Topic::ActiveStatus(event.aggregate_id),
            Topic::UserNumbers(event.aggregate_id),
        ],
        Shown::Number | Shown::Status => vec![Topic::UserNumbers(event.user_id())],
        Shown::Addon | Shown::MobilityUsers => event.account_id.map(Topic::Mobility).into_iter().collect(),
        Shown::SyncRun => event.account_id.map(Topic::SyncRuns).into_iter().collect(),
        Shown::RoleRevoked => vec![Topic::Roles(event.user_id())],
        Shown::Nothing => Vec::new(),
    }
}

/// Ids to load, gathered from the events that someone listens to.
#[derive(Default)]
pub struct Needs {
    users: HashSet<Uuid>,
    accounts: HashSet<Uuid>,
    statuses: HashSet<Uuid>,
    numbers: HashSet<Uuid>,
    addons: HashSet<Uuid>,
    mobility_users: HashSet<Uuid>,
    runs: HashSet<Uuid>,
}

impl Needs {
    /// Adds what `event` (with the users `subjects` of its change) will show.
    pub fn add(&mut self, event: &Logged, subjects: &[Uuid]) {
        match shown(&event.event) {
            Shown::ActiveStatus => {
                self.users.insert(event.aggregate_id);
                if let Event::ActiveStatusChanged(changed) = &event.event {
                    self.statuses.extend(changed.active_status_id);
                    self.numbers.extend(changed.active_remote_extension_id);
                }
            }
            Shown::UserUpdated => {
                self.users.insert(event.aggregate_id);
            }
            Shown::Number => {
                self.users.insert(event.user_id());
                self.numbers.insert(event.aggregate_id);
            }
            Shown::Status => {
                self.users.insert(event.user_id());
                self.statuses.insert(event.aggregate_id);
            }
            Shown::Addon | Shown::MobilityUsers => {
                if let Some(account) = event.account_id {
                    self.accounts.insert(account);
                    self.addons.insert(account);
                }
                if per_user(&event.event) {
                    self.users.extend(subjects);
                    self.mobility_users.extend(subjects);
                }
            }
            Shown::SyncRun => {
                self.runs.insert(event.aggregate_id);
            }
            // The subscription re-checks with what it has: nothing to load.
            Shown::RoleRevoked | Shown::Nothing => {}
        }
    }

    /// Loads everything gathered: one statement per kind of object.
    pub async fn load(self, db: &impl ConnectionTrait) -> Result<Objects, DbErr> {
        let ids = |set: HashSet<Uuid>| set.into_iter().collect::<Vec<_>>();
        let mut objects = Objects::default();
        if !self.users.is_empty() {
            objects.users = directory::users_by_id(db, &ids(self.users)).await?;
        }
        if !self.accounts.is_empty() {
            objects.accounts = directory::accounts_by_id(db, &ids(self.accounts)).await?;
        }
        if !self.statuses.is_empty() {
            objects.statuses = remote::statuses_by_id(db, &ids(self.statuses)).await?;
        }
        if !self.numbers.is_empty() {
            objects.numbers = remote::numbers_by_id(db, &ids(self.numbers)).await?;
        }
        if !self.addons.is_empty() {
            objects.addons = mobility::addons_by_account(db, &ids(self.addons)).await?;
        }
        if !self.mobility_users.is_empty() {
            objects.mobility_users = mobility::mobility_of_users(db, &ids(self.mobility_users)).await?;
        }
        if !self.runs.is_empty() {
            objects.runs = sync::runs_by_id(db, &ids(self.runs)).await?;
        }
        Ok(objects)
    }
}
