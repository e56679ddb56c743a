//! My Numbers: adding, changing and deleting a user's numbers (R2–R6, R11, R12), and the entry
//! point the platform sync uses to provision numbers (origin `PLATFORM`).

mod change;
mod create;
mod events;
mod ringing;

use entity::{NumberOrigin, client_profile, dynamic_status, user_number};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

pub use change::{delete_number, update_number};
pub use create::{create_number, provision_platform_number};
pub(crate) use events::{number_changed, number_created, number_deleted, number_updated};
pub(crate) use ringing::Ringing;
pub use ringing::RingingChanges;

use super::{Opened, reads};
use crate::service::{ErrorCode, ServiceError, ServiceResult, UserError, error::unique_violation, validate};

/// A number to add.
#[derive(Clone, Debug)]
pub struct NumberInput {
    /// Label; admin-provisioned numbers default to the prefix and the number (R5).
    pub label: Option<String>,
    /// The number, exactly as it should be stored.
    pub number: String,
    /// Whether it is a remote extension.
    pub is_remote_extension: bool,
    /// Call through on (R11).
    pub call_through: bool,
    /// `USER` or `ADMIN`; by default `USER` for oneself and `ADMIN` for another user.
    pub origin: Option<NumberOrigin>,
    /// How it rings as a remote extension (issue 21 §3); left out, the defaults.
    pub ringing: RingingChanges,
}

/// Changes to a number; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct NumberChanges {
    /// New label.
    pub label: Option<String>,
    /// New number (unlocked numbers only).
    pub number: Option<String>,
    /// New remote-extension flag (unlocked numbers only).
    pub is_remote_extension: Option<bool>,
    /// Call through on or off.
    pub call_through: Option<bool>,
    /// How it rings as a remote extension (issue 21 §3).
    pub ringing: RingingChanges,
}

fn reject(code: ErrorCode, field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::reject(code, &[field], message)
}

/// A unique violation on `user_number` as the business failure it stands for (R3, R4).
fn conflict(err: sea_orm::DbErr) -> ServiceError {
    match unique_violation(&err) {
        Some(msg) if msg.contains("remote_number") => reject(
            ErrorCode::NumberInUseElsewhere,
            "number",
            "this remote extension belongs to another user",
        ),
        Some(msg) if msg.contains("label") => reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ),
        Some(_) => reject(ErrorCode::DuplicateNumber, "number", "the user has this number already"),
        None => err.into(),
    }
}

/// The user's numbers and statuses, read under the user's lock.
async fn user_rows(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ServiceResult<(Vec<user_number::Model>, Vec<dynamic_status::Model>)> {
    let numbers = reads::numbers_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    let statuses = reads::statuses_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok((numbers, statuses))
}

/// Whether the user's client profile allows call through.
async fn profile_allows_call_through(txn: &impl ConnectionTrait, o: &Opened) -> ServiceResult<bool> {
    let id = reads::profile_id(Some(&o.remote), o.account.id);
    Ok(client_profile::Entity::find_by_id(id)
        .one(txn)
        .await?
        .is_some_and(|p| p.call_through_allowed))
}

/// R3: the number checked against the flag it will carry.
fn check_number(o: &Opened, raw: &str, is_remote_extension: bool) -> Result<String, UserError> {
    if is_remote_extension {
        validate::remote_extension_number(&["number"], raw, &o.account.destination_codes())
    } else {
        validate::user_number(&["number"], raw)
    }
}

/// R4: a remote-extension number held by another user.
async fn held_elsewhere(txn: &impl ConnectionTrait, user_id: Uuid, number: &str) -> ServiceResult<()> {
    let other = user_number::Entity::find()
        .filter(user_number::Column::RemoteNumber.eq(number))
        .filter(user_number::Column::UserId.ne(user_id))
        .one(txn)
        .await?;
    match other {
        Some(_) => Err(reject(
            ErrorCode::NumberInUseElsewhere,
            "number",
            "this remote extension belongs to another user",
        )),
        None => Ok(()),
    }
}

fn label_taken(numbers: &[user_number::Model], label: &str, except: Option<Uuid>) -> bool {
    let key = label.to_lowercase();
    numbers.iter().any(|n| Some(n.id) != except && n.label_key == key)
}

/// R11: call through only on a remote extension, and only where the client profile allows it.
async fn call_through_allowed(txn: &impl ConnectionTrait, o: &Opened, is_remote_extension: bool) -> ServiceResult<()> {
    if !is_remote_extension {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "callThrough",
            "call through works only on a remote extension",
        ));
    }
    if !profile_allows_call_through(txn, o).await? {
        return Err(reject(
            ErrorCode::CallThroughNotAllowed,
            "callThrough",
            "the user's client profile does not allow call through",
        ));
    }
    Ok(())
}
