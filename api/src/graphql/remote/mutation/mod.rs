//! Remote Extension mutations (SPEC §4): numbers, dynamic statuses, the active status and client
//! profiles. Each takes one `input` and answers a payload with the changed object and
//! `userErrors`.

mod inputs;
mod payloads;

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

pub use inputs::{
    AccountHolidaysSetInput, AccountTimeZoneSetInput, CallTargetInput, ClientProfileCreateInput,
    ClientProfileUpdateInput, DynamicStatusActivateInput, DynamicStatusCreateInput, DynamicStatusDeleteInput,
    DynamicStatusScheduleSetInput, DynamicStatusUpdateInput, UserClientProfileSetInput, UserNumberCreateInput,
    UserNumberDeleteInput, UserNumberUpdateInput, UserTimeZoneSetInput,
};
pub use payloads::{
    AccountHolidaysSetPayload, AccountTimeZoneSetPayload, ClientProfileCreatePayload, ClientProfileUpdatePayload,
    DynamicStatusActivatePayload, DynamicStatusCreatePayload, DynamicStatusDeletePayload,
    DynamicStatusScheduleSetPayload, DynamicStatusUpdatePayload, UserClientProfileSetPayload, UserNumberCreatePayload,
    UserNumberDeletePayload, UserNumberUpdatePayload, UserTimeZoneSetPayload,
};

use super::types::{ClientProfile, DynamicStatus, UserNumber};
use crate::service::GivenId;
use crate::{
    graphql::{
        context,
        directory::loaders::{RequestLoader, UserKey, load_err},
        errors::payload,
        guard,
        ids::{self, Kind},
        objects::{Account, User},
    },
    service::remote::{
        self as service, NumberChanges, NumberInput, ProfileInput, RemoteSettings, RingingChanges, StatusChanges,
        StatusInput, targets::TargetInput,
    },
    state::AppState,
};

fn settings<'a>(ctx: &Context<'a>) -> Result<&'a RemoteSettings> {
    Ok(&ctx.data::<AppState>()?.settings.remote_extension)
}

/// A global id of `kind`; `None` when it is not one (answered as an unknown object).
fn key(id: &ID, kind: Kind) -> Option<Uuid> {
    ids::decode_as(id, kind)
}

/// An optional user id: left out means the caller (`None`).
fn user_key(id: Option<&ID>) -> Option<GivenId> {
    id.map(|id| ids::given(id, Kind::User))
}

fn targets(fields: [Option<CallTargetInput>; 4]) -> [Option<TargetInput>; 4] {
    fields.map(|t| t.map(Into::into))
}

/// Remote Extension mutations.
#[derive(Default)]
pub struct RemoteMutation;

#[Object]
impl RemoteMutation {
    /// Adds a number to a user's list (R2–R4, R11, R12).
    async fn user_number_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The number to add.")] input: UserNumberCreateInput,
    ) -> Result<UserNumberCreatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let fields = NumberInput {
            label: input.label,
            number: input.number,
            is_remote_extension: input.is_remote_extension,
            call_through: input.call_through,
            origin: input.origin.map(Into::into),
            ringing: RingingChanges {
                ring_delay_seconds: input.ring_delay_seconds,
                answer_too_soon_ms: input.answer_too_soon_ms,
                answer_too_late_ms: input.answer_too_late_ms,
                require_keypress: input.require_keypress,
            },
        };
        let user = user_key(input.user_id.as_ref());
        let result = guard
            .run(service::create_number(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                user,
                fields,
            ))
            .await;
        let (number, user_errors) = payload(result)?;
        Ok(UserNumberCreatePayload {
            user_number: number.map(UserNumber),
            user_errors,
        })
    }

    /// Changes a number (R3–R5, R11); `number` and `isRemoteExtension` not while it is locked.
    async fn user_number_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: UserNumberUpdateInput,
    ) -> Result<UserNumberUpdatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let changes = NumberChanges {
            label: input.label,
            number: input.number,
            is_remote_extension: input.is_remote_extension,
            call_through: input.call_through,
            ringing: RingingChanges {
                ring_delay_seconds: input.ring_delay_seconds,
                answer_too_soon_ms: input.answer_too_soon_ms,
                answer_too_late_ms: input.answer_too_late_ms,
                require_keypress: input.require_keypress,
            },
        };
        let id = key(&input.id, Kind::UserNumber);
        let result = guard
            .run(service::update_number(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                id,
                changes,
            ))
            .await;
        let (number, user_errors) = payload(result)?;
        Ok(UserNumberUpdatePayload {
            user_number: number.map(UserNumber),
            user_errors,
        })
    }

    /// Deletes a number (R6).
    async fn user_number_delete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The number to delete.")] input: UserNumberDeleteInput,
    ) -> Result<UserNumberDeletePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = key(&input.id, Kind::UserNumber);
        let result = guard
            .run(service::delete_number(context::db(ctx)?, p, settings(ctx)?, id))
            .await;
        let (deleted, user_errors) = payload(result)?;
        Ok(UserNumberDeletePayload {
            deleted_id: deleted.map(|id| ids::encode(Kind::UserNumber, id)),
            user_errors,
        })
    }

    /// Builds a status (R7, R8, R10, R12); a user's first status becomes active.
    async fn dynamic_status_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The status to build.")] input: DynamicStatusCreateInput,
    ) -> Result<DynamicStatusCreatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let fields = StatusInput {
            name: input.name,
            presence: input.presence.into(),
            message: input.message,
            remote_extension_id: input.remote_extension_id.map(|id| ids::given(&id, Kind::UserNumber)),
            targets: targets([
                input.call_using,
                input.send_calls_to,
                input.when_busy,
                input.if_no_answer,
            ]),
            origin: input.origin.map(Into::into),
        };
        let user = user_key(input.user_id.as_ref());
        let result = guard
            .run(service::create_status(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                user,
                fields,
            ))
            .await;
        let (status, user_errors) = payload(result)?;
        Ok(DynamicStatusCreatePayload {
            dynamic_status: status.map(DynamicStatus),
            user_errors,
        })
    }

    /// Changes a status (R7, R8, R10).
    async fn dynamic_status_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: DynamicStatusUpdateInput,
    ) -> Result<DynamicStatusUpdatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let message = ids::patch(input.message);
        let remote_extension_id = ids::patch(input.remote_extension_id).map(|id| ids::given(&id, Kind::UserNumber));
        let changes = StatusChanges {
            expected_version: input.expected_version,
            name: input.name,
            presence: input.presence.map(Into::into),
            message,
            remote_extension_id,
            targets: targets([
                input.call_using,
                input.send_calls_to,
                input.when_busy,
                input.if_no_answer,
            ]),
        };
        let id = key(&input.id, Kind::DynamicStatus);
        let result = guard
            .run(service::update_status(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                id,
                changes,
            ))
            .await;
        let (status, user_errors) = payload(result)?;
        Ok(DynamicStatusUpdatePayload {
            dynamic_status: status.map(DynamicStatus),
            user_errors,
        })
    }

    /// Deletes a status (R10): not the active one, and a user not an administrator's.
    async fn dynamic_status_delete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The status to delete.")] input: DynamicStatusDeleteInput,
    ) -> Result<DynamicStatusDeletePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = key(&input.id, Kind::DynamicStatus);
        let result = guard
            .run(service::delete_status(context::db(ctx)?, p, settings(ctx)?, id))
            .await;
        let (deleted, user_errors) = payload(result)?;
        Ok(DynamicStatusDeletePayload {
            deleted_id: deleted.map(|id| ids::encode(Kind::DynamicStatus, id)),
            user_errors,
        })
    }

    /// Makes a status the user's active one, atomically (R9). Activating the active status
    /// changes nothing.
    async fn dynamic_status_activate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The status to activate.")] input: DynamicStatusActivateInput,
    ) -> Result<DynamicStatusActivatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = key(&input.id, Kind::DynamicStatus);
        let result = guard
            .run(service::activate_status(context::db(ctx)?, p, settings(ctx)?, id))
            .await;
        let (status, user_errors) = payload(result)?;
        Ok(DynamicStatusActivatePayload {
            dynamic_status: status.map(DynamicStatus),
            user_errors,
        })
    }

    /// Adds a client profile to an MX-ONE account (Support, a Decision Maker, an account-wide
    /// Phone Manager).
    async fn client_profile_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The profile to add.")] input: ClientProfileCreateInput,
    ) -> Result<ClientProfileCreatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let fields = ProfileInput {
            name: Some(input.name),
            allow_users_add_status: input.allow_users_add_status,
            call_through_allowed: input.call_through_allowed,
        };
        let account = key(&input.account_id, Kind::Account);
        let (profile, user_errors) = payload(
            guard
                .run(service::create_profile(context::db(ctx)?, p, account, fields))
                .await,
        )?;
        Ok(ClientProfileCreatePayload {
            client_profile: profile.map(ClientProfile),
            user_errors,
        })
    }

    /// Changes a client profile (the default one too); its users see the change at once.
    async fn client_profile_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: ClientProfileUpdateInput,
    ) -> Result<ClientProfileUpdatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let fields = ProfileInput {
            name: input.name,
            allow_users_add_status: input.allow_users_add_status,
            call_through_allowed: input.call_through_allowed,
        };
        let id = key(&input.id, Kind::ClientProfile);
        let (profile, user_errors) = payload(
            guard
                .run(service::update_profile(context::db(ctx)?, p, id, fields))
                .await,
        )?;
        Ok(ClientProfileUpdatePayload {
            client_profile: profile.map(ClientProfile),
            user_errors,
        })
    }

    /// Gives a user one of the account's client profiles, or the default (an administrator
    /// covering the user).
    async fn user_client_profile_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and profile.")] input: UserClientProfileSetInput,
    ) -> Result<UserClientProfileSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let user = key(&input.user_id, Kind::User);
        let profile = input.client_profile_id.map(|id| ids::given(&id, Kind::ClientProfile));
        let result = guard
            .run(service::assign_profile(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                user,
                profile,
            ))
            .await;
        let (profile, user_errors) = payload(result)?;
        let user = match (&profile, user) {
            (Some(_), Some(id)) => ctx
                .data::<RequestLoader>()?
                .load_one(UserKey(id))
                .await
                .map_err(load_err)?
                .map(User::new),
            _ => None,
        };
        Ok(UserClientProfileSetPayload {
            user,
            client_profile: profile.map(ClientProfile),
            user_errors,
        })
    }

    /// Sets when a status becomes the active one by schedule (issue 21 §2); null clears it. The
    /// user on their own statuses where their client profile lets them add statuses (never an
    /// `ADMIN` status: `STATUS_READONLY`); an administrator covering the user on any. Rules that
    /// can meet another status's are refused (`VALIDATION_FAILED`, naming both). The change
    /// takes effect from the next boundary: it does not switch the status at once.
    async fn dynamic_status_schedule_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The status and its schedule.")] input: DynamicStatusScheduleSetInput,
    ) -> Result<DynamicStatusScheduleSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = key(&input.id, Kind::DynamicStatus);
        let now = ctx.data::<AppState>()?.clock.now();
        let schedule = input.schedule.map(Into::into);
        let result = guard
            .run(service::schedule::set_schedule(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                id,
                schedule,
                now,
            ))
            .await;
        let (status, user_errors) = payload(result)?;
        Ok(DynamicStatusScheduleSetPayload {
            dynamic_status: status.map(DynamicStatus),
            user_errors,
        })
    }

    /// Sets a user's own time zone (null: the account's): the user themself or an
    /// administrator covering them. Schedules follow from their next boundary.
    async fn user_time_zone_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and zone.")] input: UserTimeZoneSetInput,
    ) -> Result<UserTimeZoneSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let now = ctx.data::<AppState>()?.clock.now();
        let user = user_key(input.user_id.as_ref());
        let result = guard
            .run(service::schedule::set_user_time_zone(
                context::db(ctx)?,
                p,
                settings(ctx)?,
                user,
                input.time_zone.as_deref(),
                now,
            ))
            .await;
        let (set, user_errors) = payload(result)?;
        Ok(UserTimeZoneSetPayload {
            user: set.map(User::new),
            user_errors,
        })
    }

    /// Sets an account's time zone (Support). Schedules follow from their next boundary.
    async fn account_time_zone_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and zone.")] input: AccountTimeZoneSetInput,
    ) -> Result<AccountTimeZoneSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let now = ctx.data::<AppState>()?.clock.now();
        let account = key(&input.account_id, Kind::Account);
        let result = guard
            .run(service::schedule::set_account_time_zone(
                context::db(ctx)?,
                p,
                account,
                &input.time_zone,
                now,
            ))
            .await;
        let (account, user_errors) = payload(result)?;
        Ok(AccountTimeZoneSetPayload {
            account: account.map(Account::new),
            user_errors,
        })
    }

    /// Replaces an account's holiday calendar (Support or a Decision Maker of the account).
    /// Schedules follow from their next boundary.
    async fn account_holidays_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and its holidays.")] input: AccountHolidaysSetInput,
    ) -> Result<AccountHolidaysSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let now = ctx.data::<AppState>()?.clock.now();
        let account = key(&input.account_id, Kind::Account);
        let holidays: Vec<service::schedule::HolidayInput> = (input.holidays.into_iter())
            .map(|h| service::schedule::HolidayInput {
                date: h.date,
                name: h.name,
            })
            .collect();
        let result = guard
            .run(service::schedule::set_holidays(
                context::db(ctx)?,
                p,
                account,
                &holidays,
                now,
            ))
            .await;
        let (set, user_errors) = payload(result)?;
        Ok(AccountHolidaysSetPayload {
            account: set.map(Account::new),
            user_errors,
        })
    }
}
