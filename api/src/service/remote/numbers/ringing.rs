//! Voicemail-safe ringing on a remote extension (issue 21 §3): a delay before the platform rings
//! it, an answer too soon (the mobile's own voicemail picking up at once) or too late (ringing
//! stops before the voicemail would answer), and a key press before the call connects.

use entity::{NumberOrigin, user_number};
use sea_orm::Set;

use super::reject;
use crate::{
    policy::Only,
    service::{ErrorCode, ServiceError, ServiceResult, outbox::ev},
};

/// Longest delay before ringing, in seconds.
pub const MAX_RING_DELAY_SECONDS: i32 = 30;
/// Longest "answer too soon", in milliseconds.
pub const MAX_ANSWER_TOO_SOON_MS: i32 = 10_000;
/// Longest "answer too late", in milliseconds (0 switches it off).
pub const MAX_ANSWER_TOO_LATE_MS: i32 = 300_000;

/// Changes to a number's ringing; `None` leaves a field as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingingChanges {
    /// Seconds before the platform rings the number.
    pub ring_delay_seconds: Option<i32>,
    /// An answer sooner than this (ms) is not taken.
    pub answer_too_soon_ms: Option<i32>,
    /// Ringing stops after this (ms); 0: never.
    pub answer_too_late_ms: Option<i32>,
    /// The answer must press a key.
    pub require_keypress: Option<bool>,
}

impl RingingChanges {
    /// The GraphQL name of the first field given, if any.
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.ring_delay_seconds.is_some(), "ringDelaySeconds"),
            (self.answer_too_soon_ms.is_some(), "answerTooSoonMs"),
            (self.answer_too_late_ms.is_some(), "answerTooLateMs"),
            (self.require_keypress.is_some(), "requireKeypress"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// A number's ringing as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ringing {
    ring_delay_seconds: i32,
    answer_too_soon_ms: i32,
    answer_too_late_ms: i32,
    require_keypress: bool,
}

impl Ringing {
    /// What `n` holds.
    pub(crate) fn of(n: &user_number::Model) -> Self {
        Self {
            ring_delay_seconds: n.ring_delay_seconds,
            answer_too_soon_ms: n.answer_too_soon_ms,
            answer_too_late_ms: n.answer_too_late_ms,
            require_keypress: n.require_keypress,
        }
    }

    /// A new number's (the columns' defaults).
    pub(crate) const DEFAULT: Self = Self {
        ring_delay_seconds: user_number::DEFAULT_RING_DELAY_SECONDS,
        answer_too_soon_ms: user_number::DEFAULT_ANSWER_TOO_SOON_MS,
        answer_too_late_ms: user_number::DEFAULT_ANSWER_TOO_LATE_MS,
        require_keypress: false,
    };

    /// `current` with `changes`: see [`Ringing::checked`].
    pub(super) fn changed(
        current: &user_number::Model,
        is_remote_extension: bool,
        changes: RingingChanges,
        admin: bool,
    ) -> ServiceResult<Self> {
        Self::of(current).checked(current.origin, is_remote_extension, changes, admin)
    }

    /// These settings, of a number of `origin`, with `changes`, checked: only a remote extension
    /// rings this way; on a number an administrator or the platform provisioned only an
    /// administrator covering the user (`admin`) sets them; each value within its range, and
    /// "too late", when on, after "too soon".
    pub(super) fn checked(
        self,
        origin: NumberOrigin,
        is_remote_extension: bool,
        changes: RingingChanges,
        admin: bool,
    ) -> ServiceResult<Self> {
        let was = self;
        let Some(first) = changes.first_given() else {
            return Ok(was);
        };
        if !is_remote_extension {
            return Err(reject(
                ErrorCode::ValidationFailed,
                first,
                "only a remote extension has ringing settings; make it one first",
            ));
        }
        if origin != NumberOrigin::User && !admin {
            let only = Only::CoveringAdministrators;
            return Err(reject(
                ErrorCode::Forbidden,
                first,
                format!("this number was provisioned for you; only {only} may change how it rings"),
            ));
        }
        let next = Self {
            ring_delay_seconds: changes.ring_delay_seconds.unwrap_or(was.ring_delay_seconds),
            answer_too_soon_ms: changes.answer_too_soon_ms.unwrap_or(was.answer_too_soon_ms),
            answer_too_late_ms: changes.answer_too_late_ms.unwrap_or(was.answer_too_late_ms),
            require_keypress: changes.require_keypress.unwrap_or(was.require_keypress),
        };
        if !(0..=MAX_RING_DELAY_SECONDS).contains(&next.ring_delay_seconds) {
            return Err(reject(
                ErrorCode::ValidationFailed,
                "ringDelaySeconds",
                format!("the delay before ringing is 0 to {MAX_RING_DELAY_SECONDS} seconds"),
            ));
        }
        if !(0..=MAX_ANSWER_TOO_SOON_MS).contains(&next.answer_too_soon_ms) {
            return Err(reject(
                ErrorCode::ValidationFailed,
                "answerTooSoonMs",
                format!("\"answer too soon\" is 0 to {MAX_ANSWER_TOO_SOON_MS} milliseconds"),
            ));
        }
        let late = next.answer_too_late_ms;
        if late != 0 && !(next.answer_too_soon_ms < late && late <= MAX_ANSWER_TOO_LATE_MS) {
            // The field the request gave, or the one it left that no longer fits.
            let field = if changes.answer_too_late_ms.is_some() || changes.answer_too_soon_ms.is_none() {
                "answerTooLateMs"
            } else {
                "answerTooSoonMs"
            };
            return Err(reject(
                ErrorCode::ValidationFailed,
                field,
                format!(
                    "\"answer too late\" is 0 (off) or more than \"answer too soon\" ({} ms) and at most \
                     {MAX_ANSWER_TOO_LATE_MS} milliseconds",
                    next.answer_too_soon_ms
                ),
            ));
        }
        Ok(next)
    }

    /// Sets these settings on a new number's `am`.
    pub(super) fn set(self, am: &mut user_number::ActiveModel) {
        am.ring_delay_seconds = Set(self.ring_delay_seconds);
        am.answer_too_soon_ms = Set(self.answer_too_soon_ms);
        am.answer_too_late_ms = Set(self.answer_too_late_ms);
        am.require_keypress = Set(self.require_keypress);
    }

    /// Sets what differs from `current` on `am` and lists it in `changed`, as the event names it.
    pub(crate) fn apply(
        self,
        current: &user_number::Model,
        am: &mut user_number::ActiveModel,
        changed: &mut ev::Changes,
    ) {
        let was = Self::of(current);
        let mut int = |name: &str, old: i32, new: i32| {
            if old != new {
                changed.insert(name.into(), ev::FieldChange::new(old, new));
            }
            new
        };
        am.ring_delay_seconds = Set(int("ringDelaySeconds", was.ring_delay_seconds, self.ring_delay_seconds));
        am.answer_too_soon_ms = Set(int("answerTooSoonMs", was.answer_too_soon_ms, self.answer_too_soon_ms));
        am.answer_too_late_ms = Set(int("answerTooLateMs", was.answer_too_late_ms, self.answer_too_late_ms));
        if was.require_keypress != self.require_keypress {
            changed.insert(
                "requireKeypress".into(),
                ev::FieldChange::new(was.require_keypress, self.require_keypress),
            );
        }
        am.require_keypress = Set(self.require_keypress);
    }
}

/// A platform number's ringing after a sync read what the platform says of it.
#[derive(Debug)]
pub(crate) struct Imported {
    /// The ringing to keep.
    pub(crate) ringing: Ringing,
    /// What the platform said, to keep as `platform_ringing`.
    pub(crate) said: Option<String>,
    /// Why the platform's values were not taken (out of range), for the run's notes.
    pub(crate) refused: Option<String>,
}

impl Ringing {
    /// This ringing of a platform number after the platform said `said`, having said `last`
    /// before (`platform_ringing`): the platform's values when they are new since `last` and fit
    /// the ranges; as it is when the platform says nothing or what it said before (an
    /// administrator's change in Reach holds until the platform's values change).
    pub(crate) fn imported(self, last: Option<&str>, said: &integrations::platform::Ringing) -> Imported {
        let changes = RingingChanges {
            ring_delay_seconds: said.ring_delay_seconds,
            answer_too_soon_ms: said.answer_too_soon_ms,
            answer_too_late_ms: said.answer_too_late_ms,
            require_keypress: said.require_keypress,
        };
        let unchanged = |said| Imported {
            ringing: self,
            said,
            refused: None,
        };
        if changes.first_given().is_none() {
            return unchanged(last.map(str::to_owned));
        }
        let record = Self::record(said);
        if record.as_deref() == last {
            return unchanged(record);
        }
        match self.checked(NumberOrigin::Platform, true, changes, true) {
            Ok(ringing) => Imported {
                ringing,
                said: record,
                refused: None,
            },
            Err(e) => Imported {
                ringing: self,
                said: record,
                refused: Some(match e {
                    ServiceError::Rejected(errors) => {
                        errors.into_iter().map(|e| e.message).collect::<Vec<_>>().join("; ")
                    }
                    other => other.to_string(),
                }),
            },
        }
    }

    /// What the sync keeps of what the platform says (or was sent): `platform_ringing`.
    pub(crate) fn record(said: &integrations::platform::Ringing) -> Option<String> {
        serde_json::to_string(said).ok()
    }

    /// The contract's form of this ringing, all four given (what an export sends).
    pub(crate) fn sent(n: &user_number::Model) -> integrations::platform::Ringing {
        integrations::platform::Ringing {
            ring_delay_seconds: Some(n.ring_delay_seconds),
            answer_too_soon_ms: Some(n.answer_too_soon_ms),
            answer_too_late_ms: Some(n.answer_too_late_ms),
            require_keypress: Some(n.require_keypress),
        }
    }

    /// These values on a new number's model.
    pub(crate) fn on(self, n: &mut user_number::Model) {
        n.ring_delay_seconds = self.ring_delay_seconds;
        n.answer_too_soon_ms = self.answer_too_soon_ms;
        n.answer_too_late_ms = self.answer_too_late_ms;
        n.require_keypress = self.require_keypress;
    }
}
