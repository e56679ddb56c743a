//! Output types of Remote Extension, built from entity rows. What a number or status shows
//! about the rest of its user (locks, call through, the active status) comes from the user's
//! rows loaded once per request and batched over a page of users.

mod enums;
mod number;
mod profile;
mod schedule;
mod status;
mod user_fields;

use async_graphql::{Context, Result};
use entity::{Platform, client_profile, dynamic_status, user, user_number};
use uuid::Uuid;

pub use enums::{CallThroughInactiveReason, LockReason, NumberOrigin, Presence, StatusOrigin, TargetKind};
pub use number::{UserNumber, UserNumberConnection, UserNumberEdge};
pub use profile::{AccountRemoteFields, ClientProfile};
pub use schedule::{
    ActiveStatusReason, Holiday, HolidayInput, NextStatusChange, ScheduleHolidays, ScheduleRule, ScheduleRuleInput,
    StatusSchedule, StatusScheduleInput, Weekday,
};
pub use status::{CallTarget, DynamicStatus};
pub use user_fields::UserRemoteFields;

use super::loaders::{NumbersOfUser, ProfileKey, RemoteOfUser, StatusesOfUser};
use crate::{
    graphql::{
        common::loader::{RequestLoader, load_err},
        context,
        directory::loaders::{AccountKey, UserKey},
        objects::User,
    },
    policy::Access,
    service::{directory, remote},
};

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}

/// What the fields of a user's numbers and statuses need to know about the user: their
/// statuses, active status and profile — the same for every row of the user, loaded once.
pub(crate) struct UserRemote {
    /// The user's statuses, oldest first.
    pub statuses: Vec<dynamic_status::Model>,
    /// The active status.
    pub active: Option<Uuid>,
    /// The user's client profile (null when the account is not on MX-ONE).
    pub profile: Option<client_profile::Model>,
    /// Whether the caller administers the user (R12).
    pub caller_is_admin: bool,
}

impl UserRemote {
    /// The active remote extension (R9).
    pub fn active_remote_extension(&self) -> Option<Uuid> {
        remote::active_remote_extension(&self.statuses, self.active)
    }
}

/// Whether the user's account runs on MX-ONE (Remote Extension applies).
async fn on_mx_one(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
    let account = loader(ctx)?
        .load_one(AccountKey(user.account_id))
        .await
        .map_err(load_err)?;
    Ok(account.is_some_and(|a| a.platform == Platform::MxOne))
}

/// Loads what [`UserRemote`] holds for `user_id`.
pub(crate) async fn user_remote(ctx: &Context<'_>, user_id: Uuid) -> Result<UserRemote> {
    let loader = loader(ctx)?;
    let user = loader.load_one(UserKey(user_id)).await.map_err(load_err)?;
    let Some(user) = user else {
        return Ok(UserRemote {
            statuses: Vec::new(),
            active: None,
            profile: None,
            caller_is_admin: false,
        });
    };
    let (statuses, record) = futures::try_join!(
        loader.load_one(StatusesOfUser(user_id)),
        loader.load_one(RemoteOfUser(user_id)),
    )
    .map_err(load_err)?;
    let profile = if on_mx_one(ctx, &user).await? {
        let id = remote::profile_id(record.as_ref(), user.account_id);
        loader.load_one(ProfileKey(id)).await.map_err(load_err)?
    } else {
        None
    };
    let p = context::principal(ctx)?;
    Ok(UserRemote {
        statuses: statuses.unwrap_or_default(),
        active: record.and_then(|r| r.active_status_id),
        profile,
        caller_is_admin: p.admin_on_user(directory::scope(&user)) == Access::Allowed,
    })
}

/// A user's numbers, oldest first.
pub(crate) async fn numbers_of(ctx: &Context<'_>, user_id: Uuid) -> Result<Vec<user_number::Model>> {
    Ok(loader(ctx)?
        .load_one(NumbersOfUser(user_id))
        .await
        .map_err(load_err)?
        .unwrap_or_default())
}

async fn load_user(ctx: &Context<'_>, user_id: Uuid) -> Result<Option<User>> {
    Ok(loader(ctx)?
        .load_one(UserKey(user_id))
        .await
        .map_err(load_err)?
        .map(User::new))
}
