//! Directory mutations (Support; Decision Makers for their own account): each takes one `input`
//! and answers a payload with the changed object and `userErrors`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::types::{AccessNumber, Account, Location, PhoneProfile, Platform, Role, RoleAssignment, User};
use crate::{
    graphql::{
        context,
        errors::{UserError, payload},
        guard,
        ids::{self, Kind},
    },
    service::directory::{self, NewAccount, UserChanges, UserFields},
    state::AppState,
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

/// Result of `accountCreate`.
#[derive(SimpleObject)]
pub struct AccountCreatePayload {
    /// The new account.
    pub account: Option<Account>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Input of `locationCreate`.
#[derive(InputObject)]
pub struct LocationCreateInput {
    /// The account.
    pub account_id: ID,
    /// Name (trimmed, 1–200 characters, unique in the account ignoring case).
    pub name: String,
}

/// Result of `locationCreate`.
#[derive(SimpleObject)]
pub struct LocationCreatePayload {
    /// The new location.
    pub location: Option<Location>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
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

/// Result of `accessNumberCreate`.
#[derive(SimpleObject)]
pub struct AccessNumberCreatePayload {
    /// The new access number.
    pub access_number: Option<AccessNumber>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
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

/// Result of `userCreate`.
#[derive(SimpleObject)]
pub struct UserCreatePayload {
    /// The new user.
    pub user: Option<User>,
    /// Why nothing was created.
    pub user_errors: Vec<UserError>,
}

/// Input of `usersImport`.
#[derive(InputObject)]
pub struct UsersImportInput {
    /// The account.
    pub account_id: ID,
    /// The users to create (1–1000); all or none are created.
    pub users: Vec<UserImportRow>,
}

/// Result of `usersImport`.
#[derive(SimpleObject)]
pub struct UsersImportPayload {
    /// The users created, in input order (empty when any row was refused).
    pub users: Vec<User>,
    /// Every bad row, with its index in `field` (`["users", "3", "extension"]`).
    pub user_errors: Vec<UserError>,
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

/// Result of `userUpdate`.
#[derive(SimpleObject)]
pub struct UserUpdatePayload {
    /// The user as it is now.
    pub user: Option<User>,
    /// Why nothing changed.
    pub user_errors: Vec<UserError>,
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
    /// The user's key, the role, and the location (`Some(None)`: an id that could not be read).
    fn parts(&self) -> (Option<uuid::Uuid>, entity::Role, Option<Option<uuid::Uuid>>) {
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

fn location(id: Option<&ID>) -> Option<Option<uuid::Uuid>> {
    id.map(|id| ids::decode_as(id, Kind::Location))
}

/// Directory mutations.
#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Creates an account (Support only).
    async fn account_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: AccountCreateInput,
    ) -> Result<AccountCreatePayload> {
        let guard = guard::check(&input);
        let new = NewAccount {
            name: input.name,
            platform: input.platform.into(),
            destination_codes: input.destination_codes,
            extension_length: input.extension_length,
        };
        let (account, user_errors) = payload(
            guard
                .run(directory::create_account(
                    context::db(ctx)?,
                    context::principal(ctx)?,
                    new,
                ))
                .await,
        )?;
        Ok(AccountCreatePayload {
            account: account.map(Account),
            user_errors,
        })
    }

    /// Adds a location to an account (Support, or a Decision Maker of the account).
    async fn location_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new location.")] input: LocationCreateInput,
    ) -> Result<LocationCreatePayload> {
        let guard = guard::check(&input);
        let account = ids::decode_as(&input.account_id, Kind::Account);
        let (location, user_errors) = payload(
            guard
                .run(directory::create_location(
                    context::db(ctx)?,
                    context::principal(ctx)?,
                    account,
                    &input.name,
                ))
                .await,
        )?;
        Ok(LocationCreatePayload {
            location: location.map(Location),
            user_errors,
        })
    }

    /// Adds an access number to an account (Support, or a Decision Maker of the account).
    async fn access_number_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new access number.")] input: AccessNumberCreateInput,
    ) -> Result<AccessNumberCreatePayload> {
        let guard = guard::check(&input);
        let account = ids::decode_as(&input.account_id, Kind::Account);
        let result = guard
            .run(directory::create_access_number(
                context::db(ctx)?,
                context::principal(ctx)?,
                account,
                &input.number,
                &input.label,
            ))
            .await;
        let (access_number, user_errors) = payload(result)?;
        Ok(AccessNumberCreatePayload {
            access_number: access_number.map(AccessNumber),
            user_errors,
        })
    }

    /// Creates a user (Support, or a Decision Maker of the account).
    async fn user_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new user.")] input: UserCreateInput,
    ) -> Result<UserCreatePayload> {
        let guard = guard::check(&input);
        let account = ids::decode_as(&input.account_id, Kind::Account);
        let fields = UserFields::from(input.user);
        let cfg = &ctx.data::<AppState>()?.settings.remote_extension;
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let (user, user_errors) = payload(guard.run(directory::create_user(db, p, cfg, account, fields)).await)?;
        Ok(UserCreatePayload {
            user: user.map(User),
            user_errors,
        })
    }

    /// Creates many users of one account: all or nothing, every bad row reported with its index.
    async fn users_import(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The users to create.")] input: UsersImportInput,
    ) -> Result<UsersImportPayload> {
        let guard = guard::check(&input);
        let account = ids::decode_as(&input.account_id, Kind::Account);
        let rows = input.users.into_iter().map(UserFields::from).collect();
        let cfg = &ctx.data::<AppState>()?.settings.remote_extension;
        let (db, p) = (context::db(ctx)?, context::principal(ctx)?);
        let (users, user_errors) = payload(guard.run(directory::import_users(db, p, cfg, account, rows)).await)?;
        Ok(UsersImportPayload {
            users: users.unwrap_or_default().into_iter().map(User).collect(),
            user_errors,
        })
    }

    /// Changes a user's directory entry (Support, or a Decision Maker of the account).
    async fn user_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: UserUpdateInput,
    ) -> Result<UserUpdatePayload> {
        let guard = guard::check(&input);
        fn patch<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
            match v {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            }
        }
        let changes = UserChanges {
            location_id: patch(input.location_id).map(|l| l.map(|id| ids::decode_as(&id, Kind::Location))),
            name: input.name,
            email: patch(input.email),
            phone_number: patch(input.phone_number),
            extension: input.extension,
            phone_profile: input.phone_profile.map(Into::into),
        };
        let id = ids::decode_as(&input.id, Kind::User);
        let (user, user_errors) = payload(
            guard
                .run(directory::update_user(
                    context::db(ctx)?,
                    context::principal(ctx)?,
                    id,
                    changes,
                ))
                .await,
        )?;
        Ok(UserUpdatePayload {
            user: user.map(User),
            user_errors,
        })
    }

    /// Grants a role (Support, or a Decision Maker of the account); granting a held role is a no-op.
    async fn role_assign(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The grant.")] input: RoleAssignInput,
    ) -> Result<RoleAssignPayload> {
        let guard = guard::check(&input);
        let (user, role, location) = input.target.parts();
        let result = guard
            .run(directory::assign_role(
                context::db(ctx)?,
                context::principal(ctx)?,
                user,
                role,
                location,
            ))
            .await;
        let (role_assignment, user_errors) = payload(result)?;
        Ok(RoleAssignPayload {
            role_assignment: role_assignment.map(RoleAssignment),
            user_errors,
        })
    }

    /// Takes a role away (Support, or a Decision Maker of the account); effective on the user's
    /// next request.
    async fn role_revoke(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role to take away.")] input: RoleRevokeInput,
    ) -> Result<RoleRevokePayload> {
        let guard = guard::check(&input);
        let (user, role, location) = input.target.parts();
        let result = guard
            .run(directory::revoke_role(
                context::db(ctx)?,
                context::principal(ctx)?,
                user,
                role,
                location,
            ))
            .await;
        let (removed, user_errors) = payload(result)?;
        Ok(RoleRevokePayload {
            deleted_id: removed.map(|r| ids::encode(Kind::RoleAssignment, r.id)),
            user_errors,
        })
    }
}
