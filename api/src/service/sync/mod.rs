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
mod lease;
pub mod plugin;
mod record;
pub mod runner;
mod schedule;
pub mod seal;
pub mod withdraw;

use std::collections::HashMap;

use entity::platform_sync_run;
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

pub use lease::{claim_run, fail_abandoned, finish_run, progress_in, progress_run};
pub use record::{active_run, as_recorded, create_run, request_run, save_run};
pub use schedule::{run_within, schedule_due};

use crate::{
    policy::{Access, Principal},
    service::outbox::{Entry, Event, ev},
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

/// A run's event: the run at that moment.
fn event(created: bool, run: &platform_sync_run::Model) -> Entry {
    let state = ev::SyncRun {
        state: run.state.to_value(),
        version: run.version,
        started_at: run.started_at,
        finished_at: run.finished_at,
        created: run.created,
        updated: run.updated,
        removed: run.removed,
        kept: run.kept,
        exported: run.exported,
        errors: run.errors.clone(),
    };
    let event = if created {
        Event::PlatformSyncRunCreated(state)
    } else {
        Event::PlatformSyncRunUpdated(state)
    };
    event.about(run.account_id, run.id)
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
