//! The domain events (SPEC E1): one typed enum for every change Reach records in `outbox_event`.
//!
//! A row stores an event as its dotted type (`event_type`, e.g. `user.created`) and its payload
//! (JSON); [`Event`] is both at once, and its variants' payload structs serialise to exactly the
//! stored shape (`tests/api/live/events.rs` decodes and re-encodes rows written before this module
//! existed). Producers build an [`Event`] and hand it, with what it is about ([`Entry`]), to the
//! outbox writer; readers of the log get [`Logged`] events back and match on them, so an event
//! added here is a compile error in every `match` that must decide what to do with it.
//!
//! To add an event: a payload struct, one line in the `events!` table below, then let the
//! compiler show the consumers (`api/src/live/load.rs`, the subscriptions, the plugins).

mod payloads;

use chrono::{DateTime, Utc};
pub use payloads::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::outbox_event;

/// Declares [`Event`] from one table of `Variant(Payload) = "type" on "AggregateType"`, with its
/// [`Event::kind`], [`Event::aggregate_type`] and [`KINDS`].
macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty) = $kind:literal on $aggregate:literal,)*) => {
        /// A domain event: what changed, with the payload its row stores.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "payload")]
        pub enum Event {
            $($(#[$doc])* #[serde(rename = $kind)] $variant($payload),)*
        }

        impl Event {
            /// The dotted type stored in `event_type`, e.g. `user.created`.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $kind,)*
                }
            }

            /// The event a row stores; `Ok(None)` for a type this version does not know (a
            /// newer version wrote it), an error for a known type whose payload does not decode.
            /// The payload is read as its variant's struct at once (not buffered as a tagged
            /// whole first): the audit log decodes a page of events per request.
            pub fn decode(kind: &str, payload: &Value) -> Result<Option<Self>, serde_json::Error> {
                match kind {
                    $($kind => <$payload>::deserialize(payload).map(|p| Some(Self::$variant(p))),)*
                    _ => Ok(None),
                }
            }

            /// The payload as stored.
            pub fn payload(&self) -> Value {
                let stored = match self {
                    $(Self::$variant(p) => serde_json::to_value(p),)*
                };
                // Every payload is a struct of plain fields: it always serialises.
                stored.unwrap_or(Value::Null)
            }

            /// The kind of object it is about, stored in `aggregate_type`, e.g. `User`.
            pub fn aggregate_type(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $aggregate,)*
                }
            }
        }

        /// Every event type this version knows.
        pub const KINDS: &[&str] = &[$($kind,)*];

        /// The aggregate type of each event type, in [`KINDS`]' order.
        pub const AGGREGATE_TYPES: &[&str] = &[$($aggregate,)*];
    };
}

events! {
    /// An account was created (Support).
    AccountCreated(AccountCreated) = "account.created" on "Account",
    /// An account's time zone or holidays changed (Support; holidays also its Decision Makers).
    AccountUpdated(Changed) = "account.updated" on "Account",
    /// A location was added to an account.
    LocationCreated(Named) = "location.created" on "Location",
    /// An access number was added to an account.
    AccessNumberCreated(AccessNumberCreated) = "access_number.created" on "AccessNumber",
    /// A role was granted.
    RoleAssigned(RoleChange) = "role.assigned" on "RoleAssignment",
    /// A role was taken away.
    RoleRevoked(RoleChange) = "role.revoked" on "RoleAssignment",
    /// A user was created (one by one or by import).
    UserCreated(UserCreated) = "user.created" on "User",
    /// A user's directory fields changed.
    UserUpdated(Changed) = "user.updated" on "User",
    /// A user was given another client profile.
    UserClientProfileChanged(ClientProfileChanged) = "user.client_profile_changed" on "User",
    /// A user's active status (and so their active remote extension) changed.
    ActiveStatusChanged(ActiveStatusChanged) = "active_status.changed" on "User",
    /// A status was created.
    DynamicStatusCreated(StatusState) = "dynamic_status.created" on "DynamicStatus",
    /// A status changed.
    DynamicStatusUpdated(StatusChanged) = "dynamic_status.updated" on "DynamicStatus",
    /// A status was deleted.
    DynamicStatusDeleted(StatusDeleted) = "dynamic_status.deleted" on "DynamicStatus",
    /// A number was added to a user (by them, an admin or the platform sync).
    UserNumberCreated(NumberCreated) = "user_number.created" on "UserNumber",
    /// A user's number changed.
    UserNumberUpdated(UserChanged) = "user_number.updated" on "UserNumber",
    /// A user's number was removed.
    UserNumberDeleted(NumberDeleted) = "user_number.deleted" on "UserNumber",
    /// A client profile was created.
    ClientProfileCreated(ClientProfile) = "client_profile.created" on "ClientProfile",
    /// A client profile changed.
    ClientProfileUpdated(ClientProfile) = "client_profile.updated" on "ClientProfile",
    /// An account's platform connection was set (never its token).
    PlatformConnectionSet(PlatformConnection) = "platform_connection.set" on "Account",
    /// A platform sync run was asked for.
    PlatformSyncRunCreated(SyncRun) = "platform_sync_run.created" on "PlatformSyncRun",
    /// A platform sync run moved on.
    PlatformSyncRunUpdated(SyncRun) = "platform_sync_run.updated" on "PlatformSyncRun",
    /// An account asked for Connect for Mobile (M2).
    MobilityActivationRequested(ActivationRequested) = "mobility.activation_requested" on "Mobility",
    /// Support finished the set-up (M3).
    MobilityActivationCompleted(ActivationCompleted) = "mobility.activation_completed" on "Mobility",
    /// Support changed the add-on's settings (M4).
    MobilitySettingsUpdated(SettingsUpdated) = "mobility.settings_updated" on "Mobility",
    /// The add-on's email notifications were switched on or off.
    MobilityEmailNotificationChanged(EmailNotificationChanged) = "mobility.email_notification_changed" on "Mobility",
    /// The add-on was switched off.
    MobilityDeactivated(Versioned) = "mobility.deactivated" on "Mobility",
    /// A notification was queued for its recipients.
    MobilityNotificationQueued(NotificationQueued) = "mobility.notification_queued" on "MobilityNotification",
    /// A user was enabled for mobility (one event per user of a batch).
    MobilityUserEnabled(MobilityUser) = "mobility.user_enabled" on "MobilityUser",
    /// A mobility user's extension changed.
    MobilityUserUpdated(MobilityUserUpdated) = "mobility.user_updated" on "MobilityUser",
    /// A user was disabled for mobility (one event per user of a batch).
    MobilityUserDisabled(MobilityUser) = "mobility.user_disabled" on "MobilityUser",
    /// Support asked for failed deliveries to be sent again.
    NotificationRetryRequested(RetryRequested) = "notification.retry_requested" on "MobilityNotification",
    /// A webhook endpoint was registered (never its secret).
    WebhookEndpointCreated(WebhookEndpoint) = "webhook_endpoint.created" on "WebhookEndpoint",
    /// A webhook endpoint changed: by its admins, or switched off by Reach after failing.
    WebhookEndpointUpdated(Changed) = "webhook_endpoint.updated" on "WebhookEndpoint",
    /// A webhook endpoint was deleted.
    WebhookEndpointDeleted(WebhookEndpoint) = "webhook_endpoint.deleted" on "WebhookEndpoint",
    /// A webhook endpoint's secret was replaced (never either secret).
    WebhookEndpointSecretRotated(SecretRotated) = "webhook_endpoint.secret_rotated" on "WebhookEndpoint",
}

impl Event {
    /// The user the event names in its payload (`userId`), if any.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::RoleAssigned(p) | Self::RoleRevoked(p) => Some(p.user_id),
            Self::DynamicStatusCreated(p) => Some(p.user_id),
            Self::DynamicStatusUpdated(p) => Some(p.user_id),
            Self::DynamicStatusDeleted(p) => Some(p.user_id),
            Self::UserNumberCreated(p) => Some(p.user_id),
            Self::UserNumberUpdated(p) => Some(p.user_id),
            Self::UserNumberDeleted(p) => Some(p.user_id),
            Self::MobilityUserEnabled(p) | Self::MobilityUserDisabled(p) => Some(p.user_id),
            Self::MobilityUserUpdated(p) => Some(p.user_id),
            Self::AccountCreated(_)
            | Self::AccountUpdated(_)
            | Self::LocationCreated(_)
            | Self::AccessNumberCreated(_)
            | Self::UserCreated(_)
            | Self::UserUpdated(_)
            | Self::UserClientProfileChanged(_)
            | Self::ActiveStatusChanged(_)
            | Self::ClientProfileCreated(_)
            | Self::ClientProfileUpdated(_)
            | Self::PlatformConnectionSet(_)
            | Self::PlatformSyncRunCreated(_)
            | Self::PlatformSyncRunUpdated(_)
            | Self::MobilityActivationRequested(_)
            | Self::MobilityActivationCompleted(_)
            | Self::MobilitySettingsUpdated(_)
            | Self::MobilityEmailNotificationChanged(_)
            | Self::MobilityDeactivated(_)
            | Self::MobilityNotificationQueued(_)
            | Self::NotificationRetryRequested(_)
            | Self::WebhookEndpointCreated(_)
            | Self::WebhookEndpointUpdated(_)
            | Self::WebhookEndpointDeleted(_)
            | Self::WebhookEndpointSecretRotated(_) => None,
        }
    }

    /// What it is about: `aggregate_id` in `account_id`, ready for the outbox writer.
    pub fn about(self, account_id: Uuid, aggregate_id: Uuid) -> Entry {
        Entry {
            account_id: Some(account_id),
            aggregate_id,
            event: self,
        }
    }
}

impl Entry {
    /// The user the event is about: the user its payload names, else the object itself when it
    /// is a user (or a user's Connect for Mobile record, keyed by the user). Stored in
    /// `outbox_event.user_id`.
    pub fn user_id(&self) -> Option<Uuid> {
        self.event
            .user_id()
            .or_else(|| matches!(self.event.aggregate_type(), "User" | "MobilityUser").then_some(self.aggregate_id))
    }
}

/// An event about to be recorded, with what it is about.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The account it concerns.
    pub account_id: Option<Uuid>,
    /// The object's key (its kind is the event's [`Event::aggregate_type`]).
    pub aggregate_id: Uuid,
    /// What happened.
    pub event: Event,
}

/// A committed event read back from the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Logged {
    /// The row's id.
    pub id: Uuid,
    /// Its transaction id (0 on SQLite).
    pub txid: i64,
    /// Its position in the log.
    pub position: i64,
    /// The account it concerns.
    pub account_id: Option<Uuid>,
    /// The object's key.
    pub aggregate_id: Uuid,
    /// Who made the change (`user:<id>`, `support:<name>`, `system:<name>`).
    pub actor: String,
    /// When it was recorded.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub event: Event,
    /// The W3C `traceparent` of the request that recorded it, when tracing was exporting.
    pub traceparent: Option<String>,
}

/// Why a stored row is not an event this version can act on.
#[derive(Debug, thiserror::Error)]
pub enum Undecodable {
    /// A newer version's event type.
    #[error("unknown event type {0:?}")]
    Unknown(String),
    /// A known type whose payload does not have its shape.
    #[error("event type {kind:?} with a payload that does not decode: {error}")]
    Malformed {
        /// The stored type.
        kind: String,
        /// What serde said.
        error: serde_json::Error,
    },
}

impl TryFrom<outbox_event::Model> for Logged {
    type Error = Undecodable;

    fn try_from(row: outbox_event::Model) -> Result<Self, Undecodable> {
        let event = match Event::decode(&row.event_type, &row.payload) {
            Ok(Some(event)) => event,
            Ok(None) => return Err(Undecodable::Unknown(row.event_type)),
            Err(error) => {
                return Err(Undecodable::Malformed {
                    kind: row.event_type,
                    error,
                });
            }
        };
        Ok(Self {
            id: row.id,
            txid: row.txid,
            position: row.position,
            account_id: row.account_id,
            aggregate_id: row.aggregate_id,
            actor: row.actor,
            occurred_at: row.occurred_at,
            event,
            traceparent: row.traceparent,
        })
    }
}

impl Logged {
    /// The user the event names (`userId`), else the object it is about.
    pub fn user_id(&self) -> Uuid {
        self.event.user_id().unwrap_or(self.aggregate_id)
    }
}
