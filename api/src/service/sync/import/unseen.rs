//! After a complete listing: the account's numbers the run did not see on the platform.

use std::collections::HashMap;

use chrono::Utc;
use entity::{NumberOrigin, dynamic_status, platform_sync_run, user_number};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use user_number::Column;
use uuid::Uuid;

use super::{Notes, Scope, lock_users, save, user_of};
use crate::{
    db,
    service::{
        extension_claims::CHUNK,
        outbox::{self, Entry, ev},
        remote::{self, number_changed, number_deleted},
    },
};

/// After a complete listing: the account's numbers the run did not see on the platform. A
/// platform number no status uses is removed; one a status uses is kept, flagged
/// (`platform_missing_since`) and reported, so no status is left pointing at nothing. A
/// user-created number the platform lost is unlinked, to be exported again.
pub async fn remove_unseen(
    db: &impl db::Db,
    scope: &Scope<'_>,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
) -> Result<bool, DbErr> {
    let mut after = Uuid::nil();
    loop {
        let txn = db::begin_write(db).await?;
        let rows = unseen_after(&txn, scope, after).await?;
        let Some(last) = rows.last() else {
            txn.commit().await?;
            return Ok(true);
        };
        after = last.id;
        let user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        lock_users(&txn, scope.p, scope.remote, &user_ids).await?;
        let statuses = remote::statuses_of_users(&txn, &user_ids).await?;
        let mut chunk = Unseen::default();
        for row in rows {
            chunk.settle(&txn, scope, run, notes, row, &statuses).await?;
        }
        let Unseen { gone, unlink, events } = chunk;
        remove_numbers(&txn, gone).await?;
        unlink_numbers(&txn, unlink).await?;
        outbox::record_many(&txn, scope.p, events).await?;
        if !save(txn, scope, run, notes).await? {
            return Ok(false);
        }
    }
}

/// The next chunk of the account's linked numbers this run did not see, in key order after
/// `after`.
async fn unseen_after(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    after: Uuid,
) -> Result<Vec<user_number::Model>, DbErr> {
    user_number::Entity::find()
        .filter(Column::AccountId.eq(scope.account.id))
        .filter(Column::PlatformId.is_not_null())
        .filter(
            sea_orm::Condition::any()
                .add(Column::PlatformSeen.is_null())
                .add(Column::PlatformSeen.ne(scope.run_id)),
        )
        .filter(Column::Id.gt(after))
        .order_by_asc(Column::Id)
        .limit(CHUNK as u64)
        .all(txn)
        .await
}

/// What a chunk of unseen numbers comes to: the numbers to remove, those to unlink, and the
/// events of all of it.
#[derive(Default)]
struct Unseen {
    gone: Vec<Uuid>,
    unlink: Vec<Uuid>,
    events: Vec<Entry>,
}

impl Unseen {
    /// Settles one unseen number: a user's number the platform lost is unlinked; a platform
    /// number a status uses is kept and flagged; any other platform number is removed.
    async fn settle(
        &mut self,
        txn: &impl ConnectionTrait,
        scope: &Scope<'_>,
        run: &mut platform_sync_run::Model,
        notes: &mut Notes,
        row: user_number::Model,
        statuses: &HashMap<Uuid, Vec<dynamic_status::Model>>,
    ) -> Result<(), DbErr> {
        if row.origin != NumberOrigin::Platform {
            // Linked before this listing began and not in it: the platform lost it; it is
            // sent again. One linked since (sent while the run listed) stays linked.
            if row.platform_linked_at.is_none_or(|at| at < scope.started) {
                self.events
                    .push(number_changed(&row, "onPlatform", ev::FieldChange::new(true, false)));
                self.unlink.push(row.id);
            }
            return Ok(());
        }
        let user_statuses = statuses.get(&row.user_id).map(Vec::as_slice).unwrap_or_default();
        if let Some(s) = user_of(user_statuses, row.id) {
            run.kept += 1;
            notes.push(format!(
                "{}: gone from the platform, but status {:?} uses it; kept and flagged",
                row.number, s.name
            ));
            if row.platform_missing_since.is_none() {
                self.flag_missing(txn, row).await?;
            }
            return Ok(());
        }
        self.events.push(number_deleted(&row));
        self.gone.push(row.id);
        run.removed += 1;
        Ok(())
    }

    /// Marks a kept number missing from the platform since now.
    async fn flag_missing(&mut self, txn: &impl ConnectionTrait, row: user_number::Model) -> Result<(), DbErr> {
        let mut am: user_number::ActiveModel = row.into();
        am.platform_missing_since = Set(Some(Utc::now()));
        am.updated_at = Set(Utc::now());
        let model = am.update(txn).await?;
        self.events
            .push(number_changed(&model, "onPlatform", ev::FieldChange::new(true, false)));
        Ok(())
    }
}

/// Removes these numbers, in one statement.
async fn remove_numbers(txn: &impl ConnectionTrait, ids: Vec<Uuid>) -> Result<(), DbErr> {
    if !ids.is_empty() {
        user_number::Entity::delete_many()
            .filter(Column::Id.is_in(ids))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Unlinks these numbers from the platform, to be exported again, in one statement.
async fn unlink_numbers(txn: &impl ConnectionTrait, ids: Vec<Uuid>) -> Result<(), DbErr> {
    if !ids.is_empty() {
        user_number::Entity::update_many()
            .col_expr(Column::PlatformId, Expr::value(Option::<String>::None))
            .col_expr(Column::PlatformNumber, Expr::value(Option::<String>::None))
            .col_expr(
                Column::PlatformLinkedAt,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(Column::Id.is_in(ids))
            .exec(txn)
            .await?;
    }
    Ok(())
}
