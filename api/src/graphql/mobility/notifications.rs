//! Settings-change notifications (SPEC M6) and their delivery per recipient (E2): the types
//! behind `Account.mobility.notifications`, and `notificationRetry`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{mobility_notification, notification_delivery};

use super::{
    loaders::DeliveriesOf,
    types::{Actor, loader},
};
use crate::{
    graphql::{
        connection::{self, connection},
        context,
        directory::loaders::{UserKey, load_err},
        errors::{payload, payload_type},
        guard,
        ids::{self, Kind},
        objects::User,
    },
    service::mobility::{self as service, RetryTarget},
};

/// Where the delivery of a notification to one recipient stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Queued; the email plugin has not tried yet (or is not configured: mail stays queued).
    Pending,
    /// Handed to the mail server.
    Sent,
    /// A try failed for a temporary reason; another is due.
    Retrying,
    /// Given up: a permanent failure or too many tries.
    Failed,
    /// Not sent: the recipient has no email address.
    Skipped,
}

connection!(
    MobilityNotificationConnection,
    MobilityNotificationEdge,
    MobilityNotification,
    "A page of settings-change notifications.",
    "A settings-change notification in a page."
);

/// One changed setting, as people read it.
#[derive(SimpleObject, Clone, Debug)]
pub struct SettingChange {
    /// The setting's API name, e.g. `handoverNumber` (`accessNumber` shows the number).
    pub field: String,
    /// The value before.
    pub old_value: Option<String>,
    /// The value after.
    pub new_value: Option<String>,
}

/// A settings change mailed to the users enabled when it was made (SPEC M6).
#[derive(Clone, Debug)]
pub struct MobilityNotification(pub mobility_notification::Model);

/// A settings change mailed to the users enabled when it was made (SPEC M6).
#[Object]
impl MobilityNotification {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::MobilityNotification, self.0.id)
    }

    /// When the change was made and the notification queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who changed the settings.
    async fn created_by(&self) -> Actor {
        Actor(self.0.created_by.clone())
    }

    /// The settings that changed, old and new values.
    async fn changes(&self) -> Vec<SettingChange> {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        self.0
            .changes
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| SettingChange {
                field: c["field"].as_str().unwrap_or_default().to_owned(),
                old_value: text(&c["old"]),
                new_value: text(&c["new"]),
            })
            .collect()
    }

    /// Every recipient and where delivery to them stands.
    #[graphql(complexity = "connection::list_cost(connection::UNPAGED_LIST_ESTIMATE, child_complexity)")]
    async fn recipients(&self, ctx: &Context<'_>) -> Result<Vec<NotificationRecipient>> {
        Ok(loader(ctx)?
            .load_one(DeliveriesOf(self.0.id))
            .await
            .map_err(load_err)?
            .unwrap_or_default()
            .into_iter()
            .map(NotificationRecipient)
            .collect())
    }
}

/// One recipient of a notification and where delivery to them stands.
#[derive(Clone, Debug)]
pub struct NotificationRecipient(pub notification_delivery::Model);

/// One recipient of a notification and where delivery to them stands.
#[Object]
impl NotificationRecipient {
    /// Global id (what `notificationRetry` takes to send this one again).
    pub async fn id(&self) -> ID {
        ids::encode(Kind::NotificationRecipient, self.0.id)
    }

    /// The user.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(loader(ctx)?
            .load_one(UserKey(self.0.user_id))
            .await
            .map_err(load_err)?
            .map(User::new))
    }

    /// The address it goes to, as it was when queued (null: none, the delivery is `SKIPPED`).
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Where delivery stands.
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }

    /// Tries made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The last failure, as the mail server answered it.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the next try is due, if one is planned.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }

    /// When the delivery state last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When the mail server accepted the message.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }

    /// The `Message-ID` every try of this delivery carries (set at the first try).
    async fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }
}

/// Input of `notificationRetry`.
#[derive(InputObject)]
pub struct NotificationRetryInput {
    /// A `NotificationRecipient` id (that recipient) or a `MobilityNotification` id (each of its
    /// `FAILED` or `RETRYING` recipients).
    pub id: ID,
}

payload_type! {
    /// Result of `notificationRetry`.
    NotificationRetryPayload {
        /// The notification, its recipients as they are now.
        notification: Option<MobilityNotification>,
    }
}

/// `notificationRetry`.
#[derive(Default)]
pub struct NotificationMutation;

/// `notificationRetry`.
#[Object]
impl NotificationMutation {
    /// Sends a failed (or waiting) delivery again at once, with a fresh count of tries (Support
    /// only; SPEC E2).
    async fn notification_retry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The recipient or the notification.")] input: NotificationRetryInput,
    ) -> Result<NotificationRetryPayload> {
        let guard = guard::check(&input);
        let target = match ids::decode(&input.id) {
            Some((Kind::NotificationRecipient, id)) => Some(RetryTarget::Delivery(id)),
            Some((Kind::MobilityNotification, id)) => Some(RetryTarget::Notification(id)),
            _ => None,
        };
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let (notification, user_errors) = payload(guard.run(service::retry_notification(db, p, target)).await)?;
        Ok(NotificationRetryPayload {
            notification: notification.map(MobilityNotification),
            user_errors,
        })
    }
}
