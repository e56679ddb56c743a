//! The enums of Remote Extension: origins, presence, routing targets and the reasons a number
//! is locked or call through is off.

use async_graphql::Enum;

/// Who put a number on the user's list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::NumberOrigin")]
pub enum NumberOrigin {
    /// The user added it.
    User,
    /// An administrator provisioned it.
    Admin,
    /// The phone platform's sync provisioned it.
    Platform,
}

/// Who built a status.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::StatusOrigin")]
pub enum StatusOrigin {
    /// The user built it; they may change and delete it.
    User,
    /// An administrator built it (the defaults among them); read-only for the user.
    Admin,
}

/// The presence a status shows to colleagues.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::Presence")]
pub enum Presence {
    /// Available.
    Available,
    /// Busy.
    Busy,
    /// Away.
    Away,
    /// Do not disturb.
    DoNotDisturb,
    /// In a meeting.
    InAMeeting,
    /// Out of office.
    OutOfOffice,
}

/// Where a routing field points. Which kinds fit which field is in docs/behaviour.md (Routing targets).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::TargetKind")]
pub enum TargetKind {
    /// The user's desk phone.
    DeskPhone,
    /// The softphone (the mobile or desktop app).
    Softphone,
    /// Every device of the user at once (`sendCallsTo` only).
    AllDevices,
    /// Voicemail.
    Voicemail,
    /// Whatever the PBX does by default.
    PbxDefault,
    /// No diversion: calls keep ringing or get busy tone (`whenBusy`, `ifNoAnswer`).
    NoDiversion,
    /// One of the user's own numbers (`callUsing`: a remote extension).
    Number,
}

/// Why a number's `number` and `isRemoteExtension` cannot change (R5).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::remote::LockReason")]
pub enum LockReason {
    /// An administrator or the platform provisioned it.
    Provisioned,
    /// One of the user's statuses uses it.
    UsedByStatus,
    /// It is the active remote extension.
    ActiveRemoteExtension,
}

/// Why call through is not in effect on a number (R11); the first that applies is given.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::remote::CallThroughInactive")]
pub enum CallThroughInactiveReason {
    /// The number is not a remote extension.
    NotRemoteExtension,
    /// Call through is switched off on the number.
    Disabled,
    /// The user's client profile does not allow call through.
    NotAllowedByProfile,
    /// The number is not the active remote extension.
    NotInActiveStatus,
}
