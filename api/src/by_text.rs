//! Values kept by a text key, at most a fixed number; when full, emptied, to fill again with
//! what is in use (so a stream of ever-new keys costs no memory, only the work the value saves).
//! Clones share the map. Used for what a token's signature says (`auth::cache::Verified`) and for
//! parsed documents (`graphql::documents`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// Values by text, at most `max` of them.
pub struct ByText<T> {
    max: usize,
    kept: Arc<Mutex<HashMap<String, Arc<T>>>>,
}

impl<T> Clone for ByText<T> {
    fn clone(&self) -> Self {
        Self {
            max: self.max,
            kept: self.kept.clone(),
        }
    }
}

impl<T> std::fmt::Debug for ByText<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByText").field("max", &self.max).finish_non_exhaustive()
    }
}

impl<T> ByText<T> {
    /// An empty map keeping at most `max` values.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            kept: Arc::default(),
        }
    }

    /// The value kept under `key`.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        self.lock().get(key).cloned()
    }

    /// Keeps `value` under `key`, emptying the map first when it is full.
    pub fn keep(&self, key: &str, value: Arc<T>) {
        let mut kept = self.lock();
        if kept.len() >= self.max && !kept.contains_key(key) {
            kept.clear();
        }
        kept.insert(key.to_owned(), value);
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<T>>> {
        // Entries are only inserted whole or dropped all at once: a panic elsewhere cannot leave
        // one half written.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keeps_by_text_shares_among_clones_and_empties_when_full() {
        let map = ByText::new(3);
        let other = map.clone();
        map.keep("a", Arc::new(1));
        assert_eq!(other.get("a").map(|v| *v), Some(1));
        map.keep("b", Arc::new(2));
        map.keep("c", Arc::new(3));
        map.keep("a", Arc::new(4));
        assert_eq!((map.len(), map.get("a").map(|v| *v)), (3, Some(4)), "a key kept again");
        map.keep("d", Arc::new(5));
        assert_eq!(map.len(), 1, "emptied when full");
        assert_eq!(map.get("d").map(|v| *v), Some(5));
        assert!(map.get("b").is_none());
    }
}
