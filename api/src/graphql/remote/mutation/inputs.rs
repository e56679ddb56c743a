//! The inputs of the Remote Extension mutations.

use async_graphql::{ID, InputObject, MaybeUndefined};

use crate::{
    graphql::{
        ids::{self, Kind},
        remote::types::{HolidayInput, NumberOrigin, Presence, StatusOrigin, StatusScheduleInput, TargetKind},
    },
    service::remote::targets::TargetInput,
};

/// A routing target.
#[derive(InputObject, Clone)]
pub struct CallTargetInput {
    /// The kind of target; which kinds fit which field is in docs/behaviour.md (Routing targets).
    pub kind: TargetKind,
    /// One of the user's numbers: with `kind: NUMBER` only (`callUsing`: a remote extension).
    pub number_id: Option<ID>,
}

impl From<CallTargetInput> for TargetInput {
    fn from(t: CallTargetInput) -> Self {
        TargetInput {
            kind: t.kind.into(),
            number_id: t.number_id.map(|id| ids::given(&id, Kind::UserNumber)),
        }
    }
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
    /// Seconds before the platform rings this remote extension (0–30; default 0). The four
    /// ringing fields are for remote extensions only (`VALIDATION_FAILED`).
    pub ring_delay_seconds: Option<i32>,
    /// An answer sooner than this is taken for voicemail, in milliseconds (0–10,000; default
    /// 1,500).
    pub answer_too_soon_ms: Option<i32>,
    /// Ringing stops after this, in milliseconds: 0 (never), or above `answerTooSoonMs` and at
    /// most 300,000 (default 19,000).
    pub answer_too_late_ms: Option<i32>,
    /// Whoever answers must press a key before the call connects (default false).
    pub require_keypress: Option<bool>,
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
    /// Seconds before the platform rings this remote extension (0–30). Remote extensions only;
    /// on a number an administrator or the platform provisioned, only administrators covering
    /// the user set the ringing fields (`FORBIDDEN`).
    pub ring_delay_seconds: Option<i32>,
    /// An answer sooner than this is taken for voicemail, in milliseconds (0–10,000).
    pub answer_too_soon_ms: Option<i32>,
    /// Ringing stops after this, in milliseconds: 0 (never), or above `answerTooSoonMs` and at
    /// most 300,000.
    pub answer_too_late_ms: Option<i32>,
    /// Whoever answers must press a key before the call connects.
    pub require_keypress: Option<bool>,
}

/// Input of `userNumberDelete`.
#[derive(InputObject)]
pub struct UserNumberDeleteInput {
    /// The number.
    pub id: ID,
}

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

/// Input of `dynamicStatusScheduleSet`.
#[derive(InputObject)]
pub struct DynamicStatusScheduleSetInput {
    /// The status.
    pub id: ID,
    /// Its schedule; null clears it.
    pub schedule: Option<StatusScheduleInput>,
}

/// Input of `userTimeZoneSet`.
#[derive(InputObject)]
pub struct UserTimeZoneSetInput {
    /// The user; default the caller. An administrator covering the user may name them.
    pub user_id: Option<ID>,
    /// An IANA time zone (`Europe/Stockholm`); null: the account's.
    pub time_zone: Option<String>,
}

/// Input of `accountTimeZoneSet`.
#[derive(InputObject)]
pub struct AccountTimeZoneSetInput {
    /// The account.
    pub account_id: ID,
    /// An IANA time zone (`Europe/Stockholm`, `UTC`).
    pub time_zone: String,
}

/// Input of `accountHolidaysSet`.
#[derive(InputObject)]
pub struct AccountHolidaysSetInput {
    /// The account.
    pub account_id: ID,
    /// The whole calendar (at most 500 dates, each once); it replaces the one there is.
    pub holidays: Vec<HolidayInput>,
}
