//! The outbox events of a user's numbers.

use entity::user_number;

use crate::service::outbox::{Entry, Event, ev};

/// `user_number.created` of `n`.
pub(crate) fn number_created(n: &user_number::Model) -> Entry {
    Event::UserNumberCreated(ev::NumberCreated {
        user_id: n.user_id,
        label: n.label.clone(),
        number: n.number.clone(),
        is_remote_extension: n.is_remote_extension,
        origin: sea_orm::ActiveEnum::to_value(&n.origin),
        call_through: n.call_through,
        ring_delay_seconds: n.is_remote_extension.then_some(n.ring_delay_seconds),
        answer_too_soon_ms: n.is_remote_extension.then_some(n.answer_too_soon_ms),
        answer_too_late_ms: n.is_remote_extension.then_some(n.answer_too_late_ms),
        require_keypress: n.is_remote_extension.then_some(n.require_keypress),
    })
    .about(n.account_id, n.id)
}

/// `user_number.updated` of `n` with its `changes`.
pub(crate) fn number_updated(n: &user_number::Model, changes: ev::Changes) -> Entry {
    Event::UserNumberUpdated(ev::UserChanged {
        user_id: n.user_id,
        changes,
    })
    .about(n.account_id, n.id)
}

/// `user_number.updated` of `n` with one changed field.
pub(crate) fn number_changed(n: &user_number::Model, field: &str, change: ev::FieldChange) -> Entry {
    number_updated(n, ev::Changes::from([(field.to_owned(), change)]))
}

/// `user_number.deleted` of `n`: its platform id lets the platform sync delete it there too
/// (SPEC E3).
pub(crate) fn number_deleted(n: &user_number::Model) -> Entry {
    Event::UserNumberDeleted(ev::NumberDeleted {
        user_id: n.user_id,
        number: n.number.clone(),
        origin: sea_orm::ActiveEnum::to_value(&n.origin),
        platform_id: n.platform_id.clone(),
    })
    .about(n.account_id, n.id)
}
