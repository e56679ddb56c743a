//! The import side of a run (SPEC E3, R5): one page of the platform's numbers applied in one
//! transaction, and after the last page the numbers the platform no longer has.
//!
//! A page costs a fixed handful of statements whatever its size: the numbers the page's ids
//! already name, the page's users' numbers and statuses, the numbers held by other users, then
//! one insert of the new numbers, one of their events and one update marking what was seen. The
//! users concerned are locked (`remote_user`, in key order) as every other write to their
//! numbers does, so the checks hold against what commits.

mod notes;
mod page;
mod unseen;

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{account, dynamic_status, platform_sync_run, remote_user, user, user_number};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub use notes::Notes;
pub use page::apply_page;
pub use unseen::remove_unseen;

use crate::{
    policy::Principal,
    service::{
        extension_claims::CHUNK,
        remote::{self, RemoteSettings},
    },
};

/// What the import of one account needs at hand.
pub struct Scope<'a> {
    /// The process holding the run, and for how long each save renews it.
    pub hold: (&'a str, chrono::Duration),
    /// The account.
    pub account: &'a account::Model,
    /// Its users by extension (the platform's `userRef`).
    pub users: &'a HashMap<String, Uuid>,
    /// Label prefix and default statuses.
    pub remote: &'a RemoteSettings,
    /// The run.
    pub run_id: Uuid,
    /// When the run's listing began.
    pub started: chrono::DateTime<Utc>,
    /// Who acts.
    pub p: &'a Principal,
}

/// The extensions of the account's users.
pub async fn users_by_extension(db: &impl ConnectionTrait, account_id: Uuid) -> Result<HashMap<String, Uuid>, DbErr> {
    let rows: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Extension)
        .filter(user::Column::AccountId.eq(account_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, ext)| (ext, id)).collect())
}

/// How many of the account's numbers Reach holds linked to the platform.
pub async fn linked_count(db: &impl ConnectionTrait, account_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    user_number::Entity::find()
        .filter(user_number::Column::AccountId.eq(account_id))
        .filter(user_number::Column::PlatformId.is_not_null())
        .count(db)
        .await
}

/// Locks the users' Remote Extension records in key order (creating missing ones with their
/// default statuses first), as every write to a user's numbers does.
async fn lock_users(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    ids: &[Uuid],
) -> Result<(), DbErr> {
    let mut sorted = ids.to_vec();
    sorted.sort();
    let mut held = HashSet::new();
    for chunk in sorted.chunks(CHUNK) {
        let rows = remote_user::Entity::find()
            .filter(remote_user::Column::UserId.is_in(chunk.to_vec()))
            .order_by_asc(remote_user::Column::UserId)
            .lock_exclusive()
            .all(txn)
            .await?;
        held.extend(rows.into_iter().map(|r| r.user_id));
    }
    let missing: Vec<Uuid> = sorted.into_iter().filter(|id| !held.contains(id)).collect();
    if !missing.is_empty() {
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(missing))
            .all(txn)
            .await?;
        for u in users {
            remote::ensure_user(txn, p, cfg, &u).await.map_err(into_db)?;
            remote_user::Entity::find_by_id(u.id).lock_exclusive().one(txn).await?;
        }
    }
    Ok(())
}

fn into_db(e: crate::service::ServiceError) -> DbErr {
    match e {
        crate::service::ServiceError::Db(e) => e,
        other => DbErr::Custom(other.to_string()),
    }
}

/// The status of `statuses` that uses `number`, if one does.
fn user_of(statuses: &[dynamic_status::Model], number: Uuid) -> Option<&dynamic_status::Model> {
    statuses.iter().find(|s| s.numbers().any(|n| n == number))
}

/// Commits a step of the run with its counts, while this process still holds the run (false:
/// it lost it, and the step is rolled back).
async fn save(
    txn: sea_orm::DatabaseTransaction,
    scope: &Scope<'_>,
    run: &mut platform_sync_run::Model,
    notes: &Notes,
) -> Result<bool, DbErr> {
    run.errors = notes.to_json();
    let before = run.clone();
    if super::progress_in(&txn, run, scope.hold.0, scope.hold.1).await? {
        txn.commit().await?;
        Ok(true)
    } else {
        txn.rollback().await?;
        *run = before;
        Ok(false)
    }
}
