//! After a complete listing: the account's numbers the run did not see on the platform.

use chrono::Utc;
use entity::{NumberOrigin, dynamic_status, platform_sync_run, user_number};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use super::{Notes, Scope, lock_users, save, user_of};
use crate::{
    db,
    service::{
        extension_claims::CHUNK,
        outbox::{self, ev},
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
    use user_number::Column;
    let mut after = Uuid::nil();
    loop {
        let txn = db::begin_write(db).await?;
        let rows = user_number::Entity::find()
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
            .all(&txn)
            .await?;
        let Some(last) = rows.last() else {
            txn.commit().await?;
            return Ok(true);
        };
        after = last.id;
        let user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        lock_users(&txn, scope.p, scope.remote, &user_ids).await?;
        let statuses = remote::statuses_of_users(&txn, &user_ids).await?;
        let no_statuses: Vec<dynamic_status::Model> = Vec::new();
        let mut gone = Vec::new();
        let mut unlink = Vec::new();
        let mut events = Vec::new();
        for row in rows {
            if row.origin != NumberOrigin::Platform {
                // Linked before this listing began and not in it: the platform lost it; it is
                // sent again. One linked since (sent while the run listed) stays linked.
                if row.platform_linked_at.is_none_or(|at| at < scope.started) {
                    events.push(number_changed(&row, "onPlatform", ev::FieldChange::new(true, false)));
                    unlink.push(row.id);
                }
                continue;
            }
            let user_statuses = statuses.get(&row.user_id).unwrap_or(&no_statuses);
            if let Some(s) = user_of(user_statuses, row.id) {
                run.kept += 1;
                notes.push(format!(
                    "{}: gone from the platform, but status {:?} uses it; kept and flagged",
                    row.number, s.name
                ));
                if row.platform_missing_since.is_none() {
                    let mut am: user_number::ActiveModel = row.clone().into();
                    am.platform_missing_since = Set(Some(Utc::now()));
                    am.updated_at = Set(Utc::now());
                    let model = am.update(&txn).await?;
                    events.push(number_changed(&model, "onPlatform", ev::FieldChange::new(true, false)));
                }
                continue;
            }
            events.push(number_deleted(&row));
            gone.push(row.id);
            run.removed += 1;
        }
        if !gone.is_empty() {
            user_number::Entity::delete_many()
                .filter(Column::Id.is_in(gone))
                .exec(&txn)
                .await?;
        }
        if !unlink.is_empty() {
            user_number::Entity::update_many()
                .col_expr(Column::PlatformId, Expr::value(Option::<String>::None))
                .col_expr(Column::PlatformNumber, Expr::value(Option::<String>::None))
                .col_expr(
                    Column::PlatformLinkedAt,
                    Expr::value(Option::<chrono::DateTime<Utc>>::None),
                )
                .filter(Column::Id.is_in(unlink))
                .exec(&txn)
                .await?;
        }
        outbox::record_many(&txn, scope.p, events).await?;
        if !save(txn, scope, run, notes).await? {
            return Ok(false);
        }
    }
}
