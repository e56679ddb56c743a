//! `dynamic_status`: one of a user's statuses — a presence and where calls go (SPEC §4). Each
//! routing field is a target kind and, for `NUMBER`, one of the user's numbers.

use sea_orm::entity::prelude::*;

/// The most statuses one user may have (R10).
pub const MAX_PER_USER: usize = 100;

use super::{Presence, StatusOrigin, TargetKind};

/// One dynamic status.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dynamic_status")]
pub struct Model {
    /// Key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The user it belongs to.
    pub user_id: Uuid,
    /// The user's account.
    pub account_id: Uuid,
    /// Name, trimmed.
    pub name: String,
    /// Lower-cased name: unique per user.
    pub name_key: String,
    /// Presence shown to colleagues.
    pub presence: Presence,
    /// Optional message shown with the presence.
    pub message: Option<String>,
    /// Who made it.
    pub origin: StatusOrigin,
    /// The remote extension this status uses (R7).
    pub remote_extension_id: Option<Uuid>,
    /// Which device places calls.
    pub call_using_kind: TargetKind,
    /// The number, when `call_using_kind` is `NUMBER`.
    pub call_using_number_id: Option<Uuid>,
    /// Where incoming calls ring.
    pub send_calls_to_kind: TargetKind,
    /// The number, when `send_calls_to_kind` is `NUMBER`.
    pub send_calls_to_number_id: Option<Uuid>,
    /// Where calls go when busy.
    pub when_busy_kind: TargetKind,
    /// The number, when `when_busy_kind` is `NUMBER`.
    pub when_busy_number_id: Option<Uuid>,
    /// Where calls go when nobody answers.
    pub if_no_answer_kind: TargetKind,
    /// The number, when `if_no_answer_kind` is `NUMBER`.
    pub if_no_answer_number_id: Option<Uuid>,
    /// The status's schedule as JSON (weekly rules, skipped dates, fallback); `None` when it is
    /// not scheduled. Written and read by the service, which validates it whole.
    pub schedule: Option<String>,
    /// Bumped by every change.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTimeUtc,
    /// Who created it.
    pub created_by: String,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// Every number this status points at: its remote extension and its `NUMBER` targets.
    pub fn numbers(&self) -> impl Iterator<Item = Uuid> + '_ {
        [
            self.remote_extension_id,
            self.call_using_number_id,
            self.send_calls_to_number_id,
            self.when_busy_number_id,
            self.if_no_answer_number_id,
        ]
        .into_iter()
        .flatten()
    }
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
