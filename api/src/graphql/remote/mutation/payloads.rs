//! The payloads of the Remote Extension mutations: the changed object (or the deleted id)
//! beside `userErrors`.

use async_graphql::{ID, SimpleObject};

use crate::graphql::{
    directory::types::User,
    errors::UserError,
    remote::types::{ClientProfile, DynamicStatus, UserNumber},
};

/// Declares a payload: `$field` of type `$ty` (the changed object, or the deleted id) beside
/// `userErrors`.
macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty, $doc:literal, $field_doc:literal) => {
        #[doc = $doc]
        #[derive(SimpleObject)]
        pub struct $name {
            #[doc = $field_doc]
            pub $field: Option<$ty>,
            /// Why nothing changed.
            pub user_errors: Vec<UserError>,
        }
    };
}

payload_type!(
    UserNumberCreatePayload,
    user_number,
    UserNumber,
    "Result of `userNumberCreate`.",
    "The new number."
);
payload_type!(
    UserNumberUpdatePayload,
    user_number,
    UserNumber,
    "Result of `userNumberUpdate`.",
    "The number as it is now."
);
payload_type!(
    UserNumberDeletePayload,
    deleted_id,
    ID,
    "Result of `userNumberDelete`.",
    "The global id of the deleted number."
);

payload_type!(
    DynamicStatusCreatePayload,
    dynamic_status,
    DynamicStatus,
    "Result of `dynamicStatusCreate`.",
    "The new status."
);
payload_type!(
    DynamicStatusUpdatePayload,
    dynamic_status,
    DynamicStatus,
    "Result of `dynamicStatusUpdate`.",
    "The status as it is now."
);
payload_type!(
    DynamicStatusDeletePayload,
    deleted_id,
    ID,
    "Result of `dynamicStatusDelete`.",
    "The global id of the deleted status."
);
payload_type!(
    DynamicStatusActivatePayload,
    dynamic_status,
    DynamicStatus,
    "Result of `dynamicStatusActivate`.",
    "The status now active (its `user` shows the new active remote extension)."
);

payload_type!(
    ClientProfileCreatePayload,
    client_profile,
    ClientProfile,
    "Result of `clientProfileCreate`.",
    "The new profile."
);
payload_type!(
    ClientProfileUpdatePayload,
    client_profile,
    ClientProfile,
    "Result of `clientProfileUpdate`.",
    "The profile as it is now."
);

/// Result of `userClientProfileSet`.
#[derive(SimpleObject)]
pub struct UserClientProfileSetPayload {
    /// The user as it is now.
    pub user: Option<User>,
    /// The profile the user has now.
    pub client_profile: Option<ClientProfile>,
    /// Why nothing changed.
    pub user_errors: Vec<UserError>,
}
