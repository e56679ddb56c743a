//! The schedule: when each account's next run is due, and asking for the runs that are.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{active_run, create_run};
use crate::{db, policy::Principal, service::error::unique_violation};

/// Sets when the account's next scheduled run is due after one ended: the interval after a
/// success; after a failure a backoff from `retry` doubling per failure in a row, capped at the
/// interval.
pub(super) async fn reschedule(
    txn: &impl ConnectionTrait,
    account_id: Uuid,
    succeeded: bool,
    interval: chrono::Duration,
    retry: chrono::Duration,
) -> Result<(), DbErr> {
    use entity::platform_connection;
    let Some(conn) = platform_connection::Entity::find_by_id(account_id).one(txn).await? else {
        return Ok(());
    };
    let failures = if succeeded { 0 } else { conn.failures.saturating_add(1) };
    let wait = if failures == 0 {
        interval
    } else {
        let doubled = retry * 2_i32.saturating_pow(u32::try_from(failures - 1).unwrap_or(0).min(20));
        doubled.min(interval)
    };
    platform_connection::ActiveModel {
        account_id: sea_orm::Unchanged(conn.account_id),
        failures: Set(failures),
        next_run_at: Set(Some(Utc::now() + wait)),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(())
}

/// Asks for a run of every account whose scheduled run is due, and moves its next one an
/// interval on (a finished run sets it again). Answers the runs created.
pub async fn schedule_due(db: &impl db::Db, interval: chrono::Duration) -> Result<usize, DbErr> {
    use entity::platform_connection::{self, Column};
    let now = Utc::now();
    let due = platform_connection::Entity::find()
        .filter(Column::NextRunAt.lte(now))
        .order_by_asc(Column::NextRunAt)
        .all(db)
        .await?;
    let system = Principal::Support {
        name: "schedule".into(),
    };
    let mut created = 0;
    for conn in due {
        let txn = db::begin_write(db).await?;
        // Another process may have taken this one since the read.
        let moved = platform_connection::Entity::update_many()
            .col_expr(Column::NextRunAt, Expr::value(now + interval))
            .filter(Column::AccountId.eq(conn.account_id))
            .filter(Column::NextRunAt.lte(now))
            .exec(&txn)
            .await?;
        if moved.rows_affected == 1 && active_run(&txn, conn.account_id).await?.is_none() {
            match create_run(&txn, &system, conn.account_id).await {
                Ok(_) => created += 1,
                Err(e) if unique_violation(&e).is_some() => {
                    txn.rollback().await?;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        txn.commit().await?;
    }
    Ok(created)
}

/// Brings the account's next scheduled run forward to at most `within` from now.
pub async fn run_within(db: &impl ConnectionTrait, account_id: Uuid, within: chrono::Duration) -> Result<(), DbErr> {
    use entity::platform_connection::{self, Column};
    let at = Utc::now() + within;
    platform_connection::Entity::update_many()
        .col_expr(Column::NextRunAt, Expr::value(at))
        .filter(Column::AccountId.eq(account_id))
        .filter(
            sea_orm::Condition::any()
                .add(Column::NextRunAt.is_null())
                .add(Column::NextRunAt.gt(at)),
        )
        .exec(db)
        .await
        .map(|_| ())
}
