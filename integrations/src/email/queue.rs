//! The delivery queue (SPEC E2): `notification_delivery` rows claimed with a lease — on
//! PostgreSQL through `FOR UPDATE SKIP LOCKED`, so several processes share the rows and never
//! hold the same one; on SQLite in one atomic `UPDATE` — and settled guarded by that lease.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use entity::{DeliveryStatus, account, mobility_notification, notification_delivery, user};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query},
};
use uuid::Uuid;

/// Takes up to `limit` due deliveries for `owner` until `lease` has passed.
pub async fn claim(
    db: &impl ConnectionTrait,
    owner: &str,
    limit: u64,
    lease: Duration,
) -> Result<Vec<notification_delivery::Model>, DbErr> {
    use notification_delivery::{Column, Entity};
    let now = Utc::now();
    let mut due = Query::select();
    due.column(Column::Id)
        .from(Entity)
        .and_where(Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Retrying]))
        .cond_where(
            Condition::any()
                .add(Column::NextAttemptAt.is_null())
                .add(Column::NextAttemptAt.lte(now)),
        )
        .cond_where(
            Condition::any()
                .add(Column::LeaseUntil.is_null())
                .add(Column::LeaseUntil.lt(now)),
        )
        .order_by(Column::Id, sea_orm::Order::Asc)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let mut rows = Entity::update_many()
        .col_expr(Column::LeaseOwner, Expr::value(owner.to_owned()))
        .col_expr(Column::LeaseUntil, Expr::value(now + lease))
        .filter(Column::Id.in_subquery(due))
        .exec_with_returning(db)
        .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// How a try ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server took the message.
    Sent,
    /// A temporary failure; try again at the given time.
    Retry {
        /// The server's answer or the connection's error.
        error: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Given up: a permanent failure, or the last allowed try.
    Failed {
        /// Why.
        error: String,
    },
    /// The server could not be reached (or refused the session as a whole): not a try of this
    /// message, so it does not count toward `max_attempts`; try again at the given time.
    Deferred {
        /// The connection's error or the server's answer.
        error: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// Records a try of `row` (one more attempt, unless deferred) and lets the row go, if `owner`
/// still holds it. Returns whether it did.
pub async fn settle(
    db: &impl ConnectionTrait,
    owner: &str,
    row: &notification_delivery::Model,
    message_id: &str,
    outcome: Outcome,
) -> Result<bool, DbErr> {
    use notification_delivery::{Column, Entity};
    let now = Utc::now();
    let tried = i32::from(!matches!(outcome, Outcome::Deferred { .. }));
    let (status, error, next, sent) = match outcome {
        Outcome::Sent => (DeliveryStatus::Sent, None, None, Some(now)),
        Outcome::Retry { error, at } | Outcome::Deferred { error, at } => {
            (DeliveryStatus::Retrying, Some(error), Some(at), None)
        }
        Outcome::Failed { error } => (DeliveryStatus::Failed, Some(error), None, None),
    };
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(tried))
        .col_expr(Column::LastError, Expr::value(error))
        .col_expr(Column::NextAttemptAt, Expr::value(next))
        .col_expr(Column::SentAt, Expr::value(sent))
        .col_expr(Column::MessageId, Expr::value(message_id.to_owned()))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(row.id))
        .filter(Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Records the sends of a batch at once: each row of `sent` (its id and the `Message-ID` it went
/// out with) becomes `SENT`, one more attempt, if `owner` still holds it. One statement for the
/// batch, where a settle per mail waited for a commit per mail. Returns the ids it settled.
pub async fn settle_sent(db: &impl ConnectionTrait, owner: &str, sent: &[(Uuid, String)]) -> Result<Vec<Uuid>, DbErr> {
    use notification_delivery::{Column, Entity};
    let Some(((first, first_mid), rest)) = sent.split_first() else {
        return Ok(Vec::new());
    };
    let now = Utc::now();
    let message_id = rest.iter().fold(
        Expr::case(Column::Id.eq(*first), Expr::value(first_mid.clone())),
        |case, (id, mid)| case.case(Column::Id.eq(*id), Expr::value(mid.clone())),
    );
    let done = Entity::update_many()
        .col_expr(Column::Status, Expr::value(DeliveryStatus::Sent))
        .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
        .col_expr(Column::LastError, Expr::value(Option::<String>::None))
        .col_expr(Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::SentAt, Expr::value(now))
        .col_expr(
            Column::MessageId,
            message_id.finally(Expr::col(Column::MessageId)).into(),
        )
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.is_in(sent.iter().map(|(id, _)| *id)))
        .filter(Column::LeaseOwner.eq(owner))
        .exec_with_returning(db)
        .await?;
    Ok(done.into_iter().map(|r| r.id).collect())
}

/// Extends `owner`'s lease on `row` just before it is sent; false when the lease was lost (it
/// expired and another worker took the row), in which case the row must not be sent.
pub async fn touch(db: &impl ConnectionTrait, owner: &str, id: Uuid, lease: Duration) -> Result<bool, DbErr> {
    use notification_delivery::{Column, Entity};
    let done = Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(Utc::now() + lease))
        .filter(Column::Id.eq(id))
        .filter(Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Whether `row`'s lease, as the claim wrote it, lasts beyond a send of `budget` from now plus
/// half a `lease` (room for the settle). Clocks are compared as every lease compares them.
pub fn covers(row: &notification_delivery::Model, budget: Duration, lease: Duration) -> bool {
    let need = chrono::TimeDelta::from_std(budget + lease / 2).unwrap_or(chrono::TimeDelta::MAX);
    row.lease_until
        .is_some_and(|until| Utc::now().checked_add_signed(need).is_some_and(|by| by < until))
}

/// Lets rows go untried (the server went away before their turn).
pub async fn release(db: &impl ConnectionTrait, owner: &str, ids: Vec<Uuid>) -> Result<(), DbErr> {
    use notification_delivery::{Column, Entity};
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(Column::Id.is_in(ids))
        .filter(Column::LeaseOwner.eq(owner))
        .exec(db)
        .await
        .map(|_| ())
}

/// What the mails of a batch talk about, loaded in three statements.
#[derive(Debug, Default)]
pub struct Context {
    /// Notifications by id.
    pub notifications: HashMap<Uuid, mobility_notification::Model>,
    /// Account names by id.
    pub accounts: HashMap<Uuid, String>,
    /// User names by id (recipients and the users who made the changes).
    pub users: HashMap<Uuid, String>,
}

/// Loads the notifications, accounts and names `rows` need.
pub async fn context(db: &impl ConnectionTrait, rows: &[notification_delivery::Model]) -> Result<Context, DbErr> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.notification_id).collect();
    let notifications: HashMap<Uuid, mobility_notification::Model> = mobility_notification::Entity::find()
        .filter(mobility_notification::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let account_ids: Vec<Uuid> = notifications.values().map(|n| n.account_id).collect();
    let accounts = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .column(account::Column::Name)
        .filter(account::Column::Id.is_in(account_ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    user_ids.extend(
        notifications
            .values()
            .filter_map(|n| n.created_by.strip_prefix("user:"))
            .filter_map(|id| id.parse::<Uuid>().ok()),
    );
    let users = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Name)
        .filter(user::Column::Id.is_in(user_ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(Context {
        notifications,
        accounts,
        users,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased_for(secs: i64) -> notification_delivery::Model {
        notification_delivery::Model {
            id: Uuid::now_v7(),
            notification_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            email: None,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            sent_at: None,
            message_id: None,
            lease_owner: Some("w".into()),
            lease_until: Some(Utc::now() + chrono::TimeDelta::seconds(secs)),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_fresh_claim_covers_a_send_and_an_old_one_does_not() {
        let (budget, lease) = (Duration::from_secs(10), Duration::from_secs(120));
        assert!(covers(&leased_for(120), budget, lease), "just claimed");
        assert!(
            !covers(&leased_for(65), budget, lease),
            "less than budget + half a lease left"
        );
        assert!(!covers(&leased_for(-1), budget, lease), "expired");
        let mut none = leased_for(120);
        none.lease_until = None;
        assert!(!covers(&none, budget, lease));
    }
}
