//! Directory mutations (Support; Decision Makers for their own account): each takes one `input`
//! and answers a payload with the changed object and `userErrors`.

mod inputs;
mod payloads;

use async_graphql::{Context, Object, Result};

pub use inputs::{
    AccessNumberCreateInput, AccountCreateInput, LocationCreateInput, RoleAssignInput, RoleRevokeInput, RoleTarget,
    UserCreateInput, UserImportRow, UserUpdateInput, UsersImportInput,
};
pub use payloads::{
    AccessNumberCreatePayload, AccountCreatePayload, LocationCreatePayload, RoleAssignPayload, RoleRevokePayload,
    UserCreatePayload, UserUpdatePayload, UsersImportPayload,
};

use super::types::{AccessNumber, Location, RoleAssignment};
use crate::graphql::objects::{Account, User};
use crate::{
    graphql::{
        built::Listed,
        context,
        errors::payload,
        guard,
        ids::{self, Kind},
    },
    service::directory::{self, NewAccount, UserChanges, UserFields},
    state::AppState,
};

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
            account: account.map(Account::new),
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
            user: user.map(User::new),
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
            users: Listed(users.unwrap_or_default().into_iter().map(User::new).collect()),
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
        let changes = UserChanges {
            location_id: ids::patch(input.location_id).map(|id| ids::given(&id, Kind::Location)),
            name: input.name,
            email: ids::patch(input.email),
            phone_number: ids::patch(input.phone_number),
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
            user: user.map(User::new),
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
