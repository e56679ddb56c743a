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
    let token = key.open(conn.account_id, &conn.token_sealed)?;
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
/// refusal. Transient failures come back as errors, for the caller to retry.
pub async fn send(
    db: &impl ConnectionTrait,
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
    };
    let refused = |why: String| async move {
        user_number::Entity::update_many()
            .col_expr(user_number::Column::PlatformError, Expr::value(why.clone()))
            .filter(user_number::Column::Id.eq(number.id))
            .exec(db)
            .await?;
        Ok::<_, SendError>(Sent::Refused(why))
    };
    match connector.create(&new).await {
        Ok(Created::New(id)) => {
            use user_number::Column;
            // Only while the number is still what was sent.
            let stored = user_number::Entity::update_many()
                .col_expr(Column::PlatformId, Expr::value(id.clone()))
                .col_expr(Column::PlatformNumber, Expr::value(number.number.clone()))
                .col_expr(Column::PlatformError, Expr::value(Option::<String>::None))
                .filter(Column::Id.eq(number.id))
                .filter(Column::Number.eq(number.number.clone()))
                .filter(Column::IsRemoteExtension.eq(true))
                .filter(Column::PlatformId.is_null())
                .exec(db)
                .await;
            match stored {
                Ok(r) if r.rows_affected == 1 => Ok(Sent::Created(id)),
                // Deleted or changed meanwhile (or linked by a run): take back what was created.
                Ok(_) => {
                    let linked = user_number::Entity::find()
                        .filter(Column::AccountId.eq(number.account_id))
                        .filter(Column::PlatformId.eq(id.clone()))
                        .one(db)
                        .await?;
                    if linked.is_none() {
                        connector.delete(&id).await?;
                    }
                    Ok(Sent::Skipped)
                }
                Err(e) => Err(e.into()),
            }
        }
        Ok(Created::AlreadyExists) => {
            refused(
                "the platform holds this number already (409); the next sync run links it if it is this user's".into(),
            )
            .await
        }
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => refused(e.to_string()).await,
    }
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

/// A number whose identity changed (number, or no longer a remote extension) while the platform
/// holds the old one: deletes it there and forgets the id, so it can be sent anew.
pub async fn take_back_if_changed(
    db: &impl ConnectionTrait,
    connector: &dyn PlatformConnector,
    number: &user_number::Model,
) -> Result<Option<user_number::Model>, SendError> {
    let Some(pid) = &number.platform_id else {
        return Ok(Some(number.clone()));
    };
    let same = number.is_remote_extension && number.platform_number.as_deref() == Some(number.number.as_str());
    if same || number.origin != NumberOrigin::User {
        return Ok(Some(number.clone()));
    }
    withdraw(connector, pid).await?;
    use user_number::Column;
    user_number::Entity::update_many()
        .col_expr(Column::PlatformId, Expr::value(Option::<String>::None))
        .col_expr(Column::PlatformNumber, Expr::value(Option::<String>::None))
        .filter(Column::Id.eq(number.id))
        .filter(Column::PlatformId.eq(pid.clone()))
        .exec(db)
        .await?;
    Ok(user_number::Entity::find_by_id(number.id).one(db).await?)
}
