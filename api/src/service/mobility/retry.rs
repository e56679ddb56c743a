//! E2: Support sends a notification again (`notificationRetry`) — one recipient's delivery, or
//! every failed delivery of a notification. The rows go back to `PENDING` with a fresh count of
//! tries; the email plugin takes them at its next round.

use chrono::Utc;
use entity::{DeliveryStatus, mobility_notification, notification_delivery};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult,
        error::{check, not_found},
        outbox::{self, Event, ev},
    },
};

/// What `notificationRetry` names.
#[derive(Clone, Copy, Debug)]
pub enum RetryTarget {
    /// One recipient's delivery.
    Delivery(Uuid),
    /// Every failed delivery of a notification.
    Notification(Uuid),
}

/// Puts the named deliveries that are `FAILED` or `RETRYING` back to `PENDING` (tries counted
/// from 0 again; the last error stays until the next try). Support only; an id the caller cannot
/// see is `NOT_FOUND` like an unknown one (T1), one they can see is `FORBIDDEN`, and nothing to
/// retry is `INVALID_STATE`.
pub async fn retry_notification(
    db: &impl db::Db,
    p: &Principal,
    target: Option<RetryTarget>,
) -> ServiceResult<mobility_notification::Model> {
    let field = &["id"][..];
    let txn = db::begin_write(db).await?;
    let (notification_id, only) = match target {
        Some(RetryTarget::Notification(id)) => (Some(id), None),
        Some(RetryTarget::Delivery(id)) => {
            let row = notification_delivery::Entity::find_by_id(id).one(&txn).await?;
            (row.as_ref().map(|r| r.notification_id), row.map(|r| r.id))
        }
        None => (None, None),
    };
    let notification = match notification_id {
        Some(id) => mobility_notification::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    };
    let Some(notification) = notification else {
        return Err(not_found(field, "notification"));
    };
    // Who cannot read the account's notifications cannot know this id exists.
    let access = match p.account_manager(notification.account_id) {
        Access::Allowed => p.support_only(notification.account_id),
        _ => Access::NotFound,
    };
    check(access, field, "notification", "retry notifications")?;

    // One write picks and moves the rows, so the state it checks is the state it changes: a
    // row a worker has just settled, or holds right now, is left alone.
    let now = Utc::now();
    let mut retry = notification_delivery::Entity::update_many()
        .col_expr(
            notification_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(notification_delivery::Column::Attempts, Expr::value(0))
        .col_expr(
            notification_delivery::Column::NextAttemptAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(notification_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(notification_delivery::Column::NotificationId.eq(notification.id))
        .filter(notification_delivery::Column::Status.is_in([DeliveryStatus::Failed, DeliveryStatus::Retrying]))
        .filter(
            Condition::any()
                .add(notification_delivery::Column::LeaseUntil.is_null())
                .add(notification_delivery::Column::LeaseUntil.lt(now)),
        );
    if let Some(id) = only {
        retry = retry.filter(notification_delivery::Column::Id.eq(id));
    }
    let ids: Vec<Uuid> = retry
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            field,
            "nothing to retry: only FAILED or RETRYING deliveries that no worker is sending can be sent again",
        ));
    }
    outbox::record(
        &txn,
        p,
        Event::NotificationRetryRequested(ev::RetryRequested {
            deliveries: ids.clone(),
        })
        .about(notification.account_id, notification.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(notification)
}
