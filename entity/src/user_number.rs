//! `user_number`: one of a user's own phone numbers ("My Numbers", SPEC §4), possibly a remote
//! extension.

use sea_orm::entity::prelude::*;

/// A new number's ringing (issue 21 §3; the columns' defaults): no delay, an answer within
/// 1.5 s taken for voicemail, given up after 19 s, no key press (Cisco's remote destination
/// defaults, but for the delay).
pub const DEFAULT_RING_DELAY_SECONDS: i32 = 0;
/// See [`DEFAULT_RING_DELAY_SECONDS`].
pub const DEFAULT_ANSWER_TOO_SOON_MS: i32 = 1_500;
/// See [`DEFAULT_RING_DELAY_SECONDS`].
pub const DEFAULT_ANSWER_TOO_LATE_MS: i32 = 19_000;

/// One number of a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_number")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// Label, trimmed.
    pub label: String,
    /// Lower-cased label: unique per user (R3).
    pub label_key: String,
    /// The number, exactly as given (R3); unique per user (R4).
    pub number: String,
    /// Whether it is a remote extension.
    pub is_remote_extension: bool,
    /// `number` while it is a remote extension, else `None`: unique across the platform (R4).
    pub remote_number: Option<String>,
    /// Where it came from.
    pub origin: super::NumberOrigin,
    /// Call through switched on (R11).
    pub call_through: bool,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// Who created it (`support:<name>`, `user:<uuid>` or `platform:<name>`).
    pub created_by: String,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
    /// The platform's id of it, once the platform holds it (imported, or exported and accepted).
    pub platform_id: Option<String>,
    /// The number the platform holds under `platform_id`.
    pub platform_number: Option<String>,
    /// The label the sync last gave it (R5); a different label is the user's own and stays.
    pub platform_label: Option<String>,
    /// The last sync run that found it on the platform.
    pub platform_seen: Option<Uuid>,
    /// Since when it is gone from the platform while a status still uses it (kept, flagged).
    pub platform_missing_since: Option<DateTimeUtc>,
    /// Why the platform refused to take this user-created number, until it takes it.
    pub platform_error: Option<String>,
    /// When `platform_id` was set.
    pub platform_linked_at: Option<DateTimeUtc>,
    /// Seconds the platform waits before ringing it as a remote extension (0–30).
    pub ring_delay_seconds: i32,
    /// An answer sooner than this (ms) is taken for the mobile's own voicemail, not the user.
    pub answer_too_soon_ms: i32,
    /// The platform stops ringing it after this (ms) so its voicemail never answers; 0: off.
    pub answer_too_late_ms: i32,
    /// The answer must press a key before the call connects.
    pub require_keypress: bool,
    /// What the platform last said of this platform number's ringing (the sync's own record:
    /// it takes the platform's values when they change there).
    pub platform_ringing: Option<String>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
