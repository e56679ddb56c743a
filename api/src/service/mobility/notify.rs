//! M6: the notification a settings change queues, in the change's own transaction, with one
//! delivery row per user enabled at commit time. The email plugin delivers the rows; those of
//! users without an address are recorded as `SKIPPED`.

use chrono::{SecondsFormat, Utc};
use entity::{DeliveryStatus, mobility_notification, mobility_user, notification_delivery, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    policy::Principal,
    service::{
        extension_claims::CHUNK,
        outbox::{Entry, Event, ev},
    },
};

/// The sort key of a notification created at `at`: fixed-width UTC text, so text order is time
/// order on every database.
pub fn sort_key(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Queues one notification of `changes` for the account's enabled users and returns the event
/// that announces it. Runs inside the caller's transaction, which holds the add-on row's lock, so
/// nobody is enabled or disabled between this read and the commit.
pub(super) async fn queue(
    txn: &impl ConnectionTrait,
    p: &Principal,
    account_id: Uuid,
    changes: &[ev::SettingChange],
) -> Result<Entry, DbErr> {
    let enabled: Vec<Uuid> = mobility_user::Entity::find()
        .select_only()
        .column(mobility_user::Column::UserId)
        .filter(mobility_user::Column::AccountId.eq(account_id))
        .into_tuple()
        .all(txn)
        .await?;
    let mut recipients: Vec<(Uuid, Option<String>)> = Vec::with_capacity(enabled.len());
    for chunk in enabled.chunks(CHUNK) {
        recipients.extend(
            user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::Email)
                .filter(user::Column::Id.is_in(chunk.to_vec()))
                .into_tuple::<(Uuid, Option<String>)>()
                .all(txn)
                .await?,
        );
    }
    recipients.sort();
    let now = Utc::now();
    let notification = mobility_notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        sort_key: Set(sort_key(now)),
        changes: Set(serde_json::to_value(changes).map_err(|e| DbErr::Json(e.to_string()))?),
        created_at: Set(now),
        created_by: Set(p.actor()),
        traceparent: Set(integrations::trace_context::current()),
    }
    .insert(txn)
    .await?;
    let rows: Vec<notification_delivery::ActiveModel> = recipients
        .iter()
        .map(|(user_id, email)| notification_delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            notification_id: Set(notification.id),
            user_id: Set(*user_id),
            email: Set(email.clone()),
            status: Set(if email.is_some() {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Skipped
            }),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(None),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        notification_delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    let pending = recipients.iter().filter(|(_, e)| e.is_some()).count();
    Ok(Event::MobilityNotificationQueued(ev::NotificationQueued {
        recipients: pending,
        skipped: recipients.len() - pending,
    })
    .about(account_id, notification.id))
}
