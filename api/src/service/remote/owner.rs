//! The start every create of a user's number or status shares (R12): the user it names, opened
//! and locked in a new write transaction, and the origin the new row takes.

use entity::{NumberOrigin, StatusOrigin};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use super::{Actor, Opened, RemoteSettings, open_user};
use crate::service::GivenId;
use crate::{
    db,
    policy::{Access, Only, Principal},
    service::{ErrorCode, ServiceError, ServiceResult, directory::scope, error::forbidden},
};

/// An origin a create may ask for. Numbers and statuses share two: the user's own (`USER`) and
/// an admin's (`ADMIN`, R12); each says how a create refuses them.
pub(crate) trait Origin: Copy + PartialEq {
    /// The user's own row.
    const USER: Self;
    /// A row an admin covering the user provisions.
    const ADMIN: Self;
    /// The rows `ADMIN` gives, as the refusal of it to a caller who does not cover the user names
    /// them ("only … may add {ADMIN_ROWS}").
    const ADMIN_ROWS: &'static str;
    /// The refusal of `USER` for another user than the caller.
    const NOT_OWN: &'static str;
}

impl Origin for NumberOrigin {
    const USER: Self = NumberOrigin::User;
    const ADMIN: Self = NumberOrigin::Admin;
    const ADMIN_ROWS: &'static str = "admin-provisioned numbers (origin ADMIN) for this user";
    const NOT_OWN: &'static str = "a number added for another user is admin-provisioned (origin ADMIN)";
}

impl Origin for StatusOrigin {
    const USER: Self = StatusOrigin::User;
    const ADMIN: Self = StatusOrigin::Admin;
    const ADMIN_ROWS: &'static str = "admin statuses (origin ADMIN) for this user";
    const NOT_OWN: &'static str = "a status built for another user is an admin status (origin ADMIN)";
}

/// A user opened for a create: the create's transaction, the user, and the new row's origin.
pub(crate) struct Owner<O> {
    /// The create's write transaction; the user's record is locked in it.
    pub(crate) txn: DatabaseTransaction,
    /// The user the row is created for.
    pub(crate) opened: Opened,
    /// The origin the new row takes.
    pub(crate) origin: O,
}

/// The user a create names: `None` is the caller (Support must name one); an id that does not
/// decode is answered as unknown by [`open_user`].
pub(super) fn named_or_caller(p: &Principal, user_id: Option<GivenId>) -> ServiceResult<Option<Uuid>> {
    match user_id {
        Some(id) => Ok(id.key()),
        None => p.user().map(|u| Some(u.user_id)).ok_or_else(|| {
            ServiceError::reject(ErrorCode::ValidationFailed, &["userId"], "Support must name the user")
        }),
    }
}

/// Opens the user a create names (`user_id` `None`: the caller) in a new write transaction, as
/// [`open_user`] does for the user themself or an admin covering them, and settles the new row's
/// origin: the one `asked`, or by default `USER` for oneself and `ADMIN` for another user. `ADMIN`
/// needs an admin covering the user (R12); `USER` is only for oneself. Any other origin a kind
/// of row has is the caller's to check.
pub(crate) async fn open_for_create<O: Origin>(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<GivenId>,
    asked: Option<O>,
) -> ServiceResult<Owner<O>> {
    let user_id = named_or_caller(p, user_id)?;
    let txn = db::begin_write(db).await?;
    let opened = open_user(
        &txn,
        p,
        cfg,
        user_id,
        &["userId"],
        Actor::SelfOrAdmin,
        ("user", "add numbers and statuses for this user"),
    )
    .await?;
    let admin = p.admin_on_user(scope(&opened.user)) == Access::Allowed;
    let origin = asked.unwrap_or(if opened.is_self { O::USER } else { O::ADMIN });
    if origin == O::ADMIN && !admin {
        let action = format!("add {}", O::ADMIN_ROWS);
        return Err(forbidden(&["origin"], Only::CoveringAdministrators, &action));
    }
    if origin == O::USER && !opened.is_self {
        return Err(ServiceError::reject(
            ErrorCode::ValidationFailed,
            &["origin"],
            O::NOT_OWN,
        ));
    }
    Ok(Owner { txn, opened, origin })
}
