//! Queries the server answers without the executor (issue 17). A small listing's request — the
//! Support desk's `accounts`, a user's own `me { numbers }` or `me { dynamicStatuses }` — runs
//! one short statement, and async-graphql's work around it (validating the document again,
//! setting up the request's context, resolving `me` and then its field, putting the answer in
//! order) cost more than the statement and the rest of the request together.
//!
//! [`Direct::of`] recognises such a document: one query, no variables, fragments or directives,
//! one root field that is `accounts` or `me` holding only `numbers` or `dynamicStatuses`, whose
//! selection a built page shows whole ([`built`]). HTTP answers it directly only once the same
//! text has run through the executor without a request error (it passed validation:
//! [`super::documents::Validation::Passed`]), so its fields and arguments are known to be the
//! schema's. [`Direct::answer`] then runs what the resolvers run — the same select, shape and
//! built page — and the answer is the executor's, key for key.
//!
//! Anything else runs through the executor as before, and so does a request this cannot answer
//! as the executor would: `me` for Support (null), a paging argument refused (its error), or a
//! database error (the executor runs the read again and words the error). The tests compare
//! both ways' answers byte for byte (`tests/api/perf/direct.rs`).

use async_graphql::{
    Name, Value,
    parser::types::{DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet},
};
use sea_orm::DatabaseConnection;

use super::{
    built, connection,
    objects::Account,
    remote::types::{DynamicStatus, UserNumber},
    verbatim::Verbatim,
};
use crate::{auth::Own, policy::Principal};

/// A query answered directly: its one root field, under its response key.
pub struct Direct<'d> {
    key: &'d Name,
    listing: Listing<'d>,
}

enum Listing<'d> {
    /// `accounts(…)`, and how its page is built.
    Accounts(&'d Field, built::Plan),
    /// `me { numbers(…) }`, under the key `me`'s field is given.
    MyNumbers(&'d Name, &'d Field, built::Plan),
    /// `me { dynamicStatuses }`.
    MyStatuses(&'d Name, built::ListPlan),
}

impl<'d> Direct<'d> {
    /// The direct answer `doc` (running `operation`) can have, if any, its built JSON to be
    /// held by `verbatim`.
    pub fn of(doc: &'d ExecutableDocument, operation: Option<&str>, verbatim: &Verbatim) -> Option<Self> {
        if !doc.fragments.is_empty() {
            return None;
        }
        let op = match (&doc.operations, operation) {
            (DocumentOperations::Single(op), None) => op,
            (DocumentOperations::Multiple(ops), name) if ops.len() == 1 => {
                let (op_name, op) = ops.iter().next()?;
                if name.is_some_and(|n| n != op_name.as_str()) {
                    return None;
                }
                op
            }
            _ => return None,
        };
        let op = &op.node;
        if op.ty != OperationType::Query || !op.variable_definitions.is_empty() || !op.directives.is_empty() {
            return None;
        }
        let (key, root) = only_field(&op.selection_set.node)?;
        // The listing, and for `me`'s the key of its field under `me`.
        let (mine, listed) = match root.name.node.as_str() {
            "accounts" => (None, root),
            "me" if root.arguments.is_empty() => {
                let (key, field) = only_field(&root.selection_set.node)?;
                (Some(key), field)
            }
            _ => return None,
        };
        if !plain(&listed.selection_set.node) {
            return None;
        }
        let listing = match (mine, listed.name.node.as_str()) {
            (None, _) if paging_only(listed) => {
                Listing::Accounts(listed, built::plan_for(listed, &Account::columns(), verbatim.clone())?)
            }
            (Some(key), "numbers") if paging_only(listed) => {
                let plan = built::plan_for(listed, &UserNumber::columns(), verbatim.clone())?;
                Listing::MyNumbers(key, listed, plan)
            }
            (Some(key), "dynamicStatuses") if listed.arguments.is_empty() => {
                let plan = built::list_plan_for(listed, &DynamicStatus::columns(), verbatim.clone())?;
                Listing::MyStatuses(key, plan)
            }
            _ => return None,
        };
        Some(Self { key, listing })
    }

    /// The response's `data` for `principal` (with `own`, their own records read when they
    /// were authenticated); `None` when the executor is to answer instead (see the module's
    /// documentation).
    pub async fn answer(&self, db: &DatabaseConnection, principal: &Principal, own: Option<&Own>) -> Option<Value> {
        let value = match &self.listing {
            Listing::Accounts(field, plan) => {
                let req = page(field)?;
                Account::built_page(db, principal, None, plan, &req).await.ok()?
            }
            Listing::MyNumbers(key, field, plan) => {
                let (user, req) = (mine(principal, own)?, page(field)?);
                object(key, UserNumber::built_page(db, user, plan, &req).await.ok()?)
            }
            Listing::MyStatuses(key, plan) => {
                let user = mine(principal, own)?;
                object(key, DynamicStatus::built_list(db, user, plan).await.ok()?)
            }
        };
        Some(object(self.key, value))
    }
}

/// The one field `set` selects, with its response key: no directives, no fragment.
fn only_field(set: &SelectionSet) -> Option<(&Name, &Field)> {
    let [item] = set.items.as_slice() else {
        return None;
    };
    match &item.node {
        Selection::Field(f) if f.node.directives.is_empty() => Some((&f.node.response_key().node, &f.node)),
        _ => None,
    }
}

/// Whether nothing in `set`, however deep, is a fragment or carries a directive (`@skip` and
/// `@include` are the executor's to apply).
fn plain(set: &SelectionSet) -> bool {
    set.items.iter().all(|item| match &item.node {
        Selection::Field(f) => f.node.directives.is_empty() && plain(&f.node.selection_set.node),
        _ => false,
    })
}

/// Whether `field`'s arguments are paging arguments written out (`first`, `last`, `after`,
/// `before`), as every listing answered here takes.
fn paging_only(field: &Field) -> bool {
    (field.arguments.iter()).all(
        |(name, value)| match (name.node.as_str(), value.node.clone().into_const()) {
            (_, Some(Value::Null)) => true,
            ("first" | "last", Some(Value::Number(n))) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ("after" | "before", Some(Value::String(_))) => true,
            _ => false,
        },
    )
}

/// The page `field`'s paging arguments ask for; `None` when they are refused (the executor
/// then answers with the error).
fn page(field: &Field) -> Option<crate::service::pagination::PageRequest> {
    let given = |name: &str| field.get_argument(name).and_then(|v| v.node.clone().into_const());
    let int = |name: &str| match given(name) {
        Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        _ => None,
    };
    let text = |name: &str| match given(name) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    connection::page_request(int("first"), text("after"), int("last"), text("before")).ok()
}

/// The id of the caller's own user, as `me` resolves it: a user's, read with who they are.
fn mine(principal: &Principal, own: Option<&Own>) -> Option<uuid::Uuid> {
    let user = principal.user()?;
    own.filter(|own| own.user.id == user.user_id).map(|own| own.user.id)
}

/// `{ key: value }`.
fn object(key: &Name, value: Value) -> Value {
    let mut object = async_graphql::indexmap::IndexMap::with_capacity(1);
    object.insert(key.clone(), value);
    Value::Object(object)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn direct(query: &str, operation: Option<&str>) -> bool {
        Direct::of(&parse_query(query).unwrap(), operation, &Verbatim::default()).is_some()
    }

    #[test]
    fn only_the_small_listings_plain_forms_are_answered_directly() {
        for query in [
            "{ accounts(first: 50) { totalCount nodes { name platform } } }",
            "{ a: accounts(last: 3, before: \"x\") { pageInfo { hasNextPage } } }",
            "query Q { me { numbers(first: 50) { totalCount nodes { label number } } } }",
            "{ m: me { n: numbers { nodes { id __typename } } } }",
            "{ me { dynamicStatuses { name presence message } } }",
        ] {
            assert!(direct(query, None), "{query}");
        }
        assert!(direct("query Q { me { dynamicStatuses { name } } }", Some("Q")));
        for (query, operation) in [
            ("query Q { me { dynamicStatuses { name } } }", Some("R")),
            ("{ me { dynamicStatuses { name } } }", Some("Q")),
            (
                "query Q { accounts { totalCount } } query R { accounts { totalCount } }",
                Some("Q"),
            ),
            ("query($n: Int) { accounts(first: $n) { totalCount } }", None),
            ("{ accounts(search: \"a\") { totalCount } }", None),
            ("{ accounts { totalCount } viewer { kind } }", None),
            ("{ accounts @skip(if: false) { totalCount } }", None),
            ("{ accounts { nodes { name @include(if: false) } } }", None),
            (
                "{ accounts { ...F } } fragment F on AccountConnection { totalCount }",
                None,
            ),
            ("{ accounts { nodes { name users { totalCount } } } }", None),
            ("{ accounts { edges { cursor } } }", None),
            ("{ me { name numbers { totalCount } } }", None),
            ("{ me { roles { role } } }", None),
            ("{ me { dynamicStatuses { name isActive } } }", None),
            ("mutation { me { dynamicStatuses { name } } }", None),
            ("{ accounts(first: 5000000000) { totalCount } }", None),
        ] {
            assert!(!direct(query, operation), "{query} {operation:?}");
        }
    }
}
