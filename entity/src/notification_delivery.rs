//! `notification_delivery`: one recipient of one notification and where its delivery stands (E2).

use sea_orm::entity::prelude::*;

/// One (notification, recipient).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_delivery")]
pub struct Model {
    /// Key; also the stable base of the message's `Message-ID`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The notification.
    pub notification_id: Uuid,
    /// The recipient.
    pub user_id: Uuid,
    /// The address it goes to, as it was when queued (`None`: the user had none, `SKIPPED`).
    pub email: Option<String>,
    /// Where delivery stands.
    pub status: super::DeliveryStatus,
    /// Tries made so far.
    pub attempts: i32,
    /// The last failure, as the mail server answered it.
    pub last_error: Option<String>,
    /// When the next try is due (`None`: now).
    pub next_attempt_at: Option<DateTimeUtc>,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
    /// The email worker holding the row while it sends it, if any.
    pub lease_owner: Option<String>,
    /// Until when it holds it; after that another worker may take the row.
    pub lease_until: Option<DateTimeUtc>,
    /// When the mail server accepted the message.
    pub sent_at: Option<DateTimeUtc>,
    /// The `Message-ID` every try of this delivery carries (without angle brackets).
    pub message_id: Option<String>,
}

/// No relations are navigated through sea-orm; services join by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
