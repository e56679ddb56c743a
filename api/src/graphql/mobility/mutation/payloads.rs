//! The payloads of the Connect for Mobile mutations: the changed object beside `userErrors`.

use async_graphql::Result;
use entity::mobility_account;

use crate::{
    graphql::{
        built::Listed,
        errors::{UserError, payload, payload_type},
        mobility::types::{Mobility, MobilityUser},
        objects::User,
    },
    service::ServiceResult,
};

payload_type! {
    /// Result of `mobilityActivate`.
    MobilityActivatePayload {
        /// The add-on as it is now.
        mobility: Option<Mobility>,
    }
}

payload_type! {
    /// Result of `mobilityActivationComplete`.
    MobilityActivationCompletePayload {
        /// The add-on as it is now.
        mobility: Option<Mobility>,
    }
}

payload_type! {
    /// Result of `mobilitySettingsUpdate`.
    MobilitySettingsUpdatePayload {
        /// The add-on as it is now.
        mobility: Option<Mobility>,
    }
}

payload_type! {
    /// Result of `mobilityEmailNotificationSet`.
    MobilityEmailNotificationSetPayload {
        /// The add-on as it is now.
        mobility: Option<Mobility>,
    }
}

payload_type! {
    /// Result of `mobilityDeactivate`.
    MobilityDeactivatePayload {
        /// The add-on as it is now.
        mobility: Option<Mobility>,
    }
}

payload_type! {
    /// Result of `mobilityUsersEnable`.
    MobilityUsersEnablePayload {
        /// The users enabled (for a dry run: who would be), in input order; empty on any error.
        mobility_users: Listed<MobilityUser>,
        /// Whether this was a dry run (nothing written).
        dry_run: bool,
    }
    errors: "Every bad row, with its index in `field` (`[\"users\", \"3\", \"mobilityExtension\"]`)."
}

payload_type! {
    /// Result of `mobilityUserUpdate`.
    MobilityUserUpdatePayload {
        /// The user's mobility record as it is now.
        mobility_user: Option<MobilityUser>,
    }
}

payload_type! {
    /// Result of `mobilityUsersDisable`.
    MobilityUsersDisablePayload {
        /// The users taken off mobility, in input order; empty on any error.
        users: Vec<User>,
    }
    errors: "Every bad row, with its index in `field` (`[\"userIds\", \"3\"]`)."
}

/// What the add-on mutations answer: the add-on as it is now, or why nothing changed.
pub(super) fn addon_payload(
    result: ServiceResult<mobility_account::Model>,
) -> Result<(Option<Mobility>, Vec<UserError>)> {
    let (addon, user_errors) = payload(result)?;
    let mobility = addon.map(|a| Mobility {
        account_id: a.account_id,
        addon: Some(a),
    });
    Ok((mobility, user_errors))
}
