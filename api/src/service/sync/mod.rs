//! The communication-platform sync (SPEC E3, R5, R6).
//!
//! - [`connection`]: `platformConnectionSet`, the token sealed by [`seal`].
//! - This module: the record of each run, written with its outbox event so that subscribers of
//!   `platformSyncRunUpdated` see every change of state and count; asking for a run (one
//!   `PENDING` or `RUNNING` run per account, enforced by a partial unique index whichever process
//!   asks); claiming one with a lease; the schedule.
//! - [`runner`]: a run: the import of the platform's numbers page by page, the removal of the
//!   ones gone, the export of user-created ones the platform lacks.
//! - [`export`]: the plugin's event handling that sends a user's new or deleted remote extension
//!   to the platform as soon as it is committed.
//! - [`plugin`]: the `platform` plugin: events, the scheduler and the run workers.

pub mod connection;
pub mod export;
mod import;
pub mod plugin;
pub mod runner;
pub mod seal;
pub mod withdraw;

use std::collections::HashMap;

use chrono::Utc;
use entity::{SyncRunState, platform_sync_run};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ServiceResult,
        error::unique_violation,
        outbox::{self, Event},
    },
};

/// Who may read an account's sync runs: Support, a Decision Maker or an account-wide Phone
/// Manager of the account (`NOT_FOUND` for another account's, T1).
pub fn may_read_runs(p: &Principal, account_id: Uuid) -> Access {
    p.account_manager(account_id)
}

/// Runs by id, in one query.
pub async fn runs_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, platform_sync_run::Model>, DbErr> {
    let rows = platform_sync_run::Entity::find()
        .filter(platform_sync_run::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

fn event(event_type: &'static str, run: &platform_sync_run::Model) -> Event {
    Event {
        event_type,
        account_id: Some(run.account_id),
        aggregate_type: "PlatformSyncRun",
        aggregate_id: run.id,
        payload: json!({
            "state": run.state.to_value(),
            "version": run.version,
            "startedAt": run.started_at,
            "finishedAt": run.finished_at,
            "created": run.created,
            "updated": run.updated,
            "removed": run.removed,
            "kept": run.kept,
            "exported": run.exported,
            "errors": run.errors,
        }),
    }
}

/// The run as its event recorded it (each event of a run shows that moment, not a later one),
/// over `current` for what a run never changes; `None` when the payload is not a run's.
pub fn as_recorded(
    current: &platform_sync_run::Model,
    payload: &serde_json::Value,
) -> Option<platform_sync_run::Model> {
    let int = |key: &str| {
        payload
            .get(key)
            .and_then(|v| v.as_i64())
            .and_then(|n| i32::try_from(n).ok())
    };
    let time = |key: &str| {
        payload
            .get(key)
            .and_then(|v| serde_json::from_value::<Option<chrono::DateTime<Utc>>>(v.clone()).ok())
            .flatten()
    };
    let state = payload
        .get("state")
        .and_then(|v| v.as_str())
        .and_then(|s| SyncRunState::try_from_value(&s.to_owned()).ok())?;
    Some(platform_sync_run::Model {
        state,
        version: int("version")?,
        started_at: time("startedAt"),
        finished_at: time("finishedAt"),
        created: int("created")?,
        updated: int("updated")?,
        removed: int("removed")?,
        kept: int("kept")?,
        exported: int("exported").unwrap_or(0),
        errors: payload.get("errors").cloned().unwrap_or_else(|| json!([])),
        ..current.clone()
    })
}

/// Records a new `PENDING` run of `account_id` asked for by `p`, inside `txn`.
pub async fn create_run(
    txn: &impl ConnectionTrait,
    p: &Principal,
    account_id: Uuid,
) -> Result<platform_sync_run::Model, DbErr> {
    let run = platform_sync_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        state: Set(SyncRunState::Pending),
        requested_by: Set(p.actor()),
        requested_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
        created: Set(0),
        updated: Set(0),
        removed: Set(0),
        kept: Set(0),
        exported: Set(0),
        lease_owner: Set(None),
        lease_until: Set(None),
        errors: Set(json!([])),
        version: Set(1),
    }
    .insert(txn)
    .await?;
    outbox::record(txn, p, event("platform_sync_run.created", &run)).await?;
    Ok(run)
}

/// Saves the changes in `run` (state, counts, errors, times) with the next version, inside
/// `txn`, and records `platform_sync_run.updated`.
pub async fn save_run(
    txn: &impl ConnectionTrait,
    p: &Principal,
    mut run: platform_sync_run::ActiveModel,
    current_version: i32,
) -> Result<platform_sync_run::Model, DbErr> {
    run.version = Set(current_version + 1);
    let run = run.update(txn).await?;
    outbox::record(txn, p, event("platform_sync_run.updated", &run)).await?;
    Ok(run)
}

/// The account's run under way (`PENDING` or `RUNNING`), if any.
pub async fn active_run(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Option<platform_sync_run::Model>, DbErr> {
    platform_sync_run::Entity::find()
        .filter(platform_sync_run::Column::AccountId.eq(account_id))
        .filter(platform_sync_run::Column::State.is_in([SyncRunState::Pending, SyncRunState::Running]))
        .one(db)
        .await
}

/// Asks for a run of the account (`platformSyncRun`, the schedule, `reach sync`): Support, a
/// Decision Maker or an account-wide Phone Manager; the account must be on MX-ONE and have a
/// connection. When a run is under way already (asked for by anyone, in any process), that run
/// is the answer and nothing new is recorded: one run at a time per account. The flag says
/// whether this call created it.
pub async fn request_run(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
) -> ServiceResult<(platform_sync_run::Model, bool)> {
    let txn = db::begin_write(db).await?;
    let account = connection::open_account(&txn, p, |id| may_read_runs(p, id), account_id).await?;
    if connection::connection_of(&txn, account.id).await?.is_none() {
        return Err(crate::service::ServiceError::reject(
            crate::service::ErrorCode::InvalidState,
            &["accountId"],
            "the account has no platform connection yet (Support sets one with platformConnectionSet)",
        ));
    }
    if let Some(run) = active_run(&txn, account.id).await? {
        return Ok((run, false));
    }
    // The partial unique index settles a race with another process: the loser finds the
    // winner's run.
    match create_run(&txn, p, account.id).await {
        Ok(run) => {
            crate::service::commit(txn).await?;
            Ok((run, true))
        }
        Err(e) if unique_violation(&e).is_some() => {
            txn.rollback().await?;
            match active_run(db, account.id).await? {
                Some(run) => Ok((run, false)),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

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
    outbox::record(&txn, &sync_principal(), event("platform_sync_run.updated", &run)).await?;
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
    outbox::record(txn, &sync_principal(), event("platform_sync_run.updated", &saved)).await?;
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
    outbox::record(&txn, &sync_principal(), event("platform_sync_run.updated", &saved)).await?;
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

/// Sets when the account's next scheduled run is due after one ended: the interval after a
/// success; after a failure a backoff from `retry` doubling per failure in a row, capped at the
/// interval.
async fn reschedule(
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
            outbox::record(&txn, &sync_principal(), event("platform_sync_run.updated", &saved)).await?;
            reschedule(&txn, saved.account_id, false, interval, retry).await?;
            failed += 1;
        }
        txn.commit().await?;
    }
    Ok(failed)
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

/// The principal the sync acts as: Support-level, named in the audit trail.
pub fn sync_principal() -> Principal {
    Principal::Support {
        name: "platform-sync".into(),
    }
}

/// One page of the account's runs, newest first (UUID v7 keys are time-ordered), one query.
pub async fn runs_page(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    req: &crate::service::pagination::PageRequest,
) -> Result<crate::service::pagination::Page<platform_sync_run::Model>, DbErr> {
    use crate::service::pagination::{self, Cursor};
    use platform_sync_run::Column;
    use sea_orm::QuerySelect;
    let mut select = platform_sync_run::Entity::find().filter(Column::AccountId.eq(account_id));
    if let Some(after) = &req.after {
        select = select.filter(Column::Id.lt(after.id));
    }
    if let Some(before) = &req.before {
        select = select.filter(Column::Id.gt(before.id));
    }
    let (limit, backward) = pagination::window(req);
    select = if backward {
        select.order_by_asc(Column::Id)
    } else {
        select.order_by_desc(Column::Id)
    };
    let rows = select.limit(limit + 1).all(db).await?;
    Ok(pagination::assemble(rows, req, |r| Cursor {
        key: String::new(),
        id: r.id,
    }))
}

/// How many runs the account has had.
pub async fn runs_count(db: &impl ConnectionTrait, account_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    platform_sync_run::Entity::find()
        .filter(platform_sync_run::Column::AccountId.eq(account_id))
        .count(db)
        .await
}
