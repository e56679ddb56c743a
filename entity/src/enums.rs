//! Enumerations shared by several tables, stored as strings.

use sea_orm::entity::prelude::*;

/// The communication platform an account runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Platform {
    /// Hosted MiCloud Connect (Connect for Mobile).
    #[sea_orm(string_value = "MICLOUD_CONNECT")]
    MicloudConnect,
    /// On-premises MiVoice MX-ONE (Remote Extension).
    #[sea_orm(string_value = "MX_ONE")]
    MxOne,
}

/// A user's phone profile tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum PhoneProfile {
    /// Basic tier.
    #[sea_orm(string_value = "BASIC")]
    Basic,
    /// Essentials tier.
    #[sea_orm(string_value = "ESSENTIALS")]
    Essentials,
    /// Premier tier.
    #[sea_orm(string_value = "PREMIER")]
    Premier,
    /// Elite tier.
    #[sea_orm(string_value = "ELITE")]
    Elite,
    /// Any other profile.
    #[sea_orm(string_value = "OTHER")]
    Other,
}

/// An administrative role a user may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Role {
    /// Account-wide decision maker.
    #[sea_orm(string_value = "DECISION_MAKER")]
    DecisionMaker,
    /// Phone manager, account-wide or for one location.
    #[sea_orm(string_value = "PHONE_MANAGER")]
    PhoneManager,
}

/// Where an account's Connect for Mobile add-on stands (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum MobilityState {
    /// Not bought (or deactivated by Support).
    #[sea_orm(string_value = "NOT_ACTIVATED")]
    NotActivated,
    /// Bought; Support still has to set up the Mobility Router.
    #[sea_orm(string_value = "PENDING_SUPPORT")]
    PendingSupport,
    /// Ready: users can be enabled.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
}

/// What an extension claim stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ClaimKind {
    /// A user's own extension.
    #[sea_orm(string_value = "USER")]
    User,
    /// A user's mobility extension.
    #[sea_orm(string_value = "MOBILITY")]
    Mobility,
}

/// Where the delivery of a notification to one recipient stands (E2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DeliveryStatus {
    /// Queued, not tried yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Delivered to the mail server.
    #[sea_orm(string_value = "SENT")]
    Sent,
    /// A try failed for a temporary reason; another is due.
    #[sea_orm(string_value = "RETRYING")]
    Retrying,
    /// Given up: a permanent failure or too many tries.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Not sent: the recipient has no email address.
    #[sea_orm(string_value = "SKIPPED")]
    Skipped,
}

/// Where a user's number came from (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NumberOrigin {
    /// Added by the user.
    #[sea_orm(string_value = "USER")]
    User,
    /// Provisioned by an administrator covering the user.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    /// Provisioned on the communication platform and imported by the sync.
    #[sea_orm(string_value = "PLATFORM")]
    Platform,
}

/// Where a dynamic status came from (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum StatusOrigin {
    /// Built by the user.
    #[sea_orm(string_value = "USER")]
    User,
    /// Provisioned by an administrator (or the account's defaults); read-only to the user.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// The presence a dynamic status shows to colleagues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Presence {
    /// Available.
    #[sea_orm(string_value = "AVAILABLE")]
    Available,
    /// Busy.
    #[sea_orm(string_value = "BUSY")]
    Busy,
    /// Away.
    #[sea_orm(string_value = "AWAY")]
    Away,
    /// Do not disturb.
    #[sea_orm(string_value = "DO_NOT_DISTURB")]
    DoNotDisturb,
    /// In a meeting.
    #[sea_orm(string_value = "IN_A_MEETING")]
    InAMeeting,
    /// Out of office.
    #[sea_orm(string_value = "OUT_OF_OFFICE")]
    OutOfOffice,
}

/// What a routing field of a dynamic status points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum TargetKind {
    /// The desk phone.
    #[sea_orm(string_value = "DESK_PHONE")]
    DeskPhone,
    /// The softphone (desktop or mobile app).
    #[sea_orm(string_value = "SOFTPHONE")]
    Softphone,
    /// Every device at once.
    #[sea_orm(string_value = "ALL_DEVICES")]
    AllDevices,
    /// Voicemail.
    #[sea_orm(string_value = "VOICEMAIL")]
    Voicemail,
    /// Whatever the PBX is set up to do.
    #[sea_orm(string_value = "PBX_DEFAULT")]
    PbxDefault,
    /// No diversion: the caller hears busy or keeps ringing.
    #[sea_orm(string_value = "NO_DIVERSION")]
    NoDiversion,
    /// One of the user's own numbers.
    #[sea_orm(string_value = "NUMBER")]
    Number,
}

/// A dynamic status's routing fields, in their order (R8): which phone calls, where calls go,
/// where they go when busy, where unanswered calls go.
pub const ROUTING_FIELDS: [&str; 4] = ["callUsing", "sendCallsTo", "whenBusy", "ifNoAnswer"];

impl TargetKind {
    /// Whether this kind fits routing field `field` (an index into [`ROUTING_FIELDS`]).
    pub fn fits(self, field: usize) -> bool {
        use TargetKind::*;
        match field {
            0 => matches!(self, DeskPhone | Softphone | PbxDefault | Number),
            1 => matches!(
                self,
                DeskPhone | Softphone | AllDevices | Voicemail | PbxDefault | Number
            ),
            _ => matches!(self, Voicemail | PbxDefault | NoDiversion | Number),
        }
    }
}

/// Where a platform sync run stands (SPEC E3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum SyncRunState {
    /// Asked for; not started yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Running.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Finished without error.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Stopped by an error; nothing unconfirmed was changed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WebhookDeliveryState {
    /// Waiting for its first attempt or its next one.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// The endpoint answered 2xx.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Given up: an answer that asks for no retry (a 4xx other than 429, a redirect), or a
    /// destination the settings refuse.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Why a user's active status is active (issue 21 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum ActiveReason {
    /// Someone activated it (`dynamicStatusActivate`).
    #[sea_orm(string_value = "MANUAL")]
    Manual,
    /// The user's schedule activated it at a boundary.
    #[sea_orm(string_value = "SCHEDULE")]
    Schedule,
    /// It is the default: the first status a new user gets, or the schedule's fallback status
    /// that the schedule switched back to.
    #[sea_orm(string_value = "DEFAULT")]
    Default,
}
