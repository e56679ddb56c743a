//! Which topics an event concerns, and the objects its subscribers will be shown: loaded once
//! per batch of events, a handful of statements whatever the number of events or subscribers.

use std::collections::{HashMap, HashSet};

use entity::{
    account, dynamic_status, mobility_account, mobility_user, outbox_event, platform_sync_run, user, user_number,
};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::{Topic, payload_uuid};
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

/// Mobility events that concern the whole add-on (the others concern one user each).
const MOBILITY_ACCOUNT_EVENTS: [&str; 5] = [
    "mobility.activation_requested",
    "mobility.activation_completed",
    "mobility.settings_updated",
    "mobility.email_notification_changed",
    "mobility.deactivated",
];

/// Mobility events about users; one change's events of a kind reach subscribers together.
pub const MOBILITY_USER_EVENTS: [&str; 3] = [
    "mobility.user_enabled",
    "mobility.user_updated",
    "mobility.user_disabled",
];

/// The topics `event` concerns (none for events no subscription shows).
pub fn topics(event: &outbox_event::Model) -> Vec<Topic> {
    let kind = event.event_type.as_str();
    let user = || payload_uuid(event, "userId").unwrap_or(event.aggregate_id);
    match kind {
        "active_status.changed" => vec![
            Topic::ActiveStatus(event.aggregate_id),
            Topic::UserNumbers(event.aggregate_id),
        ],
        // A user moved to another location may leave a subscriber's sight: subscribers re-check.
        "user.updated" => vec![
            Topic::ActiveStatus(event.aggregate_id),
            Topic::UserNumbers(event.aggregate_id),
        ],
        _ if kind.starts_with("user_number.") || kind.starts_with("dynamic_status.") => {
            vec![Topic::UserNumbers(user())]
        }
        _ if MOBILITY_ACCOUNT_EVENTS.contains(&kind) || MOBILITY_USER_EVENTS.contains(&kind) => {
            event.account_id.map(Topic::Mobility).into_iter().collect()
        }
        _ if kind.starts_with("platform_sync_run.") => event.account_id.map(Topic::SyncRuns).into_iter().collect(),
        "role.revoked" => vec![Topic::Roles(user())],
        _ => Vec::new(),
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
    pub fn add(&mut self, event: &outbox_event::Model, subjects: &[Uuid]) {
        let kind = event.event_type.as_str();
        let user = payload_uuid(event, "userId").unwrap_or(event.aggregate_id);
        match kind {
            "active_status.changed" => {
                self.users.insert(event.aggregate_id);
                self.statuses.extend(payload_uuid(event, "activeStatusId"));
                self.numbers.extend(payload_uuid(event, "activeRemoteExtensionId"));
            }
            "user.updated" => {
                self.users.insert(event.aggregate_id);
            }
            _ if kind.starts_with("user_number.") => {
                self.users.insert(user);
                self.numbers.insert(event.aggregate_id);
            }
            _ if kind.starts_with("dynamic_status.") => {
                self.users.insert(user);
                self.statuses.insert(event.aggregate_id);
            }
            _ if kind.starts_with("mobility.") => {
                if let Some(account) = event.account_id {
                    self.accounts.insert(account);
                    self.addons.insert(account);
                }
                if MOBILITY_USER_EVENTS.contains(&kind) {
                    self.users.extend(subjects);
                    self.mobility_users.extend(subjects);
                }
            }
            _ if kind.starts_with("platform_sync_run.") => {
                self.runs.insert(event.aggregate_id);
            }
            _ => {}
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
