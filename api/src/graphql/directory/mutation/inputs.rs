//! The inputs of the directory mutations.

use async_graphql::{ID, InputObject, MaybeUndefined};

use crate::{
    graphql::{
        directory::types::{PhoneProfile, Platform, Role},
        ids::{self, Kind},
    },
    service::{GivenId, directory::UserFields},
};

/// Input of `accountCreate`.
#[derive(InputObject)]
pub struct AccountCreateInput {
    /// Display name (trimmed, 1–200 characters).
    pub name: String,
    /// The platform the account runs on.
    pub platform: Platform,
    /// Destination codes (1–10 codes of 1–4 digits); default `["0"]`.
    pub destination_codes: Option<Vec<String>>,
    /// Fixed extension length (2–15), if the account has one.
    pub extension_length: Option<i32>,
}

/// Input of `locationCreate`.
#[derive(InputObject)]
pub struct LocationCreateInput {
    /// The account.
    pub account_id: ID,
    /// Name (trimmed, 1–200 characters, unique in the account ignoring case).
    pub name: String,
}

/// Input of `accessNumberCreate`.
#[derive(InputObject)]
pub struct AccessNumberCreateInput {
    /// The account.
    pub account_id: ID,
    /// The number: an optional `+` and 3–15 digits (spaces, dashes, dots, parentheses ignored).
    pub number: String,
    /// Label (trimmed, 1–64 characters).
    pub label: String,
}

/// Input of `userCreate`.
#[derive(InputObject)]
pub struct UserCreateInput {
    /// The account.
    pub account_id: ID,
    /// The user's directory fields.
    #[graphql(flatten)]
    pub user: UserImportRow,
}

/// One user's directory fields: a row of `usersImport`, and `userCreate` without the account.
#[derive(InputObject)]
pub struct UserImportRow {
    /// The user's location in the account.
    pub location_id: Option<ID>,
    /// Name (trimmed, 1–200 characters).
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number: an optional `+` and 3–15 digits.
    pub phone_number: Option<String>,
    /// Extension: digits, the account's `extensionLength` or 2–15, unique in the account (and in
    /// an import batch).
    pub extension: String,
    /// Phone profile tier.
    pub phone_profile: PhoneProfile,
}

impl From<UserImportRow> for UserFields {
    fn from(row: UserImportRow) -> Self {
        UserFields {
            location_id: location(row.location_id.as_ref()),
            name: row.name,
            email: row.email,
            phone_number: row.phone_number,
            extension: row.extension,
            phone_profile: row.phone_profile.into(),
        }
    }
}

/// Input of `usersImport`.
#[derive(InputObject)]
pub struct UsersImportInput {
    /// The account.
    pub account_id: ID,
    /// The users to create (1–1000); all or none are created.
    pub users: Vec<UserImportRow>,
}

/// Input of `userUpdate`: fields left out stay as they are; `null` clears an optional one.
#[derive(InputObject)]
pub struct UserUpdateInput {
    /// The user.
    pub id: ID,
    /// New location (`null`: none).
    pub location_id: MaybeUndefined<ID>,
    /// New name.
    pub name: Option<String>,
    /// New email address (`null`: none).
    pub email: MaybeUndefined<String>,
    /// New phone number (`null`: none).
    pub phone_number: MaybeUndefined<String>,
    /// New extension.
    pub extension: Option<String>,
    /// New phone profile.
    pub phone_profile: Option<PhoneProfile>,
}

/// Which role of which user, for one location or account-wide.
#[derive(InputObject)]
pub struct RoleTarget {
    /// The user.
    pub user_id: ID,
    /// The role.
    pub role: Role,
    /// For a Phone Manager of one location: that location; omitted for account-wide.
    pub location_id: Option<ID>,
}

impl RoleTarget {
    /// The user's key, the role, and the location.
    pub(super) fn parts(&self) -> (Option<uuid::Uuid>, entity::Role, Option<GivenId>) {
        (
            ids::decode_as(&self.user_id, Kind::User),
            self.role.into(),
            location(self.location_id.as_ref()),
        )
    }
}

/// Input of `roleAssign`.
#[derive(InputObject)]
pub struct RoleAssignInput {
    /// The role to grant.
    #[graphql(flatten)]
    pub target: RoleTarget,
}

/// Input of `roleRevoke`.
#[derive(InputObject)]
pub struct RoleRevokeInput {
    /// The role to take away.
    #[graphql(flatten)]
    pub target: RoleTarget,
}

fn location(id: Option<&ID>) -> Option<GivenId> {
    id.map(|id| ids::given(id, Kind::Location))
}
