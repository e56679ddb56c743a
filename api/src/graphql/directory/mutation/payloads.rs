//! The payloads of the directory mutations: the changed object (or the removed id) beside
//! `userErrors`.

use async_graphql::{ID, SimpleObject};

use crate::graphql::{
    directory::types::{AccessNumber, Account, Location, RoleAssignment, User},
    errors::UserError,
};

/// Result of `accountCreate`.
#[derive(SimpleObject)]
pub struct AccountCreatePayload {
    /// The new account.
    pub account: Option<Account>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Result of `locationCreate`.
#[derive(SimpleObject)]
pub struct LocationCreatePayload {
    /// The new location.
    pub location: Option<Location>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Result of `accessNumberCreate`.
#[derive(SimpleObject)]
pub struct AccessNumberCreatePayload {
    /// The new access number.
    pub access_number: Option<AccessNumber>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Result of `userCreate`.
#[derive(SimpleObject)]
pub struct UserCreatePayload {
    /// The new user.
    pub user: Option<User>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Result of `usersImport`.
#[derive(SimpleObject)]
pub struct UsersImportPayload {
    /// The users created, in input order (empty when any row was refused).
    pub users: Vec<User>,
    /// Every bad row, with its index in `field` (`["users", "3", "extension"]`).
    pub user_errors: Vec<UserError>,
}

/// Result of `userUpdate`.
#[derive(SimpleObject)]
pub struct UserUpdatePayload {
    /// The user as it is now.
    pub user: Option<User>,
    /// Why nothing changed.
    pub user_errors: Vec<UserError>,
}

/// Result of `roleAssign`.
#[derive(SimpleObject)]
pub struct RoleAssignPayload {
    /// The role assignment (the existing one when the user held it already).
    pub role_assignment: Option<RoleAssignment>,
    /// Why nothing changed.
    pub user_errors: Vec<UserError>,
}

/// Result of `roleRevoke`.
#[derive(SimpleObject)]
pub struct RoleRevokePayload {
    /// Global id of the role assignment removed.
    pub deleted_id: Option<ID>,
    /// Why nothing changed.
    pub user_errors: Vec<UserError>,
}
