//! Users on Connect for Mobile: the enable wizard's batch (M7, M8), a changed extension (M9) and
//! disabling (M10). Batches are all-or-nothing and report every bad row with its index.

mod change;
mod enable;

use std::collections::HashMap;

use entity::{mobility_user, user};
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use change::{disable_users, update_user_extension};
pub use enable::enable_users;

use crate::{
    policy::{Access, Only, Principal},
    service::{ErrorCode, ServiceError, ServiceResult, UserError, bulk, directory::scope, error::forbidden_error},
};

/// Most rows one enable or disable batch may carry.
pub const MAX_BATCH: usize = 1000;

/// One row of the enable wizard.
#[derive(Clone, Debug)]
pub struct EnableRow {
    /// The user (`None`: an id that could not be read).
    pub user_id: Option<Uuid>,
    /// The mobility extension to give them.
    pub mobility_extension: String,
}

/// A user on Connect for Mobile.
#[derive(Clone, Debug)]
pub struct Enabled {
    /// The user.
    pub user: user::Model,
    /// Their mobility record.
    pub mobility: mobility_user::Model,
}

fn batch_size(field: &str, n: usize) -> ServiceResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(ServiceError::reject(
            ErrorCode::ValidationFailed,
            &[field],
            format!("must hold 1 to {MAX_BATCH} rows"),
        ));
    }
    Ok(())
}

fn under(field: &str, i: usize) -> Vec<String> {
    vec![field.to_owned(), i.to_string()]
}

/// The user named by row `i` of a batch on `account_id`, if the caller may act on them: a user of
/// another account, or unknown, or one the caller may not even see, is `NOT_FOUND`; one the
/// caller sees but does not cover is `FORBIDDEN`, naming who may `action`.
fn target<'a>(
    p: &Principal,
    account_id: Uuid,
    users: &'a HashMap<Uuid, user::Model>,
    id: Option<Uuid>,
    field: &[&str],
    action: &str,
) -> Result<&'a user::Model, UserError> {
    let user = id
        .and_then(|id| users.get(&id))
        .filter(|u| u.account_id == account_id)
        .ok_or_else(|| UserError::new(ErrorCode::NotFound, field, "no such user in this account"))?;
    let forbidden = |only| forbidden_error(field, only, action);
    match p.admin_on_user(scope(user)) {
        Access::Allowed => Ok(user),
        Access::Forbidden(only) => Err(forbidden(only)),
        // A user the caller sees anyway (a plain user naming themself) may be told why.
        Access::NotFound if p.sees_user(scope(user)) => Err(forbidden(Only::CoveringAdministrators)),
        Access::NotFound => Err(UserError::new(
            ErrorCode::NotFound,
            field,
            "no such user in this account",
        )),
    }
}

/// The mobility records of these users, keyed by user (batch reads for loaders too), in one
/// statement.
pub async fn mobility_of_users(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, mobility_user::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = mobility_user::Entity::find()
        .filter(bulk::uuid_in(
            db.get_database_backend(),
            mobility_user::Column::UserId,
            ids,
        ))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.user_id, m)).collect())
}
