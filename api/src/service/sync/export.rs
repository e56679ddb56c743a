//! The export side (SPEC E3): a remote extension a user adds in Reach is created on the platform,
//! and deleted there when the user deletes it, so the PBX routes it. The `platform` plugin does
//! this from the committed events, and every run does it again for any number still waiting
//! (added before the connection was set, or refused for a while).
//!
//! A transient failure (the platform down, slow, `5xx`) is returned, so the event is offered
//! again with backoff and nothing is lost; a refusal (`4xx`, `409` when the platform holds the
//! number already) is written on the number (`platform_error`) and the run reports it.

use entity::{NumberOrigin, platform_connection, user, user_number};
use integrations::platform::{Created, NewPlatformNumber, PlatformConnector, PlatformError, http::HttpConnector};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::seal::TokenKey;
use crate::service::{outbox::ev, remote::Ringing};

/// Why a connector could not be made for an account.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// The token does not open with this server's key.
    #[error(transparent)]
    Sealed(#[from] super::seal::Unsealable),
    /// The connector refused the settings.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// The connector of an account, from its stored connection.
pub fn connector(
    conn: &platform_connection::Model,
    key: &TokenKey,
    settings: &integrations::PlatformSettings,
) -> Result<HttpConnector, ConnectError> {
    let token = key.open(conn.account_id, &conn.base_url, &conn.token_sealed)?;
    Ok(HttpConnector::new(
        &conn.base_url,
        token,
        &conn.platform_account,
        settings.connector(),
    )?)
}

/// What sending one number did.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    /// The platform holds it now under this id.
    Created(String),
    /// The platform refused it; the reason is on the number.
    Refused(String),
    /// The number is no longer one to send (deleted, changed, sent already).
    Skipped,
}

/// Sends one user-created remote extension to the platform and stores the platform's id, or the
/// refusal, each with its `user_number.updated` event. Transient failures come back as errors,
/// for the caller to retry.
pub async fn send(
    db: &impl crate::db::Db,
    connector: &dyn PlatformConnector,
    number: &user_number::Model,
) -> Result<Sent, SendError> {
    if number.origin != NumberOrigin::User || !number.is_remote_extension || number.platform_id.is_some() {
        return Ok(Sent::Skipped);
    }
    let Some(owner) = user::Entity::find_by_id(number.user_id).one(db).await? else {
        return Ok(Sent::Skipped);
    };
    let new = NewPlatformNumber {
        user_ref: owner.extension.clone(),
        number: number.number.clone(),
        label: Some(number.label.clone()),
        ringing: Ringing::sent(number),
    };
    let why = match connector.create(&new).await {
        Ok(Created::New(id)) => {
            return if store(db, number, &id).await? {
                Ok(Sent::Created(id))
            } else {
                // Deleted or changed meanwhile: take back what was created, unless a run
                // linked this very number to it.
                let linked = user_number::Entity::find_by_id(number.id)
                    .one(db)
                    .await?
                    .is_some_and(|n| n.platform_id.as_deref() == Some(id.as_str()));
                if !linked {
                    connector.delete(&id).await?;
                }
                Ok(Sent::Skipped)
            };
        }
        Ok(Created::AlreadyExists) => {
            "the platform holds this number already (409); the next sync run links it if it is this user's".to_owned()
        }
        Err(e) if e.is_transient() => return Err(e.into()),
        Err(e) => e.to_string(),
    };
    refuse(db, number, &why).await?;
    Ok(Sent::Refused(why))
}

/// Stores the platform's id on the number while it is still what was sent (and has no id yet),
/// with its event; false when it changed meanwhile.
async fn store(db: &impl crate::db::Db, number: &user_number::Model, id: &str) -> Result<bool, DbErr> {
    use user_number::Column;
    let txn = crate::db::begin_write(db).await?;
    let stored = user_number::Entity::update_many()
        .col_expr(Column::PlatformId, Expr::value(id.to_owned()))
        .col_expr(Column::PlatformNumber, Expr::value(number.number.clone()))
        .col_expr(Column::PlatformError, Expr::value(Option::<String>::None))
        .col_expr(Column::PlatformLinkedAt, Expr::value(chrono::Utc::now()))
        // The ringing it was sent with is what the platform lists back: no change to import.
        .col_expr(
            Column::PlatformRinging,
            Expr::value(Ringing::record(&Ringing::sent(number))),
        )
        .filter(Column::Id.eq(number.id))
        .filter(Column::Number.eq(number.number.clone()))
        .filter(Column::IsRemoteExtension.eq(true))
        .filter(Column::PlatformId.is_null())
        .exec(&txn)
        .await?;
    if stored.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    record_change(&txn, number, "onPlatform", ev::FieldChange::new(false, true)).await?;
    txn.commit().await?;
    Ok(true)
}

/// Writes the platform's refusal on the number (only while it has no platform id: a refusal that
/// lost a race with an acceptance is not one), with its event.
async fn refuse(db: &impl crate::db::Db, number: &user_number::Model, why: &str) -> Result<(), DbErr> {
    use user_number::Column;
    let txn = crate::db::begin_write(db).await?;
    let written = user_number::Entity::update_many()
        .col_expr(Column::PlatformError, Expr::value(why.to_owned()))
        .filter(Column::Id.eq(number.id))
        .filter(Column::PlatformId.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(Column::PlatformError.ne(why.to_owned()))
                .add(Column::PlatformError.is_null()),
        )
        .exec(&txn)
        .await?;
    if written.rows_affected == 1 {
        let change = ev::FieldChange::new(&number.platform_error, why);
        record_change(&txn, number, "platformError", change).await?;
    }
    txn.commit().await
}

async fn record_change(
    txn: &impl ConnectionTrait,
    number: &user_number::Model,
    field: &str,
    change: ev::FieldChange,
) -> Result<(), DbErr> {
    let entry = crate::service::remote::number_changed(number, field, change);
    crate::service::outbox::record(txn, &super::sync_principal(), entry).await
}

/// Deletes a number on the platform (the user deleted it in Reach, or changed it).
pub async fn withdraw(connector: &dyn PlatformConnector, platform_id: &str) -> Result<(), SendError> {
    match connector.delete(platform_id).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_transient() => Err(e.into()),
        // A refusal will not change by asking again; the number is gone from Reach anyway.
        Err(e) => {
            tracing::warn!(platform_id, error = %e, "the platform refused to delete a remote extension");
            Ok(())
        }
    }
}

/// Why a send did not finish: to be tried again.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// The platform failed in a way that may pass.
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// The account's numbers waiting to be sent, oldest first, after `after`.
pub async fn waiting(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    after: Uuid,
    limit: u64,
) -> Result<Vec<user_number::Model>, DbErr> {
    use sea_orm::{QueryOrder, QuerySelect};
    use user_number::Column;
    user_number::Entity::find()
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::Origin.eq(NumberOrigin::User))
        .filter(Column::IsRemoteExtension.eq(true))
        .filter(Column::PlatformId.is_null())
        .filter(Column::Id.gt(after))
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(db)
        .await
}
