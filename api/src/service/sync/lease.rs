//! Claiming a run with a lease, saving its progress while the lease is held, ending it, and
//! failing the runs whose process stopped holding them.

use chrono::Utc;
use entity::{SyncRunState, platform_sync_run};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

use super::{event, schedule::reschedule, sync_principal};
use crate::{db, service::outbox};

/// Takes the oldest `PENDING` run (or `only` that one) for this process: `RUNNING`, started now,
/// leased to `owner` for `lease`. Two processes racing for one run: one gets it.
pub async fn claim_run(
    db: &impl db::Db,
    owner: &str,
    lease: chrono::Duration,
    only: Option<Uuid>,
) -> Result<Option<platform_sync_run::Model>, DbErr> {
    use platform_sync_run::Column;
    let txn = db::begin_write(db).await?;
    let mut next = platform_sync_run::Entity::find()
        .filter(Column::State.eq(SyncRunState::Pending))
        .order_by_asc(Column::Id);
    if let Some(id) = only {
        next = next.filter(Column::Id.eq(id));
    }
    let Some(run) = next.one(&txn).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let taken = platform_sync_run::Entity::update_many()
        .col_expr(Column::State, Expr::value(SyncRunState::Running.to_value()))
        .col_expr(Column::StartedAt, Expr::value(now))
        .col_expr(Column::LeaseOwner, Expr::value(owner.to_owned()))
        .col_expr(Column::LeaseUntil, Expr::value(now + lease))
        .col_expr(Column::Version, Expr::value(run.version + 1))
        .filter(Column::Id.eq(run.id))
        .filter(Column::State.eq(SyncRunState::Pending))
        .exec_with_returning(&txn)
        .await?;
    let Some(run) = taken.into_iter().next() else {
        return Ok(None);
    };
    outbox::record(&txn, &sync_principal(), event(false, &run)).await?;
    txn.commit().await?;
    Ok(Some(run))
}

/// Saves a running run's counts and renews its lease, if `owner` still holds it (false: it was
/// declared abandoned meanwhile, and the caller must stop).
pub async fn progress_run(
    db: &impl db::Db,
    run: &mut platform_sync_run::Model,
    owner: &str,
    lease: chrono::Duration,
) -> Result<bool, DbErr> {
    let txn = db::begin_write(db).await?;
    if progress_in(&txn, run, owner, lease).await? {
        txn.commit().await?;
        Ok(true)
    } else {
        txn.rollback().await?;
        Ok(false)
    }
}

/// [`progress_run`] inside the caller's transaction, so that a page's changes and the counts
/// that report them commit together, and only while `owner` holds the run.
pub async fn progress_in(
    txn: &impl ConnectionTrait,
    run: &mut platform_sync_run::Model,
    owner: &str,
    lease: chrono::Duration,
) -> Result<bool, DbErr> {
    let saved = held_update(run, owner)
        .col_expr(platform_sync_run::Column::LeaseUntil, Expr::value(Utc::now() + lease))
        .exec_with_returning(txn)
        .await?;
    let Some(saved) = saved.into_iter().next() else {
        return Ok(false);
    };
    outbox::record(txn, &sync_principal(), event(false, &saved)).await?;
    *run = saved;
    Ok(true)
}

/// An update of `run` with its counts, errors and next version, applying only while `owner`
/// holds it `RUNNING`.
fn held_update(run: &platform_sync_run::Model, owner: &str) -> sea_orm::UpdateMany<platform_sync_run::Entity> {
    use platform_sync_run::Column;
    platform_sync_run::Entity::update_many()
        .col_expr(Column::Created, Expr::value(run.created))
        .col_expr(Column::Updated, Expr::value(run.updated))
        .col_expr(Column::Removed, Expr::value(run.removed))
        .col_expr(Column::Kept, Expr::value(run.kept))
        .col_expr(Column::Exported, Expr::value(run.exported))
        .col_expr(Column::Errors, Expr::value(run.errors.clone()))
        .col_expr(Column::Version, Expr::value(run.version + 1))
        .filter(Column::Id.eq(run.id))
        .filter(Column::State.eq(SyncRunState::Running))
        .filter(Column::LeaseOwner.eq(owner.to_owned()))
}

/// Ends a run held by `owner`: `SUCCEEDED` or `FAILED` with its counts and errors, and sets when
/// the account's next scheduled run is due (the interval after a success; after a failure a
/// backoff from `retry` doubling per failure in a row, capped at the interval).
pub async fn finish_run(
    db: &impl db::Db,
    run: &mut platform_sync_run::Model,
    owner: &str,
    state: SyncRunState,
    interval: chrono::Duration,
    retry: chrono::Duration,
) -> Result<bool, DbErr> {
    use platform_sync_run::Column;
    let txn = db::begin_write(db).await?;
    let now = Utc::now();
    let saved = held_update(run, owner)
        .col_expr(Column::State, Expr::value(state.to_value()))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .exec_with_returning(&txn)
        .await?;
    let Some(saved) = saved.into_iter().next() else {
        return Ok(false);
    };
    outbox::record(&txn, &sync_principal(), event(false, &saved)).await?;
    reschedule(
        &txn,
        saved.account_id,
        state == SyncRunState::Succeeded,
        interval,
        retry,
    )
    .await?;
    txn.commit().await?;
    *run = saved;
    Ok(true)
}

/// Fails the runs whose process stopped holding them (its lease ran out: it died or hung), so
/// the account is not stuck; the schedule asks for a new one after the failure's backoff.
/// Answers how many.
pub async fn fail_abandoned(
    db: &impl db::Db,
    interval: chrono::Duration,
    retry: chrono::Duration,
) -> Result<usize, DbErr> {
    use platform_sync_run::Column;
    let now = Utc::now();
    let stale = platform_sync_run::Entity::find()
        .filter(Column::State.eq(SyncRunState::Running))
        .filter(Column::LeaseUntil.lt(now))
        .all(db)
        .await?;
    let mut failed = 0;
    for run in stale {
        let txn = db::begin_write(db).await?;
        let mut errors = run.errors.as_array().cloned().unwrap_or_default();
        errors.push(json!("the process running this sync stopped before it finished"));
        let saved = platform_sync_run::Entity::update_many()
            .col_expr(Column::State, Expr::value(SyncRunState::Failed.to_value()))
            .col_expr(Column::FinishedAt, Expr::value(now))
            .col_expr(Column::Errors, Expr::value(serde_json::Value::Array(errors)))
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(Column::LeaseUntil, Expr::value(Option::<chrono::DateTime<Utc>>::None))
            .col_expr(Column::Version, Expr::value(run.version + 1))
            .filter(Column::Id.eq(run.id))
            .filter(Column::State.eq(SyncRunState::Running))
            .filter(Column::LeaseUntil.lt(now))
            .exec_with_returning(&txn)
            .await?;
        if let Some(saved) = saved.into_iter().next() {
            outbox::record(&txn, &sync_principal(), event(false, &saved)).await?;
            reschedule(&txn, saved.account_id, false, interval, retry).await?;
            failed += 1;
        }
        txn.commit().await?;
    }
    Ok(failed)
}
