//! `mobility_account`: the Connect for Mobile add-on of one account, its state and its settings
//! (SPEC §3). A missing row is an account that never touched the add-on (`NOT_ACTIVATED`).

use sea_orm::entity::prelude::*;

/// One account's add-on state and settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mobility_account")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// Where the add-on stands.
    pub state: super::MobilityState,
    /// The shared Mobility Router (set by Support at completion).
    pub mobility_router: Option<String>,
    /// The group on the router (set by Support at completion).
    pub group_name: Option<String>,
    /// Number dialled to reach voicemail.
    pub voicemail_access_number: Option<String>,
    /// The account's chosen access number.
    pub access_number_id: Option<Uuid>,
    /// Reverse-dial number.
    pub reverse_dial_number: Option<String>,
    /// Handover number.
    pub handover_number: Option<String>,
    /// Whether settings changes are mailed to enabled users (M6).
    pub send_email_notification: bool,
    /// Grows with every change of this row (optimistic concurrency, M4).
    pub version: i64,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// Who changed it last (`support:<name>` or `user:<uuid>`).
    pub updated_by: Option<String>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
