//! Audit pages written whole (issue 20). A page of 50 entries resolved field by field is some
//! 600 fields through async-graphql's executor, which cost more than the statement that read
//! them. When a client asks the log only for what its entries themselves hold — `totalCount`,
//! `pageInfo`, `nodes` or `edges { cursor node }`, and of each entry its id, time, kind, subject's
//! type and id, `data`, `changes` and the actor's kind and name — the connection is written here
//! as one JSON text, as the listings of issue 17 take theirs from the database
//! ([`super::super::built`]). Anything else (the actor's `user`, the entry's `subject`, a fragment,
//! an alias used twice) resolves as usual: [`plan`] says `None`. Both ways answer alike; the audit
//! tests compare them.

use std::{collections::HashMap, io};

use async_graphql::{Context, Name, ScalarType, Value, parser::types::Field, resolver_utils::enum_value};
use uuid::Uuid;

use super::{AuditActorKind, AuditEventKind, subject_id};
use crate::{
    graphql::{
        built::{items, leaf},
        verbatim::Verbatim,
    },
    service::audit::{self, AuditPage},
};

/// What a written connection shows, in the client's order.
pub struct Plan {
    items: Vec<(Name, Item)>,
    /// Where the response keeps the text as written (HTTP only).
    verbatim: Option<Verbatim>,
}

enum Item {
    TotalCount,
    TypeName,
    PageInfo(Vec<(Name, PageItem)>),
    Nodes(Vec<(Name, EntryItem)>),
    Edges(Vec<(Name, EdgeItem)>),
}

enum PageItem {
    HasNext,
    HasPrevious,
    Start,
    End,
    TypeName,
}

enum EdgeItem {
    Cursor,
    Node(Vec<(Name, EntryItem)>),
    TypeName,
}

enum EntryItem {
    TypeName,
    EventId,
    OccurredAt,
    Kind,
    SubjectType,
    SubjectId,
    Data,
    Changes(Vec<(Name, ChangeItem)>),
    Actor(Vec<(Name, ActorItem)>),
}

enum ChangeItem {
    Field,
    Old,
    New,
    TypeName,
}

#[derive(PartialEq, Eq)]
enum ActorItem {
    Kind,
    Name,
    TypeName,
}

/// How to write the `auditLog` connection `ctx` resolves; `None` when its selection asks for
/// more than a written page shows.
pub fn plan(ctx: &Context<'_>) -> Option<Plan> {
    Some(Plan {
        items: connection(&ctx.item.node)?,
        verbatim: ctx.data_opt::<Verbatim>().cloned(),
    })
}

fn connection(field: &Field) -> Option<Vec<(Name, Item)>> {
    items(field, |f| match f.name.node.as_str() {
        "totalCount" if leaf(f) => Some(Item::TotalCount),
        "__typename" if leaf(f) => Some(Item::TypeName),
        "pageInfo" if f.arguments.is_empty() => items(f, |f| {
            let item = match f.name.node.as_str() {
                "hasNextPage" => PageItem::HasNext,
                "hasPreviousPage" => PageItem::HasPrevious,
                "startCursor" => PageItem::Start,
                "endCursor" => PageItem::End,
                "__typename" => PageItem::TypeName,
                _ => return None,
            };
            leaf(f).then_some(item)
        })
        .map(Item::PageInfo),
        "nodes" if f.arguments.is_empty() => entry(f).map(Item::Nodes),
        "edges" if f.arguments.is_empty() => items(f, |f| match f.name.node.as_str() {
            "cursor" if leaf(f) => Some(EdgeItem::Cursor),
            "__typename" if leaf(f) => Some(EdgeItem::TypeName),
            "node" if f.arguments.is_empty() => entry(f).map(EdgeItem::Node),
            _ => None,
        })
        .map(Item::Edges),
        _ => None,
    })
}

fn entry(field: &Field) -> Option<Vec<(Name, EntryItem)>> {
    items(field, |f| {
        let item = match f.name.node.as_str() {
            "changes" if f.arguments.is_empty() => {
                return items(f, |f| {
                    let item = match f.name.node.as_str() {
                        "field" => ChangeItem::Field,
                        "oldValue" => ChangeItem::Old,
                        "newValue" => ChangeItem::New,
                        "__typename" => ChangeItem::TypeName,
                        _ => return None,
                    };
                    leaf(f).then_some(item)
                })
                .map(EntryItem::Changes);
            }
            "actor" if f.arguments.is_empty() => {
                return items(f, |f| {
                    let item = match f.name.node.as_str() {
                        "kind" => ActorItem::Kind,
                        "name" => ActorItem::Name,
                        "__typename" => ActorItem::TypeName,
                        _ => return None,
                    };
                    leaf(f).then_some(item)
                })
                .map(EntryItem::Actor);
            }
            "__typename" => EntryItem::TypeName,
            "eventId" => EntryItem::EventId,
            "occurredAt" => EntryItem::OccurredAt,
            "kind" => EntryItem::Kind,
            "subjectType" => EntryItem::SubjectType,
            "subjectId" => EntryItem::SubjectId,
            "data" => EntryItem::Data,
            _ => return None,
        };
        leaf(f).then_some(item)
    })
}

impl Plan {
    /// Whether the plan shows an actor's name (for which the page's users are loaded).
    pub fn names_actors(&self) -> bool {
        let names = |entry: &[(Name, EntryItem)]| {
            (entry.iter())
                .any(|(_, i)| matches!(i, EntryItem::Actor(a) if a.iter().any(|(_, a)| *a == ActorItem::Name)))
        };
        self.items.iter().any(|(_, item)| match item {
            Item::Nodes(entry) => names(entry),
            Item::Edges(edge) => (edge.iter()).any(|(_, e)| matches!(e, EdgeItem::Node(entry) if names(entry))),
            _ => false,
        })
    }

    /// The connection's value: `page`, the list's `total`, and the names of the actors the
    /// caller may see (a user actor not in `names` shows as "an administrator").
    pub fn write(&self, page: &AuditPage, total: u64, names: &HashMap<Uuid, String>) -> io::Result<Value> {
        let mut out = Vec::with_capacity(256 + 512 * page.entries.len());
        let w = &mut out;
        object(w, &self.items, |w, item| match item {
            Item::TotalCount => json(w, &total),
            Item::TypeName => text(w, "AuditEntryConnection"),
            Item::PageInfo(flags) => object(w, flags, |w, flag| match flag {
                PageItem::HasNext => json(w, &page.has_next_page),
                PageItem::HasPrevious => json(w, &page.has_previous_page),
                PageItem::Start => json(w, &page.start.as_ref().map(|c| c.encode())),
                PageItem::End => json(w, &page.end.as_ref().map(|c| c.encode())),
                PageItem::TypeName => text(w, "PageInfo"),
            }),
            Item::Nodes(fields) => list(w, &page.entries, |w, (_, logged)| write_entry(w, fields, logged, names)),
            Item::Edges(fields) => list(w, &page.entries, |w, (cursor, logged)| {
                object(w, fields, |w, field| match field {
                    EdgeItem::Cursor => text(w, &cursor.encode()),
                    EdgeItem::Node(entry) => write_entry(w, entry, logged, names),
                    EdgeItem::TypeName => text(w, "AuditEntryEdge"),
                })
            }),
        })?;
        let written = String::from_utf8(out).map_err(io::Error::other)?;
        match &self.verbatim {
            Some(verbatim) => Ok(verbatim.hold(written)),
            None => serde_json::from_str(&written).map_err(io::Error::other),
        }
    }
}

fn write_entry(
    w: &mut Vec<u8>,
    fields: &[(Name, EntryItem)],
    logged: &entity::event::Logged,
    names: &HashMap<Uuid, String>,
) -> io::Result<()> {
    object(w, fields, |w, field| match field {
        EntryItem::TypeName => text(w, "AuditEntry"),
        EntryItem::EventId => text(w, logged.id.hyphenated().encode_lower(&mut Uuid::encode_buffer())),
        EntryItem::OccurredAt => json(w, &logged.occurred_at.to_value()),
        EntryItem::Kind => json(w, &enum_value(AuditEventKind::of(&logged.event))),
        EntryItem::SubjectType => text(w, logged.event.aggregate_type()),
        EntryItem::SubjectId => text(w, &subject_id(&logged.event, logged.aggregate_id)),
        EntryItem::Data => text(w, &audit::redacted(&logged.event.payload()).to_string()),
        EntryItem::Changes(fields) => list(w, &audit::changes(&logged.event), |w, change| {
            object(w, fields, |w, field| match field {
                ChangeItem::Field => text(w, &change.field),
                ChangeItem::Old => json(w, &change.old),
                ChangeItem::New => json(w, &change.new),
                ChangeItem::TypeName => text(w, "AuditChange"),
            })
        }),
        EntryItem::Actor(fields) => {
            let (kind, who) = audit::actor(&logged.actor);
            object(w, fields, |w, field| match field {
                ActorItem::Kind => json(w, &enum_value(AuditActorKind::from(kind))),
                ActorItem::Name => match who {
                    Err(name) => text(w, name),
                    Ok(user) => text(w, names.get(&user).map_or("an administrator", String::as_str)),
                },
                ActorItem::TypeName => text(w, "AuditActor"),
            })
        }
    })
}

/// Writes `{"key": value, …}`, each value by `value`.
fn object<T>(
    w: &mut Vec<u8>,
    fields: &[(Name, T)],
    mut value: impl FnMut(&mut Vec<u8>, &T) -> io::Result<()>,
) -> io::Result<()> {
    w.push(b'{');
    for (i, (key, item)) in fields.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        text(w, key.as_str())?;
        w.push(b':');
        value(w, item)?;
    }
    w.push(b'}');
    Ok(())
}

/// Writes `[item, …]`, each by `value`.
fn list<T>(w: &mut Vec<u8>, items: &[T], mut value: impl FnMut(&mut Vec<u8>, &T) -> io::Result<()>) -> io::Result<()> {
    w.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        value(w, item)?;
    }
    w.push(b']');
    Ok(())
}

/// Writes `s` as a JSON string.
fn text(w: &mut Vec<u8>, s: &str) -> io::Result<()> {
    json(w, s)
}

/// Writes `value` as JSON.
fn json(w: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) -> io::Result<()> {
    serde_json::to_writer(w, value).map_err(io::Error::other)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::parser::{parse_query, types::Selection};

    use super::connection;

    /// Whether the `auditLog` selection of `query` would be written whole.
    fn written(selection: &str) -> bool {
        let doc = parse_query(format!("{{ auditLog {{ {selection} }} }}")).expect("parses");
        let (_, op) = doc.operations.iter().next().expect("one operation");
        let Selection::Field(field) = &op.node.selection_set.node.items[0].node else {
            panic!("a field")
        };
        connection(&field.node).is_some()
    }

    #[test]
    fn what_the_entries_hold_is_written_and_the_rest_resolved() {
        for plain in [
            "pageInfo { endCursor } nodes { eventId occurredAt kind subjectType subjectId actor { kind } changes { field oldValue newValue } }",
            "edges { cursor node { data actor { name __typename } } } totalCount __typename",
            "a: totalCount b: pageInfo { hasNextPage }",
        ] {
            assert!(written(plain), "{plain}");
        }
        for resolved in [
            "nodes { subject { id } }",
            "nodes { actor { user { id } } }",
            "nodes { ... on AuditEntry { eventId } }",
            "nodes { eventId e: eventId e: kind }",
            "... on AuditEntryConnection { totalCount }",
            "nodes { eventId @deprecated }",
            "edges { node { eventId } other }",
        ] {
            assert!(!written(resolved), "{resolved}");
        }
    }
}
