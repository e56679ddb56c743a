//! What a subscriber receives: one committed change ([`Delivery`]) and what its subscribers
//! make of it and share ([`Shared`]).

use std::{
    any::Any,
    sync::{Arc, Mutex},
};

use entity::event::{Event, Logged};
use uuid::Uuid;

use super::Objects;

/// One committed change as its subscribers receive it: the event (or, for a change that touched
/// many users at once, its events) and the objects they concern, loaded once for everyone.
#[derive(Debug)]
pub struct Delivery {
    /// The first (usually the only) event of the change.
    pub event: Logged,
    /// The objects the change concerns (the users of a batch).
    pub subjects: Vec<Uuid>,
    /// What the events' subscribers will be shown.
    pub objects: Arc<Objects>,
    /// What its subscribers made of it, for others who would make the same (a parked
    /// subscription's rendered event, `ws::parked`).
    pub shared: Shared,
}

/// What the subscribers of one delivery made of it and share, at most [`Shared::MAX`] things.
#[derive(Default)]
pub struct Shared(Mutex<Vec<Arc<dyn Any + Send + Sync>>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Most things kept per delivery: past that, each subscriber makes its own.
    pub const MAX: usize = 16;

    /// The first thing kept of type `T` that `matches`, else `make()`, kept from now on; `None`
    /// when [`Self::MAX`] things are kept already and none matches.
    pub fn get_or_keep<T: Any + Send + Sync>(
        &self,
        matches: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Option<Arc<T>> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = kept
            .iter()
            .filter_map(|k| k.clone().downcast::<T>().ok())
            .find(|k| matches(k));
        if found.is_some() || kept.len() >= Self::MAX {
            return found;
        }
        let made = Arc::new(make());
        kept.push(made.clone());
        Some(made)
    }
}

impl Delivery {
    /// What happened.
    pub fn kind(&self) -> &Event {
        &self.event.event
    }

    /// A user id named in the event's payload (`userId`), else the event's object.
    pub fn user_id(&self) -> Uuid {
        self.event.user_id()
    }
}
