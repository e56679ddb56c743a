//! Withdrawals: a user-created remote extension the platform must forget — deleted in Reach, or
//! its number changed — recorded in the same transaction as that change (`platform_withdrawal`)
//! and kept until the platform has let it go. The plugin works them off right after the change;
//! every run works them off first, and its import never brings back a number waiting to be
//! withdrawn: it deletes it on the platform instead. A platform that is down, or refuses, delays
//! a withdrawal; nothing forgets it.

use chrono::{DateTime, Utc};
use entity::{NumberOrigin, platform_connection, platform_withdrawal, user_number};
use integrations::platform::{PlatformConnector, PlatformError};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::import::Notes;

/// Records that the platform must forget `number` (as it was before the change), when it is a
/// user's remote extension on an account with a platform connection. Inside the change's
/// transaction.
pub(crate) async fn record(
    txn: &impl ConnectionTrait,
    number: &user_number::Model,
    user_ref: &str,
) -> Result<(), DbErr> {
    if number.origin != NumberOrigin::User || !number.is_remote_extension {
        return Ok(());
    }
    if platform_connection::Entity::find_by_id(number.account_id)
        .one(txn)
        .await?
        .is_none()
    {
        return Ok(());
    }
    platform_withdrawal::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(number.account_id),
        user_number_id: Set(number.id),
        platform_id: Set(number.platform_id.clone()),
        user_ref: Set(user_ref.to_owned()),
        number: Set(number.number.clone()),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await
    .map(|_| ())
}

/// The account's pending withdrawals that name one of `ids` or `numbers`.
pub(crate) async fn matching(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    ids: &[String],
    numbers: &[String],
) -> Result<Vec<platform_withdrawal::Model>, DbErr> {
    use platform_withdrawal::Column;
    platform_withdrawal::Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(
            sea_orm::Condition::any()
                .add(Column::PlatformId.is_in(ids.to_vec()))
                .add(Column::Number.is_in(numbers.to_vec())),
        )
        .all(db)
        .await
}

/// Deletes `platform_id` on the platform for `withdrawal` and closes it; a refusal is kept on it
/// (and noted), a transient failure returned.
pub(crate) async fn settle(
    db: &impl ConnectionTrait,
    connector: &dyn PlatformConnector,
    withdrawal: &platform_withdrawal::Model,
    platform_id: &str,
    notes: Option<&mut Notes>,
) -> Result<(), SettleError> {
    match connector.delete(platform_id).await {
        Ok(()) => {
            platform_withdrawal::Entity::delete_by_id(withdrawal.id)
                .exec(db)
                .await?;
            Ok(())
        }
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            platform_withdrawal::Entity::update_many()
                .col_expr(
                    platform_withdrawal::Column::Attempts,
                    Expr::col(platform_withdrawal::Column::Attempts).add(1),
                )
                .col_expr(platform_withdrawal::Column::LastError, Expr::value(e.to_string()))
                .filter(platform_withdrawal::Column::Id.eq(withdrawal.id))
                .exec(db)
                .await?;
            if let Some(notes) = notes {
                notes.push(format!(
                    "{}: the platform refused to delete it ({e}); it stays to be withdrawn and is not imported",
                    withdrawal.number
                ));
            }
            Ok(())
        }
    }
}

/// Works off the account's withdrawals whose platform id is known, oldest first.
pub async fn drain(
    db: &impl ConnectionTrait,
    connector: &dyn PlatformConnector,
    account_id: Uuid,
    mut notes: Option<&mut Notes>,
) -> Result<(), SettleError> {
    use platform_withdrawal::Column;
    let mut after = Uuid::nil();
    loop {
        let batch = platform_withdrawal::Entity::find()
            .filter(Column::AccountId.eq(account_id))
            .filter(Column::PlatformId.is_not_null())
            .filter(Column::Id.gt(after))
            .order_by_asc(Column::Id)
            .limit(100)
            .all(db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = last.id;
        for w in &batch {
            if let Some(pid) = &w.platform_id {
                settle(db, connector, w, pid, notes.as_deref_mut()).await?;
            }
        }
    }
}

/// After a complete listing that did not show them: the withdrawals without a platform id asked
/// for before the listing began are done (the platform never had the number, or let it go).
pub(crate) async fn close_unlisted(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    before: DateTime<Utc>,
) -> Result<(), DbErr> {
    use platform_withdrawal::Column;
    platform_withdrawal::Entity::delete_many()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::PlatformId.is_null())
        .filter(Column::CreatedAt.lt(before))
        .exec(db)
        .await
        .map(|_| ())
}

/// Why settling a withdrawal did not finish: to be tried again.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// The platform failed in a way that may pass.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}
