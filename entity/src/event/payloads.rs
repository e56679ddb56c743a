//! The payloads of the domain events, each serialising to the stored form of its type.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A field's value before and after a change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Before.
    pub old: Value,
    /// After.
    pub new: Value,
}

impl FieldChange {
    /// `old` → `new`, each as JSON.
    pub fn new(old: impl Serialize, new: impl Serialize) -> Self {
        Self {
            old: serde_json::to_value(old).unwrap_or(Value::Null),
            new: serde_json::to_value(new).unwrap_or(Value::Null),
        }
    }
}

/// The changed fields of an object, by their API name.
pub type Changes = BTreeMap<String, FieldChange>;

/// `account.created`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountCreated {
    /// Its name.
    pub name: String,
    /// Its platform, as stored (`BROADWORKS`, `MX_ONE`, …).
    pub platform: String,
    /// Its destination codes.
    pub destination_codes: Vec<String>,
    /// Its extension length, if fixed.
    pub extension_length: Option<i32>,
}

/// An object known by its name (`location.created`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// Its name.
    pub name: String,
}

/// `access_number.created`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccessNumberCreated {
    /// The number.
    pub number: String,
    /// Its label.
    pub label: String,
}

/// `role.assigned` and `role.revoked`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleChange {
    /// The user.
    pub user_id: Uuid,
    /// The role, as stored (`DECISION_MAKER`, `PHONE_MANAGER`).
    pub role: String,
    /// The location of a location Phone Manager.
    pub location_id: Option<Uuid>,
}

/// `user.created`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    /// Name.
    pub name: String,
    /// Email.
    pub email: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Extension.
    pub extension: String,
    /// Phone profile, as stored.
    pub phone_profile: String,
    /// Location.
    pub location_id: Option<Uuid>,
}

/// An update that lists its changed fields (`user.updated`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    /// The changed fields.
    pub changes: Changes,
}

/// An update of something a user owns (`user_number.updated`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserChanged {
    /// The owner.
    pub user_id: Uuid,
    /// The changed fields.
    pub changes: Changes,
}

/// `user.client_profile_changed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientProfileChanged {
    /// The new profile.
    pub client_profile_id: Uuid,
    /// The one before, if any.
    pub previous: Option<Uuid>,
}

/// `active_status.changed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveStatusChanged {
    /// The active status now.
    pub active_status_id: Option<Uuid>,
    /// The active remote extension now.
    pub active_remote_extension_id: Option<Uuid>,
    /// The status active before.
    pub previous_status_id: Option<Uuid>,
    /// Why the status is active now (`MANUAL`, `SCHEDULE`, `DEFAULT`); absent from events
    /// recorded before schedules existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Where one kind of call goes (a status's routing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The kind, as stored.
    pub kind: String,
    /// The number, for a kind that names one.
    pub number_id: Option<Uuid>,
}

/// A status's four routing targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Routing {
    /// Which phone calls.
    pub call_using: Target,
    /// Where calls go.
    pub send_calls_to: Target,
    /// Where calls go when busy.
    pub when_busy: Target,
    /// Where unanswered calls go.
    pub if_no_answer: Target,
}

/// `dynamic_status.created`: what the status holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusState {
    /// Its user.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Presence, as stored.
    pub presence: String,
    /// Message.
    pub message: Option<String>,
    /// Origin, as stored.
    pub origin: String,
    /// The remote extension it makes active.
    pub remote_extension_id: Option<Uuid>,
    /// Routing.
    pub routing: Routing,
    /// Version.
    pub version: i64,
}

/// `dynamic_status.updated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChanged {
    /// Its user.
    pub user_id: Uuid,
    /// The new version.
    pub version: i64,
    /// The changed fields.
    pub changes: Changes,
}

/// `dynamic_status.deleted`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDeleted {
    /// Its user.
    pub user_id: Uuid,
    /// Its name.
    pub name: String,
}

/// `user_number.created`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberCreated {
    /// Its user.
    pub user_id: Uuid,
    /// Label.
    pub label: String,
    /// Number.
    pub number: String,
    /// Whether it is a remote extension.
    pub is_remote_extension: bool,
    /// Who added it, as stored (`USER`, `PLATFORM`).
    pub origin: String,
    /// Whether calls go through it.
    pub call_through: bool,
    /// A remote extension's delay before ringing, in seconds (issue 21 §3). Absent for other
    /// numbers, and from events recorded before numbers had it; so are the three below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_delay_seconds: Option<i32>,
    /// A remote extension's "answer too soon", in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_too_soon_ms: Option<i32>,
    /// A remote extension's "answer too late", in milliseconds (0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_too_late_ms: Option<i32>,
    /// Whether whoever answers a remote extension presses a key first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_keypress: Option<bool>,
}

/// `user_number.deleted`: its platform id lets the platform sync delete it there too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberDeleted {
    /// Its user.
    pub user_id: Uuid,
    /// Number.
    pub number: String,
    /// Who added it, as stored.
    pub origin: String,
    /// Its id on the platform.
    pub platform_id: Option<String>,
}

/// `client_profile.created` and `client_profile.updated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientProfile {
    /// Name.
    pub name: String,
    /// Users may add statuses.
    pub allow_users_add_status: bool,
    /// Users may switch call through on.
    pub call_through_allowed: bool,
}

/// `platform_connection.set`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformConnection {
    /// The platform's address.
    pub base_url: String,
    /// The account on the platform.
    pub platform_account: String,
}

/// `platform_sync_run.created` and `.updated`: the run at that moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    /// State, as stored.
    pub state: String,
    /// Version.
    pub version: i32,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Numbers created.
    pub created: i32,
    /// Numbers updated.
    pub updated: i32,
    /// Numbers removed.
    pub removed: i32,
    /// Numbers kept.
    pub kept: i32,
    /// Numbers sent to the platform (absent in runs recorded before the export existed).
    #[serde(default)]
    pub exported: i32,
    /// What went wrong, as stored (a list of texts).
    #[serde(default = "no_errors")]
    pub errors: Value,
}

fn no_errors() -> Value {
    Value::Array(Vec::new())
}

/// `mobility.activation_requested`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationRequested {
    /// The voicemail access number.
    pub voicemail_access_number: Option<String>,
    /// The access number chosen.
    pub access_number_id: Option<Uuid>,
    /// The reverse-dial number.
    pub reverse_dial_number: Option<String>,
    /// The handover number.
    pub handover_number: Option<String>,
    /// Whether settings changes are emailed, as the activation left it (the dialog's checkbox,
    /// or the stored value where the dialog left it out). Absent from events recorded before
    /// the activation took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_email_notification: Option<bool>,
    /// The add-on's new version.
    pub version: i64,
}

/// `mobility.activation_completed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationCompleted {
    /// The Mobility Router.
    pub mobility_router: Option<String>,
    /// The group name.
    pub group_name: Option<String>,
    /// The add-on's new version.
    pub version: i64,
}

/// One changed setting of `mobility.settings_updated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingChange {
    /// The setting's API name.
    pub field: String,
    /// Before.
    pub old: Option<String>,
    /// After.
    pub new: Option<String>,
}

/// `mobility.settings_updated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsUpdated {
    /// The changed settings, in the order people read them.
    pub changes: Vec<SettingChange>,
    /// The add-on's new version.
    pub version: i64,
}

/// `mobility.email_notification_changed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailNotificationChanged {
    /// Whether notifications are on.
    pub enabled: bool,
    /// The add-on's new version.
    pub version: i64,
}

/// A change that only moves the add-on's version (`mobility.deactivated`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    /// The add-on's new version.
    pub version: i64,
}

/// `mobility.notification_queued`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotificationQueued {
    /// Recipients with an email address.
    pub recipients: usize,
    /// Recipients without one.
    pub skipped: usize,
}

/// `mobility.user_enabled` and `mobility.user_disabled`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobilityUser {
    /// The user.
    pub user_id: Uuid,
    /// Their mobility extension (`null` only in a disable of a user whose record was gone).
    pub mobility_extension: Option<String>,
}

/// `mobility.user_updated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobilityUserUpdated {
    /// The user.
    pub user_id: Uuid,
    /// Their mobility extension before and after.
    pub mobility_extension: FieldChange,
}

/// `notification.retry_requested`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryRequested {
    /// The deliveries to send again.
    pub deliveries: Vec<Uuid>,
}

/// `webhook_endpoint.created` and `webhook_endpoint.deleted`: the endpoint, never its secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    /// Where deliveries go.
    pub url: String,
    /// What the admins call it.
    pub description: String,
    /// The event types it gets (empty: all).
    pub event_kinds: Vec<String>,
}

/// `webhook_endpoint.secret_rotated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRotated {
    /// Until when the previous secret signs too.
    pub previous_valid_until: DateTime<Utc>,
}
