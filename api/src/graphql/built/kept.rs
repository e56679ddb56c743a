//! Built pages' statements kept by their shape (issue 17). Building a page's statement with
//! sea-query (the listing's select, the keyset page, the count, the JSON around them) and
//! rendering it to text cost more than a short page's own run on the database. Clients send the
//! same few selections over and over, so the text is kept: the next page of the same shape takes
//! the kept text and binds its own values, and builds nothing.
//!
//! A shape is what decides the statement's text: the listing and what the caller's visibility,
//! search and filters add to its select ([`Shape`], written beside each select), the page
//! request (how many, which way, which cursors), the plan (what the nodes show, under which
//! keys, and whether it counts) and the database. Everything else a statement holds is a value
//! bound to it: the [`Shape`]'s values and the cursors' (its *slots*), or a constant of the
//! listing.
//!
//! A kept text is trusted only once a second page of its shape was built exactly as the text
//! renders it, each of whose slots holds another value than the first one's, or a UUID: a
//! constant of a listing may equal a text slot's value (a search, a cursor's key) on one page
//! and not on the next, but no listing binds a constant UUID, and the keys a slot may hold are
//! the server's own (an account's, a user's) or a cursor's. Until then each page is built and
//! compared. A text that renders another statement than the one built is never
//! used (and fails the tests: debug builds check every kept text against a fresh build). A page
//! whose slots cannot be told apart (two holding one value) is built and keeps nothing.

use std::sync::{Arc, LazyLock};

use sea_orm::{DbBackend, Statement, Value, Values};

use crate::{
    by_text::ByText,
    service::pagination::{PageRequest, Shape},
};

/// Most shapes kept at once.
const MAX_SHAPES: usize = 1024;

/// The statements kept, by their shape's key. Their text depends on the code and the database
/// alone, not on a server's data: one map serves the process.
static KEPT: LazyLock<ByText<Kept>> = LazyLock::new(|| ByText::new(MAX_SHAPES));

/// A kept statement: its text and, for each value it binds, a constant or a slot.
#[derive(Debug)]
pub(super) struct Kept {
    sql: String,
    parts: Vec<Part>,
    /// Whether the statement reads the page (or only counts).
    pub(super) pages: bool,
    state: State,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Constant(Value),
    Slot(usize),
}

#[derive(Debug)]
enum State {
    /// Made from a page whose slots held these values; not used yet.
    Candidate(Vec<Value>),
    /// Confirmed by a second page.
    Trusted,
    /// Rendered another statement than the one built: never used.
    Never,
}

/// The slots of a page of `shape` as `req` asks: the shape's values, then the cursors' keys and
/// ids.
pub(super) fn slots(shape: &Shape, req: &PageRequest) -> Vec<Value> {
    let mut slots = shape.values.clone();
    for cursor in [&req.after, &req.before].into_iter().flatten() {
        slots.push(Value::from(cursor.key.clone()));
        slots.push(Value::from(cursor.id));
    }
    slots
}

/// The key a page's statement is kept by: the database, the shape's listing and variant, the
/// page request's form, and what the plan (written by the caller as `plan`) puts in the text.
pub(super) fn key(backend: DbBackend, shape: &Shape, req: &PageRequest, plan: &str) -> String {
    // The listing and the variant are the code's own words; the plan's keys are GraphQL names;
    // the separators below appear in none of them. Written piece by piece: it runs at every
    // built page, and `format!` cost several times what pushing the pieces does (issue 17).
    let mut key = String::with_capacity(64 + shape.listing.len() + shape.variant.len() + plan.len());
    key.push_str(match backend {
        DbBackend::Sqlite => "sqlite|",
        DbBackend::Postgres => "postgres|",
        _ => "other|",
    });
    let mut number = itoa::Buffer::new();
    for part in [shape.listing, &shape.variant] {
        key.push_str(part);
        key.push('|');
    }
    for n in [req.first, req.last] {
        key.push_str(n.map_or("-", |n| number.format(n)));
        key.push('|');
    }
    for cursor in [req.after.is_some(), req.before.is_some()] {
        key.push_str(if cursor { "1|" } else { "0|" });
    }
    key.push_str(plan);
    key
}

/// The statement kept under `key`, when it is trusted.
pub(super) fn trusted(key: &str) -> Option<Arc<Kept>> {
    KEPT.get(key).filter(|k| matches!(k.state, State::Trusted))
}

impl Kept {
    /// The kept text with `slots` bound.
    pub(super) fn render(&self, backend: DbBackend, slots: &[Value]) -> Option<Statement> {
        let values = (self.parts.iter())
            .map(|p| match p {
                Part::Constant(v) => Some(v.clone()),
                Part::Slot(i) => slots.get(*i).cloned(),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Statement {
            sql: self.sql.clone(),
            values: Some(Values(values)),
            db_backend: backend,
        })
    }
}

/// What `built`, the statement a page of `key` was built into, teaches the kept statements.
/// `slots` are the page's, `pages` whether it reads the page.
pub(super) fn learn(key: &str, built: &Statement, slots: &[Value], pages: bool) {
    let kept = KEPT.get(key);
    let next = match kept.as_deref() {
        None => make(built, slots).map(|parts| Kept {
            sql: built.sql.clone(),
            parts,
            pages,
            state: State::Candidate(slots.to_vec()),
        }),
        Some(
            k @ Kept {
                state: State::Candidate(first),
                ..
            },
        ) => {
            if !same(k, built, slots, pages) {
                Some(never(k, built))
            } else if first.len() == slots.len() && first.iter().zip(slots).all(|(a, b)| a != b || is_uuid(a)) {
                Some(Kept {
                    sql: k.sql.clone(),
                    parts: k.parts.clone(),
                    pages,
                    state: State::Trusted,
                })
            } else {
                None
            }
        }
        Some(
            k @ Kept {
                state: State::Trusted, ..
            },
        ) => (!same(k, built, slots, pages)).then(|| never(k, built)),
        Some(Kept {
            state: State::Never, ..
        }) => None,
    };
    if let Some(next) = next {
        KEPT.keep(key, Arc::new(next));
    }
}

/// Whether `value` is a UUID (a key, which no listing binds as a constant).
fn is_uuid(value: &Value) -> bool {
    matches!(value, Value::Uuid(_))
}

/// Whether `kept` renders `built` with `slots`.
fn same(kept: &Kept, built: &Statement, slots: &[Value], pages: bool) -> bool {
    kept.pages == pages
        && kept
            .render(built.db_backend, slots)
            .is_some_and(|r| r.sql == built.sql && r.values == built.values)
}

/// A shape that is not one: its pages differ by more than their slots. A listing's [`Shape`]
/// misses something its select depends on; the tests fail on it.
fn never(kept: &Kept, built: &Statement) -> Kept {
    debug_assert!(
        false,
        "a built page's shape does not decide its statement:\nkept:  {}\nbuilt: {}",
        kept.sql, built.sql
    );
    Kept {
        sql: String::new(),
        parts: Vec::new(),
        pages: kept.pages,
        state: State::Never,
    }
}

/// Each value `statement` binds, as a slot when it is one slot's value or a constant when it is
/// none's; `None` when a value is two slots' (they cannot be told apart).
fn make(statement: &Statement, slots: &[Value]) -> Option<Vec<Part>> {
    let values = statement.values.as_ref().map(|v| v.0.as_slice()).unwrap_or_default();
    let mut parts = Vec::with_capacity(values.len());
    for value in values {
        let mut found = slots.iter().enumerate().filter(|(_, s)| *s == value).map(|(i, _)| i);
        parts.push(match (found.next(), found.next()) {
            (None, _) => Part::Constant(value.clone()),
            (Some(i), None) => Part::Slot(i),
            (Some(_), Some(_)) => return None,
        });
    }
    Some(parts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement {
            sql: sql.into(),
            values: Some(Values(values)),
            db_backend: DbBackend::Sqlite,
        }
    }

    #[test]
    fn a_text_is_used_once_a_page_of_other_values_confirms_it() {
        let key = "test|confirm";
        let sql = "SELECT 1 WHERE a = ? AND b = ? AND c = ?";
        let first = [Value::from("x"), Value::from(7i64)];
        // The constant `true` sits between the slots.
        learn(
            key,
            &statement(sql, vec![first[0].clone(), true.into(), first[1].clone()]),
            &first,
            true,
        );
        assert!(trusted(key).is_none(), "one page is not enough");
        // A page with one slot unchanged confirms nothing yet.
        let half = [Value::from("y"), Value::from(7i64)];
        learn(
            key,
            &statement(sql, vec![half[0].clone(), true.into(), half[1].clone()]),
            &half,
            true,
        );
        assert!(trusted(key).is_none());
        let second = [Value::from("z"), Value::from(8i64)];
        learn(
            key,
            &statement(sql, vec![second[0].clone(), true.into(), second[1].clone()]),
            &second,
            true,
        );
        let kept = trusted(key).unwrap();
        let third = [Value::from("w"), Value::from(9i64)];
        let r = kept.render(DbBackend::Sqlite, &third).unwrap();
        assert_eq!(r.sql, sql);
        assert_eq!(r.values, Some(Values(vec!["w".into(), true.into(), 9i64.into()])));
    }

    #[test]
    fn a_constant_equal_to_a_slot_at_first_is_found_out() {
        let key = "test|coincidence";
        let sql = "SELECT 1 WHERE a = ? AND b = ?";
        // The constant 5 equals the slot's value on the first page: taken for the slot.
        learn(
            key,
            &statement(sql, vec![5i64.into(), 5i64.into()]),
            &[5i64.into()],
            true,
        );
        // The second page shows it is not: the text is never used.
        let second = std::panic::catch_unwind(|| {
            learn(
                key,
                &statement(sql, vec![6i64.into(), 5i64.into()]),
                &[6i64.into()],
                true,
            )
        });
        assert_eq!(second.is_err(), cfg!(debug_assertions), "debug builds say so");
        for n in 7..10i64 {
            let _ = std::panic::catch_unwind(|| {
                learn(key, &statement(sql, vec![n.into(), 5i64.into()]), &[n.into()], true)
            });
        }
        assert!(trusted(key).is_none());
    }

    #[test]
    fn a_key_may_stay_the_same() {
        let key = "test|same key";
        let sql = "SELECT 1 WHERE user_id = ? AND label > ?";
        let user = Value::from(uuid::Uuid::now_v7());
        let page = |label: &str| [user.clone(), Value::from(label)];
        let built = |slots: &[Value; 2]| statement(sql, slots.to_vec());
        learn(key, &built(&page("a")), &page("a"), true);
        // The same user, the same text: not yet.
        learn(key, &built(&page("a")), &page("a"), true);
        assert!(trusted(key).is_none());
        // The same user, another label: trusted.
        learn(key, &built(&page("b")), &page("b"), true);
        assert!(trusted(key).is_some());
    }

    #[test]
    fn slots_holding_one_value_keep_nothing() {
        let key = "test|ambiguous";
        let sql = "SELECT 1 WHERE a = ? AND b = ?";
        let same = [Value::from("k"), Value::from("k")];
        learn(key, &statement(sql, same.to_vec()), &same, true);
        assert!(KEPT.get(key).is_none());
    }
}
