//! Dynamic statuses (R7–R10): building, changing, deleting and activating them. The active
//! status lives in the user's locked `remote_user` row, so switching it is one atomic update and
//! concurrent activations leave exactly one active status (R9).

mod change;
mod create;

use std::collections::HashMap;

use entity::{Presence, StatusOrigin, dynamic_status, user_number};
use sea_orm::{ActiveEnum, ConnectionTrait, Set};
use uuid::Uuid;

pub use change::{activate_status, delete_status, update_status};
pub(super) use change::{open_status, writable};
pub use create::create_status;
pub(super) use create::profile;

use super::{
    reads,
    targets::{Target, TargetInput},
};
use crate::service::{Change, GivenId};
use crate::service::{
    ErrorCode, ServiceError, ServiceResult,
    error::unique_violation,
    outbox::{Entry, Event, ev},
    validate,
};

/// A status to build.
#[derive(Clone, Debug)]
pub struct StatusInput {
    /// Name (1–64 characters, unique per user ignoring case).
    pub name: String,
    /// Presence.
    pub presence: Presence,
    /// Optional message (at most 200 characters).
    pub message: Option<String>,
    /// One of the user's remote extensions.
    pub remote_extension_id: Option<GivenId>,
    /// `[callUsing, sendCallsTo, whenBusy, ifNoAnswer]`; `None` takes the default (R8).
    pub targets: [Option<TargetInput>; 4],
    /// `USER` or `ADMIN`; by default `USER` for oneself and `ADMIN` for another user.
    pub origin: Option<StatusOrigin>,
}

/// Changes to a status; `None`/`Keep` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct StatusChanges {
    /// The `version` the change is based on; a mismatch is `STALE_VERSION`.
    pub expected_version: Option<i64>,
    /// New name.
    pub name: Option<String>,
    /// New presence.
    pub presence: Option<Presence>,
    /// New message.
    pub message: Change<String>,
    /// New remote extension.
    pub remote_extension_id: Change<GivenId>,
    /// New routing targets.
    pub targets: [Option<TargetInput>; 4],
}

fn reject(code: ErrorCode, field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::reject(code, &[field], message)
}

fn target((kind, number): Target) -> ev::Target {
    ev::Target {
        kind: kind.to_value(),
        number_id: number,
    }
}

fn targets_of(s: &dynamic_status::Model) -> [Target; 4] {
    [
        (s.call_using_kind, s.call_using_number_id),
        (s.send_calls_to_kind, s.send_calls_to_number_id),
        (s.when_busy_kind, s.when_busy_number_id),
        (s.if_no_answer_kind, s.if_no_answer_number_id),
    ]
}

fn set_targets(am: &mut dynamic_status::ActiveModel, t: [Target; 4]) {
    am.call_using_kind = Set(t[0].0);
    am.call_using_number_id = Set(t[0].1);
    am.send_calls_to_kind = Set(t[1].0);
    am.send_calls_to_number_id = Set(t[1].1);
    am.when_busy_kind = Set(t[2].0);
    am.when_busy_number_id = Set(t[2].1);
    am.if_no_answer_kind = Set(t[3].0);
    am.if_no_answer_number_id = Set(t[3].1);
}

/// `dynamic_status.created` of `s`: what the status holds.
pub(crate) fn status_created(s: &dynamic_status::Model) -> Entry {
    let [call_using, send_calls_to, when_busy, if_no_answer] = targets_of(s).map(target);
    Event::DynamicStatusCreated(ev::StatusState {
        user_id: s.user_id,
        name: s.name.clone(),
        presence: s.presence.to_value(),
        message: s.message.clone(),
        origin: s.origin.to_value(),
        remote_extension_id: s.remote_extension_id,
        routing: ev::Routing {
            call_using,
            send_calls_to,
            when_busy,
            if_no_answer,
        },
        version: s.version,
    })
    .about(s.account_id, s.id)
}

fn conflict(err: sea_orm::DbErr) -> ServiceError {
    match unique_violation(&err) {
        Some(_) => reject(
            ErrorCode::ValidationFailed,
            "name",
            "the user has a status of this name",
        ),
        None => err.into(),
    }
}

fn message(raw: &str) -> ServiceResult<Option<String>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some(validate::name(&["message"], value, 200)?))
}

/// R7: the status's remote extension is one of the same user's remote-extension numbers.
fn remote_extension(numbers: &HashMap<Uuid, user_number::Model>, id: Option<Uuid>) -> ServiceResult<Uuid> {
    let number = id
        .and_then(|id| numbers.get(&id))
        .ok_or_else(|| reject(ErrorCode::NotFound, "remoteExtensionId", "no such number of this user"))?;
    if !number.is_remote_extension {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "remoteExtensionId",
            "this number is not a remote extension",
        ));
    }
    Ok(number.id)
}

/// The user's numbers (by id) and statuses, read under the user's lock.
async fn user_rows(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ServiceResult<(HashMap<Uuid, user_number::Model>, Vec<dynamic_status::Model>)> {
    let numbers = reads::numbers_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let statuses = reads::statuses_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok((numbers, statuses))
}

fn name_taken(statuses: &[dynamic_status::Model], name: &str, except: Option<Uuid>) -> bool {
    let key = name.to_lowercase();
    statuses.iter().any(|s| Some(s.id) != except && s.name_key == key)
}
