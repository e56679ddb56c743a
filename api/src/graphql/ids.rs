//! Opaque global ids: base64url of `Type:uuid`, resolvable by `node(id:)`.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::service::{Change, GivenId};

/// The kinds of object a global id can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An account.
    Account,
    /// A location.
    Location,
    /// An access number.
    AccessNumber,
    /// A user.
    User,
    /// A role assignment.
    RoleAssignment,
    /// A user's Connect for Mobile record (keyed by the user).
    MobilityUser,
    /// A settings-change notification.
    MobilityNotification,
    /// One recipient's delivery of a notification.
    NotificationRecipient,
    /// One of a user's numbers.
    UserNumber,
    /// A dynamic status.
    DynamicStatus,
    /// A client profile.
    ClientProfile,
    /// A platform sync run.
    PlatformSyncRun,
    /// A webhook endpoint.
    WebhookEndpoint,
    /// One delivery to a webhook endpoint.
    WebhookDelivery,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Account => "Account",
            Kind::Location => "Location",
            Kind::AccessNumber => "AccessNumber",
            Kind::User => "User",
            Kind::RoleAssignment => "RoleAssignment",
            Kind::MobilityUser => "MobilityUser",
            Kind::MobilityNotification => "MobilityNotification",
            Kind::NotificationRecipient => "NotificationRecipient",
            Kind::UserNumber => "UserNumber",
            Kind::DynamicStatus => "DynamicStatus",
            Kind::ClientProfile => "ClientProfile",
            Kind::PlatformSyncRun => "PlatformSyncRun",
            Kind::WebhookEndpoint => "WebhookEndpoint",
            Kind::WebhookDelivery => "WebhookDelivery",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Kind::Account,
            Kind::Location,
            Kind::AccessNumber,
            Kind::User,
            Kind::RoleAssignment,
            Kind::MobilityUser,
            Kind::MobilityNotification,
            Kind::NotificationRecipient,
            Kind::UserNumber,
            Kind::DynamicStatus,
            Kind::ClientProfile,
            Kind::PlatformSyncRun,
            Kind::WebhookEndpoint,
            Kind::WebhookDelivery,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// The global id of object `id` of `kind`.
pub fn encode(kind: Kind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.name(), id)))
}

/// Reads any global id; `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(Kind, Uuid)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, key) = raw.split_once(':')?;
    Some((Kind::parse(kind)?, Uuid::parse_str(key).ok()?))
}

/// Reads a global id that must be of `kind`; anything else is `None` (treated as unknown).
pub fn decode_as(id: &str, kind: Kind) -> Option<Uuid> {
    decode(id).filter(|(k, _)| *k == kind).map(|(_, id)| id)
}

/// A client's id of `kind`, as the services take it: an id of another kind, or no id at all,
/// is [`GivenId::Unreadable`] (answered like an unknown object).
pub fn given(id: &str, kind: Kind) -> GivenId {
    decode_as(id, kind).into()
}

/// An input field that may be left out (keep), `null` (clear) or given (set).
pub fn patch<T>(v: async_graphql::MaybeUndefined<T>) -> Change<T> {
    match v {
        async_graphql::MaybeUndefined::Undefined => Change::Keep,
        async_graphql::MaybeUndefined::Null => Change::Clear,
        async_graphql::MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_type() {
        let key = Uuid::new_v4();
        let id = encode(Kind::User, key);
        assert_eq!(decode(&id), Some((Kind::User, key)));
        assert_eq!(decode_as(&id, Kind::User), Some(key));
        assert_eq!(decode_as(&id, Kind::Account), None);
        assert_eq!(decode("garbage"), None);
        assert!(!id.contains(&key.to_string()), "ids are opaque");
    }
}
