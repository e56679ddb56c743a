//! The routing fields of a dynamic status and which target kinds fit each (SPEC §4 leaves it to
//! us; docs/behaviour.md lists the same table):
//!
//! | field | kinds |
//! |---|---|
//! | `callUsing` (the phone that places calls) | `DESK_PHONE`, `SOFTPHONE`, `PBX_DEFAULT`, `NUMBER` (a remote extension: the PBX recognises the caller by it) |
//! | `sendCallsTo` (where calls ring) | `DESK_PHONE`, `SOFTPHONE`, `ALL_DEVICES`, `VOICEMAIL`, `PBX_DEFAULT`, `NUMBER` |
//! | `whenBusy`, `ifNoAnswer` (diversions) | `VOICEMAIL`, `PBX_DEFAULT`, `NO_DIVERSION`, `NUMBER` |

use std::collections::HashMap;

use entity::{TargetKind, user_number};
use uuid::Uuid;

use crate::service::GivenId;
use crate::service::{ErrorCode, UserError};

/// The routing fields, by their API names, in the order used throughout (`[callUsing, …]`).
pub const FIELDS: [&str; 4] = entity::enums::ROUTING_FIELDS;

/// A routing target as given: a kind and, for `NUMBER`, a number id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetInput {
    /// The kind.
    pub kind: TargetKind,
    /// The number, for `NUMBER`.
    pub number_id: Option<GivenId>,
}

/// A checked target: the kind and, for `NUMBER`, the number's key.
pub type Target = (TargetKind, Option<Uuid>);

/// Checks `input` for routing field `field` against the user's own numbers.
pub fn check(
    field: usize,
    input: TargetInput,
    numbers: &HashMap<Uuid, user_number::Model>,
) -> Result<Target, UserError> {
    let path = [FIELDS[field]];
    if !input.kind.fits(field) {
        return Err(UserError::new(
            ErrorCode::ValidationFailed,
            &[FIELDS[field], "kind"],
            format!("this kind does not fit `{}`", FIELDS[field]),
        ));
    }
    if input.kind != TargetKind::Number {
        return match input.number_id {
            Some(_) => Err(UserError::new(
                ErrorCode::ValidationFailed,
                &[path[0], "numberId"],
                "a number is given only with kind NUMBER",
            )),
            None => Ok((input.kind, None)),
        };
    }
    let number = input
        .number_id
        .and_then(GivenId::key)
        .and_then(|id| numbers.get(&id))
        .ok_or_else(|| {
            UserError::new(
                ErrorCode::NotFound,
                &[path[0], "numberId"],
                "no such number of this user",
            )
        })?;
    if field == 0 && !number.is_remote_extension {
        return Err(UserError::new(
            ErrorCode::ValidationFailed,
            &[path[0], "numberId"],
            "calls can be placed only with a remote extension",
        ));
    }
    Ok((TargetKind::Number, Some(number.id)))
}
