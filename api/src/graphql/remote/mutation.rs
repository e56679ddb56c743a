//! Remote Extension mutations (SPEC §4): numbers, dynamic statuses, the active status and client
//! profiles. Each takes one `input` and answers a payload with the changed object and
//! `userErrors`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use uuid::Uuid;

use super::types::{ClientProfile, DynamicStatus, NumberOrigin, Presence, StatusOrigin, TargetKind, UserNumber};
use crate::{
    graphql::{
        context,
        directory::{
            loaders::{RequestLoader, UserKey, load_err},
            types::User,
        },
        errors::{UserError, payload},
        guard,
        ids::{self, Kind},
    },
    service::remote::{
        self as service, Change, NumberChanges, NumberInput, ProfileInput, RemoteSettings, StatusChanges, StatusInput,
        targets::TargetInput,
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

/// An optional user id: left out means the caller (`None`); given but unreadable is
/// `Some(None)` (answered as an unknown user).
fn user_key(id: Option<&ID>) -> Option<Option<Uuid>> {
    id.map(|id| key(id, Kind::User))
}

/// A routing target.
#[derive(InputObject, Clone)]
pub struct CallTargetInput {
    /// The kind of target; which kinds fit which field is in the README (Behaviour).
    pub kind: TargetKind,
    /// One of the user's numbers: with `kind: NUMBER` only (`callUsing`: a remote extension).
    pub number_id: Option<ID>,
}

impl From<CallTargetInput> for TargetInput {
    fn from(t: CallTargetInput) -> Self {
        TargetInput {
            kind: t.kind.into(),
            number_id: t.number_id.map(|id| key(&id, Kind::UserNumber)),
        }
    }
}

fn targets(fields: [Option<CallTargetInput>; 4]) -> [Option<TargetInput>; 4] {
    fields.map(|t| t.map(Into::into))
}

/// Input of `userNumberCreate`.
#[derive(InputObject)]
pub struct UserNumberCreateInput {
    /// The user; default the caller. An administrator covering the user may name them (R12).
    pub user_id: Option<ID>,
    /// Label (trimmed, 1–64 characters, unique per user ignoring case). Default for numbers an
    /// administrator provisions: the configured prefix and the number (R5); required otherwise.
    pub label: Option<String>,
    /// The number. A remote extension: 2–25 digits starting with one of the account's
    /// destination codes; otherwise an optional `+`, then digits, `*` or `#`, 2–26 characters
    /// (R3). Stored exactly as given.
    pub number: String,
    /// Make it a remote extension (R2, R4).
    #[graphql(default = false)]
    pub is_remote_extension: bool,
    /// Switch call through on (remote extensions only, where the client profile allows; R11).
    #[graphql(default = false)]
    pub call_through: bool,
    /// `USER` or `ADMIN`; default `USER` for oneself and `ADMIN` when an administrator names
    /// another user. `PLATFORM` numbers come only from the platform sync.
    pub origin: Option<NumberOrigin>,
}

/// Input of `userNumberUpdate`: fields left out stay as they are.
#[derive(InputObject)]
pub struct UserNumberUpdateInput {
    /// The number.
    pub id: ID,
    /// New label (any number's label may change, R5).
    pub label: Option<String>,
    /// New number (not while locked: `NUMBER_LOCKED`).
    pub number: Option<String>,
    /// Make it a remote extension or an ordinary number (not while locked).
    pub is_remote_extension: Option<bool>,
    /// Switch call through on or off (R11).
    pub call_through: Option<bool>,
}

/// Input of `userNumberDelete`.
#[derive(InputObject)]
pub struct UserNumberDeleteInput {
    /// The number.
    pub id: ID,
}

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

/// Input of `dynamicStatusCreate`. Routing fields left out: `remoteExtension` where one is given
/// (R8) for `callUsing` and `sendCallsTo`, else `DESK_PHONE`, `DESK_PHONE`, `VOICEMAIL`,
/// `VOICEMAIL`.
#[derive(InputObject)]
pub struct DynamicStatusCreateInput {
    /// The user; default the caller. An administrator covering the user may name them (R12).
    pub user_id: Option<ID>,
    /// Name (trimmed, 1–64 characters, unique per user ignoring case).
    pub name: String,
    /// The presence colleagues see.
    pub presence: Presence,
    /// A message shown with the presence (at most 200 characters).
    pub message: Option<String>,
    /// One of the user's remote extensions (R7).
    pub remote_extension_id: Option<ID>,
    /// The phone that places calls.
    pub call_using: Option<CallTargetInput>,
    /// Where calls ring.
    pub send_calls_to: Option<CallTargetInput>,
    /// Where calls go when the user is busy.
    pub when_busy: Option<CallTargetInput>,
    /// Where calls go when the user does not answer.
    pub if_no_answer: Option<CallTargetInput>,
    /// `USER` or `ADMIN`; default `USER` for oneself and `ADMIN` when an administrator names
    /// another user.
    pub origin: Option<StatusOrigin>,
}

/// Input of `dynamicStatusUpdate`: fields left out stay as they are; `message` and
/// `remoteExtensionId` given as null are cleared.
#[derive(InputObject)]
pub struct DynamicStatusUpdateInput {
    /// The status.
    pub id: ID,
    /// The `version` the change is based on; another is `STALE_VERSION`. Left out: no check.
    pub expected_version: Option<i64>,
    /// New name.
    pub name: Option<String>,
    /// New presence.
    pub presence: Option<Presence>,
    /// New message; null clears it.
    pub message: MaybeUndefined<String>,
    /// New remote extension (R7, R8); null clears it.
    pub remote_extension_id: MaybeUndefined<ID>,
    /// New phone that places calls.
    pub call_using: Option<CallTargetInput>,
    /// New target where calls ring.
    pub send_calls_to: Option<CallTargetInput>,
    /// New target when busy.
    pub when_busy: Option<CallTargetInput>,
    /// New target on no answer.
    pub if_no_answer: Option<CallTargetInput>,
}

/// Input of `dynamicStatusDelete`.
#[derive(InputObject)]
pub struct DynamicStatusDeleteInput {
    /// The status (not the active one: `ACTIVE_STATUS_DELETE`).
    pub id: ID,
}

/// Input of `dynamicStatusActivate`.
#[derive(InputObject)]
pub struct DynamicStatusActivateInput {
    /// The status to make active.
    pub id: ID,
}

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

/// Input of `clientProfileCreate`.
#[derive(InputObject)]
pub struct ClientProfileCreateInput {
    /// The account (on MX-ONE).
    pub account_id: ID,
    /// Name (trimmed, 1–64 characters, unique in the account ignoring case).
    pub name: String,
    /// Users may add statuses of their own (default true).
    pub allow_users_add_status: Option<bool>,
    /// Users may switch call through on (default true).
    pub call_through_allowed: Option<bool>,
}

/// Input of `clientProfileUpdate`: fields left out stay as they are.
#[derive(InputObject)]
pub struct ClientProfileUpdateInput {
    /// The profile.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// Users may add statuses of their own.
    pub allow_users_add_status: Option<bool>,
    /// Users may switch call through on.
    pub call_through_allowed: Option<bool>,
}

/// Input of `userClientProfileSet`.
#[derive(InputObject)]
pub struct UserClientProfileSetInput {
    /// The user.
    pub user_id: ID,
    /// One of the account's profiles; null gives the user the account's default.
    pub client_profile_id: Option<ID>,
}

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
            remote_extension_id: input.remote_extension_id.map(|id| key(&id, Kind::UserNumber)),
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
        let message = match input.message {
            MaybeUndefined::Undefined => Change::Keep,
            MaybeUndefined::Null => Change::Clear,
            MaybeUndefined::Value(m) => Change::Set(m),
        };
        let remote_extension_id = match input.remote_extension_id {
            MaybeUndefined::Undefined => Change::Keep,
            MaybeUndefined::Null => Change::Clear,
            MaybeUndefined::Value(id) => Change::Set(key(&id, Kind::UserNumber)),
        };
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
        let profile = input.client_profile_id.map(|id| key(&id, Kind::ClientProfile));
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
                .map(User),
            _ => None,
        };
        Ok(UserClientProfileSetPayload {
            user,
            client_profile: profile.map(ClientProfile),
            user_errors,
        })
    }
}
