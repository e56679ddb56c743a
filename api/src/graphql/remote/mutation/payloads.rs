//! The payloads of the Remote Extension mutations: the changed object (or the deleted id)
//! beside `userErrors`.

use async_graphql::ID;

use crate::graphql::{
    errors::payload_type,
    objects::{Account, User},
    remote::types::{ClientProfile, DynamicStatus, UserNumber},
};

payload_type! {
    /// Result of `userNumberCreate`.
    UserNumberCreatePayload {
        /// The new number.
        user_number: Option<UserNumber>,
    }
}

payload_type! {
    /// Result of `userNumberUpdate`.
    UserNumberUpdatePayload {
        /// The number as it is now.
        user_number: Option<UserNumber>,
    }
}

payload_type! {
    /// Result of `userNumberDelete`.
    UserNumberDeletePayload {
        /// The global id of the deleted number.
        deleted_id: Option<ID>,
    }
}

payload_type! {
    /// Result of `dynamicStatusCreate`.
    DynamicStatusCreatePayload {
        /// The new status.
        dynamic_status: Option<DynamicStatus>,
    }
}

payload_type! {
    /// Result of `dynamicStatusUpdate`.
    DynamicStatusUpdatePayload {
        /// The status as it is now.
        dynamic_status: Option<DynamicStatus>,
    }
}

payload_type! {
    /// Result of `dynamicStatusDelete`.
    DynamicStatusDeletePayload {
        /// The global id of the deleted status.
        deleted_id: Option<ID>,
    }
}

payload_type! {
    /// Result of `dynamicStatusActivate`.
    DynamicStatusActivatePayload {
        /// The status now active (its `user` shows the new active remote extension).
        dynamic_status: Option<DynamicStatus>,
    }
}

payload_type! {
    /// Result of `clientProfileCreate`.
    ClientProfileCreatePayload {
        /// The new profile.
        client_profile: Option<ClientProfile>,
    }
}

payload_type! {
    /// Result of `clientProfileUpdate`.
    ClientProfileUpdatePayload {
        /// The profile as it is now.
        client_profile: Option<ClientProfile>,
    }
}

payload_type! {
    /// Result of `userClientProfileSet`.
    UserClientProfileSetPayload {
        /// The user as it is now.
        user: Option<User>,
        /// The profile the user has now.
        client_profile: Option<ClientProfile>,
    }
}

payload_type! {
    /// Result of `dynamicStatusScheduleSet`.
    DynamicStatusScheduleSetPayload {
        /// The status as it is now.
        dynamic_status: Option<DynamicStatus>,
    }
}

payload_type! {
    /// Result of `userTimeZoneSet`.
    UserTimeZoneSetPayload {
        /// The user as it is now.
        user: Option<User>,
    }
}

payload_type! {
    /// Result of `accountTimeZoneSet`.
    AccountTimeZoneSetPayload {
        /// The account as it is now.
        account: Option<Account>,
    }
}

payload_type! {
    /// Result of `accountHolidaysSet`.
    AccountHolidaysSetPayload {
        /// The account as it is now (its `holidays` the new calendar).
        account: Option<Account>,
    }
}
