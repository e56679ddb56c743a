//! The payloads of the directory mutations: the changed object (or the removed id) beside
//! `userErrors`.

use async_graphql::ID;

use crate::graphql::{
    built::Listed,
    directory::types::{AccessNumber, Location, RoleAssignment},
    errors::payload_type,
    objects::{Account, User},
};

payload_type! {
    /// Result of `accountCreate`.
    AccountCreatePayload {
        /// The new account.
        account: Option<Account>,
    }
    errors: "Why nothing was created."
}

payload_type! {
    /// Result of `locationCreate`.
    LocationCreatePayload {
        /// The new location.
        location: Option<Location>,
    }
    errors: "Why nothing was created."
}

payload_type! {
    /// Result of `accessNumberCreate`.
    AccessNumberCreatePayload {
        /// The new access number.
        access_number: Option<AccessNumber>,
    }
    errors: "Why nothing was created."
}

payload_type! {
    /// Result of `userCreate`.
    UserCreatePayload {
        /// The new user.
        user: Option<User>,
    }
    errors: "Why nothing was created."
}

payload_type! {
    /// Result of `usersImport`.
    UsersImportPayload {
        /// The users created, in input order (empty when any row was refused).
        users: Listed<User>,
    }
    errors: "Every bad row, with its index in `field` (`[\"users\", \"3\", \"extension\"]`)."
}

payload_type! {
    /// Result of `userUpdate`.
    UserUpdatePayload {
        /// The user as it is now.
        user: Option<User>,
    }
}

payload_type! {
    /// Result of `roleAssign`.
    RoleAssignPayload {
        /// The role assignment (the existing one when the user held it already).
        role_assignment: Option<RoleAssignment>,
    }
}

payload_type! {
    /// Result of `roleRevoke`.
    RoleRevokePayload {
        /// Global id of the role assignment removed.
        deleted_id: Option<ID>,
    }
}
