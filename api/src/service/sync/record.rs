//! The record of each run: created with its outbox event, saved with the next version, and
//! asked for (one `PENDING` or `RUNNING` run per account, whichever process asks).

use chrono::Utc;
use entity::{SyncRunState, platform_sync_run};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use super::{connection, event, may_read_runs};
use crate::{
    db,
    policy::Principal,
    service::{
        ServiceResult,
        error::unique_violation,
        outbox::{self, ev},
    },
};

/// The run as its event recorded it (each event of a run shows that moment, not a later one),
/// over `current` for what a run never changes; `None` when the state is not one this version
/// knows.
pub fn as_recorded(current: &platform_sync_run::Model, recorded: &ev::SyncRun) -> Option<platform_sync_run::Model> {
    let state = SyncRunState::try_from_value(&recorded.state).ok()?;
    Some(platform_sync_run::Model {
        state,
        version: recorded.version,
        started_at: recorded.started_at,
        finished_at: recorded.finished_at,
        created: recorded.created,
        updated: recorded.updated,
        removed: recorded.removed,
        kept: recorded.kept,
        exported: recorded.exported,
        errors: recorded.errors.clone(),
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
    outbox::record(txn, p, event(true, &run)).await?;
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
    outbox::record(txn, p, event(false, &run)).await?;
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
    let account =
        connection::open_account(&txn, p, "run the platform sync", |id| may_read_runs(p, id), account_id).await?;
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
