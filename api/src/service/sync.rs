//! Platform sync runs (SPEC E3): the record of each run, written with its outbox event so that
//! subscribers of `platformSyncRunUpdated` see every change of state and count. The sync itself
//! (the connector, import and export) drives these records.

use std::collections::HashMap;

use chrono::Utc;
use entity::{SyncRunState, platform_sync_run};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::{
    policy::{Access, Principal},
    service::outbox::{self, Event},
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
