//! How inputs say "leave it", "clear it" and "this id": one patch type for every update, and one
//! id type for every id a client gives that may not decode.

use uuid::Uuid;

/// A change to an optional field: leave it, clear it, or set it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Leave as it is.
    #[default]
    Keep,
    /// Clear it.
    Clear,
    /// Set it.
    Set(T),
}

impl<T> Change<T> {
    /// The value after the change, from the value before.
    pub fn applied_to(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(v) => Some(v),
        }
    }

    /// The change with its new value mapped by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Change<U> {
        match self {
            Self::Keep => Change::Keep,
            Self::Clear => Change::Clear,
            Self::Set(v) => Change::Set(f(v)),
        }
    }
}

/// An id a client gave: the key it names, or an id that does not decode (of another kind, or no
/// id at all), which names nothing and is answered like an unknown object (T1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GivenId {
    /// The key it names.
    Key(Uuid),
    /// It does not decode.
    Unreadable,
}

impl GivenId {
    /// The key, if it decoded.
    pub fn key(self) -> Option<Uuid> {
        match self {
            Self::Key(id) => Some(id),
            Self::Unreadable => None,
        }
    }
}

impl From<Option<Uuid>> for GivenId {
    fn from(decoded: Option<Uuid>) -> Self {
        decoded.map_or(Self::Unreadable, Self::Key)
    }
}
