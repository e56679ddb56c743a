//! Pages the database builds (issue 17). When a client asks a listing only for what its
//! columns hold — `totalCount`, `pageInfo { hasNextPage hasPreviousPage }` and `nodes` whose
//! fields are columns shown as they are stored — the page is one statement that returns the
//! nodes as one JSON array, and the connection's value is handed to the response whole instead
//! of being resolved field by field. That is the statement a hand-written endpoint would run:
//! on SQLite one value crosses from the database's thread instead of a row at a time, and no
//! row becomes a model and then a field at a time.
//!
//! Anything else in the selection (edges and cursors, a nested object, a fragment, a field
//! selected twice under one key) resolves as usual: [`plan`] says `None`. The rows are the same
//! select either way (the caller's visibility, search and filters, then the keyset page of
//! [`pagination::keyset`]), so a built page and a resolved one answer alike; the listings'
//! tests compare the two.

use std::borrow::Cow;

use async_graphql::{
    Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    parser::types::{Field, Selection},
    registry::Registry,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, Select, sea_query::Expr};

use super::{
    ids::{Kind, encode},
    verbatim::Verbatim,
};
use crate::service::pagination::{self, Keyset, PageRequest, Shape, Total};
use sql::PageStatement;

mod kept;
mod listed;
mod sql;

pub use listed::{Listed, Writes, write_opt_text, write_text};

/// A connection (or a list), built whole by the database or resolved field by field. Its
/// GraphQL type is `T`'s: the schema does not change.
pub enum Paged<T> {
    /// The connection's value, ready for the response.
    Built(Value),
    /// The connection, to resolve as usual.
    Resolved(T),
}

impl<T: OutputType> OutputType for Paged<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match self {
            Paged::Built(value) => Ok(value.clone()),
            Paged::Resolved(connection) => connection.resolve(ctx, field).await,
        }
    }
}

/// A node field a built page can show: a column whose stored value is the field's value
/// (text, or text enums stored under their GraphQL names), or an id column shown as the
/// node's global id.
pub struct Column {
    /// The field's GraphQL name.
    pub field: &'static str,
    /// The column (qualified by its table).
    pub column: Expr,
    /// The column's name in its table.
    pub name: &'static str,
    /// Shown as a global id of this kind (the column holds the row's UUID).
    pub id: Option<Kind>,
}

impl Column {
    /// A column shown as stored.
    pub fn plain(field: &'static str, column: impl ColumnTrait) -> Self {
        Self {
            field,
            column: Expr::col(column.as_column_ref()),
            name: column.as_str(),
            id: None,
        }
    }

    /// An id column shown as a global id of `kind`: a key that is never null.
    pub fn id(kind: Kind, column: impl ColumnTrait) -> Self {
        Self {
            field: "id",
            column: Expr::col(column.as_column_ref()),
            name: column.as_str(),
            id: Some(kind),
        }
    }
}

/// What a built connection shows, in the client's order.
pub struct Plan {
    /// The connection's fields: response key and what it is.
    items: Vec<(Name, Item)>,
    /// The nodes' fields: response key and what it is.
    node: Vec<(Name, NodeItem)>,
    /// Where the response keeps JSON as the database wrote it (HTTP only).
    verbatim: Option<Verbatim>,
}

#[derive(Debug)]
enum Item {
    TotalCount,
    Nodes,
    TypeName,
    PageInfo(Vec<(Name, Flag)>),
}

#[derive(Debug, Clone, Copy)]
enum Flag {
    HasNext,
    HasPrevious,
    TypeName,
}

#[derive(Debug, Clone, Copy)]
enum NodeItem {
    /// The column of this index in the listing's columns.
    Column(usize),
    TypeName,
}

/// The fields of `selection` as (response key, field), when every item is a plain field whose
/// only directives are `@skip`/`@include` (already applied by the time a resolver runs) and no
/// response key repeats; `None` otherwise.
pub(crate) fn plain_fields(selection: &[Positioned<Selection>]) -> Option<Vec<(&Name, &Field)>> {
    let mut out: Vec<(&Name, &Field)> = Vec::with_capacity(selection.len());
    for item in selection {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field = &field.node;
        let applied = field
            .directives
            .iter()
            .all(|d| matches!(d.node.name.node.as_str(), "skip" | "include"));
        let key = &field.response_key().node;
        if !applied || out.iter().any(|(k, _)| *k == key) {
            return None;
        }
        out.push((key, field));
    }
    Some(out)
}

/// Whether `field` is a leaf with no arguments.
pub(crate) fn leaf(field: &Field) -> bool {
    field.arguments.is_empty() && field.selection_set.node.items.is_empty()
}

/// The items of each plain field of `field`'s selection, read by `item`; `None` if one is not.
pub(crate) fn items<T>(field: &Field, item: impl Fn(&Field) -> Option<T>) -> Option<Vec<(Name, T)>> {
    (plain_fields(&field.selection_set.node.items)?.into_iter())
        .map(|(key, f)| Some((key.clone(), item(f)?)))
        .collect()
}

/// How to build the connection `ctx` resolves, whose nodes may show `columns`; `None` when its
/// selection asks for more than a built page shows.
pub fn plan(ctx: &Context<'_>, columns: &[Column]) -> Option<Plan> {
    plan_of(&ctx.item.node, columns, ctx.data_opt::<Verbatim>().cloned())
}

/// How to build the connection selected as `field`, its nodes showing `columns`, its JSON
/// held by `verbatim`: [`plan`] for a field read from a document rather than resolved
/// ([`super::direct`]).
pub fn plan_for(field: &Field, columns: &[Column], verbatim: Verbatim) -> Option<Plan> {
    plan_of(field, columns, Some(verbatim))
}

/// Whether a connection selected as `field` (looked at from its parent's selection) would be
/// built, its nodes showing `columns`.
pub fn builds(field: &Field, columns: &[Column]) -> bool {
    plan_of(field, columns, None).is_some()
}

fn plan_of(connection: &Field, columns: &[Column], verbatim: Option<Verbatim>) -> Option<Plan> {
    let mut plan = Plan {
        items: Vec::new(),
        node: Vec::new(),
        verbatim,
    };
    let mut nodes = false;
    for (key, field) in plain_fields(&connection.selection_set.node.items)? {
        let item = match field.name.node.as_str() {
            "totalCount" if leaf(field) => Item::TotalCount,
            "__typename" if leaf(field) => Item::TypeName,
            "nodes" if !nodes && field.arguments.is_empty() => {
                nodes = true;
                plan.node = node_items(field, columns)?;
                Item::Nodes
            }
            "pageInfo" if field.arguments.is_empty() => {
                let mut flags = Vec::new();
                for (key, f) in plain_fields(&field.selection_set.node.items)? {
                    let flag = match f.name.node.as_str() {
                        "hasNextPage" if leaf(f) => Flag::HasNext,
                        "hasPreviousPage" if leaf(f) => Flag::HasPrevious,
                        "__typename" if leaf(f) => Flag::TypeName,
                        _ => return None,
                    };
                    flags.push((key.clone(), flag));
                }
                Item::PageInfo(flags)
            }
            _ => return None,
        };
        plan.items.push((key.clone(), item));
    }
    Some(plan)
}

/// What each item of `field` (a list of nodes) shows: response key and which column, when
/// every field it selects is a column of `columns` or `__typename`.
fn node_items(field: &Field, columns: &[Column]) -> Option<Vec<(Name, NodeItem)>> {
    items_by_name(field, |name| columns.iter().position(|c| c.field == name))
}

/// What each item of `field` shows: response key and the index `position` gives its field's
/// name, or `__typename`; `None` unless every field it selects is a plain leaf `position` knows.
fn items_by_name(field: &Field, position: impl Fn(&str) -> Option<usize>) -> Option<Vec<(Name, NodeItem)>> {
    items(field, |f| match f.name.node.as_str() {
        _ if !leaf(f) => None,
        "__typename" => Some(NodeItem::TypeName),
        name => Some(NodeItem::Column(position(name)?)),
    })
}

/// How to build a whole list (not a connection: no page, no count) whose items show `columns`.
pub struct ListPlan {
    /// The items' fields: response key and what it is.
    node: Vec<(Name, NodeItem)>,
    /// Where the response keeps JSON as the database wrote it (HTTP only).
    verbatim: Option<Verbatim>,
}

/// How to build the list `ctx` resolves, its items showing `columns`; `None` when its items
/// ask for more than their columns hold.
pub fn list_plan(ctx: &Context<'_>, columns: &[Column]) -> Option<ListPlan> {
    list_plan_of(&ctx.item.node, columns, ctx.data_opt::<Verbatim>().cloned())
}

/// How to build the list selected as `field`, its items showing `columns`, its JSON held by
/// `verbatim`: [`list_plan`] for a field read from a document ([`super::direct`]).
pub fn list_plan_for(field: &Field, columns: &[Column], verbatim: Verbatim) -> Option<ListPlan> {
    list_plan_of(field, columns, Some(verbatim))
}

fn list_plan_of(field: &Field, columns: &[Column], verbatim: Option<Verbatim>) -> Option<ListPlan> {
    Some(ListPlan {
        node: node_items(field, columns)?,
        verbatim,
    })
}

/// Whether a list selected as `field` (looked at from its parent's selection) would be built,
/// its items showing `columns`.
pub fn builds_list(field: &Field, columns: &[Column]) -> bool {
    node_items(field, columns).is_some()
}

/// The rows of a built list: those of `table` whose column `key` holds `value`, in the order
/// of its unique column `order`.
pub struct Rows {
    /// The table.
    pub table: &'static str,
    /// The column that picks the rows.
    pub key: &'static str,
    /// The value it holds.
    pub value: sea_orm::Value,
    /// The unique column that orders them.
    pub order: &'static str,
}

/// Runs `plan` over `rows` in one statement; the list's value. The statement is written out
/// directly: building it with sea-query (and an entity's select of every column) cost more than
/// the rest of a short list's request.
pub async fn fetch_list(
    db: &impl ConnectionTrait,
    plan: &ListPlan,
    columns: &[Column],
    node_type: &str,
    rows: Rows,
) -> Result<Value, DbErr> {
    let backend = db.get_database_backend();
    let sql = sql::list(backend, &plan.node, columns, node_type, &rows);
    let statement = sea_orm::Statement::from_sql_and_values(backend, sql, [rows.value]);
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the list's row".into()))?;
    let text: String = row.try_get("", "nodes")?;
    let ids = shows_ids(&plan.node, columns);
    if let (Some(verbatim), false) = (&plan.verbatim, ids) {
        return Ok(verbatim.hold(text));
    }
    let Ok(Value::List(mut nodes)) = serde_json::from_str::<Value>(&text) else {
        return Err(DbErr::Type("the list is not a JSON array".into()));
    };
    for node in &mut nodes {
        show_ids(node, &plan.node, columns)?;
    }
    Ok(Value::List(nodes))
}

/// Whether any of `node`'s fields is an id column (a stored UUID shown as a global id).
fn shows_ids(node: &[(Name, NodeItem)], columns: &[Column]) -> bool {
    node.iter()
        .any(|(_, item)| matches!(item, NodeItem::Column(c) if columns[*c].id.is_some()))
}

/// The GraphQL type names a built connection shows for `__typename`.
pub struct TypeNames {
    /// The connection's.
    pub connection: &'static str,
    /// A node's.
    pub node: &'static str,
}

impl Plan {
    /// Whether the plan shows `totalCount`.
    fn counts(&self) -> bool {
        self.items.iter().any(|(_, i)| matches!(i, Item::TotalCount))
    }

    /// Whether the plan shows anything of the page itself (its nodes or where it sits).
    fn pages(&self) -> bool {
        self.items
            .iter()
            .any(|(_, i)| matches!(i, Item::Nodes | Item::PageInfo(_)))
    }

    /// What of the plan its statement's text holds ([`kept::key`]): whether it counts and reads
    /// the page, the node's type name, and each node field's key and column.
    fn text_key(&self, names: &TypeNames) -> String {
        // Written piece by piece: it runs at every built page, and `format!` cost several
        // times what pushing the pieces does (issue 17).
        let mut key = String::with_capacity(32 + names.node.len());
        key.push(if self.counts() { '1' } else { '0' });
        key.push(if self.pages() { '1' } else { '0' });
        key.push_str(names.node);
        let mut number = itoa::Buffer::new();
        for (name, item) in &self.node {
            key.push(',');
            key.push_str(name);
            if let NodeItem::Column(c) = item {
                key.push('=');
                key.push_str(number.format(*c));
            }
        }
        key
    }
}

/// Runs `plan` over `select` (one page of it as `req` asks, in `E`'s order) in one statement,
/// counting what `total` says of the select when the plan shows `totalCount`; the connection's
/// value. With a `shape`, a statement kept for pages of that shape ([`kept`]) is bound to this
/// page's values, and neither the select nor the count is built.
#[allow(clippy::too_many_arguments)]
pub async fn fetch<E: Keyset>(
    db: &impl ConnectionTrait,
    plan: &Plan,
    columns: &[Column],
    names: &TypeNames,
    shape: Option<&Shape>,
    select: impl FnOnce() -> Select<E>,
    req: &PageRequest,
    total: impl FnOnce(&Select<E>) -> Total,
) -> Result<Value, DbErr> {
    let backend = db.get_database_backend();
    let kept = shape.map(|s| (kept::key(backend, s, req, &plan.text_key(names)), kept::slots(s, req)));
    let rendered = kept.as_ref().and_then(|(key, slots)| {
        let k = kept::trusted(key)?;
        Some((k.render(backend, slots)?, k.pages))
    });
    let (statement, pages) = match rendered {
        Some(rendered) if !cfg!(debug_assertions) => rendered,
        // Debug builds build every page and check the kept statement against it.
        rendered => {
            let select = select();
            let statement = PageStatement {
                backend,
                plan,
                columns,
                names,
                req,
                total: plan.counts().then(|| total(&select)),
            };
            let pages = statement.pages();
            let built = pagination::statement(db, statement.build(select), req);
            if let Some((key, slots)) = &kept {
                kept::learn(key, &built, slots, pages);
            }
            rendered.unwrap_or((built, pages))
        }
    };
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the page's row".into()))?;
    let total: i64 = if plan.counts() { row.try_get("", "total")? } else { 0 };
    let (nodes, more) = if pages {
        nodes_of(row.try_get("", "nodes")?, plan, columns, req)?
    } else {
        (Value::List(Vec::new()), false)
    };
    Ok(plan.connection(names, total, nodes, pagination::flags(more, req)))
}

impl Plan {
    /// The connection's value, in the client's order: the count, the nodes (`nodes`, shown once)
    /// and the page's flags (`has_next`, `has_previous`).
    fn connection(&self, names: &TypeNames, total: i64, nodes: Value, (has_next, has_previous): (bool, bool)) -> Value {
        let mut value = async_graphql::indexmap::IndexMap::with_capacity(self.items.len());
        let mut nodes = Some(nodes);
        for (key, item) in &self.items {
            let v = match item {
                Item::TotalCount => Value::from(total),
                Item::TypeName => Value::String(names.connection.to_owned()),
                Item::Nodes => nodes.take().unwrap_or_else(|| Value::List(Vec::new())),
                Item::PageInfo(flags) => page_info(flags, has_next, has_previous),
            };
            value.insert(key.clone(), v);
        }
        Value::Object(value)
    }
}

/// The connection's `pageInfo`, showing `flags`.
fn page_info(flags: &[(Name, Flag)], has_next: bool, has_previous: bool) -> Value {
    Value::Object(
        flags
            .iter()
            .map(|(k, f)| {
                let v = match f {
                    Flag::HasNext => Value::Boolean(has_next),
                    Flag::HasPrevious => Value::Boolean(has_previous),
                    Flag::TypeName => Value::String("PageInfo".into()),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// The page's nodes from the JSON array the database wrote (with the extra row read to learn
/// whether more follow: the last in list order, or the first when reading backwards), and
/// whether more follow. Held verbatim for the response when the plan has a place for it and no
/// node shows an id (a stored UUID becomes a global id here); read into values otherwise.
fn nodes_of(text: String, plan: &Plan, columns: &[Column], req: &PageRequest) -> Result<(Value, bool), DbErr> {
    let (limit, backward) = pagination::window(req);
    let not_array = || DbErr::Type("the page's nodes are not a JSON array".into());
    let ids = shows_ids(&plan.node, columns);
    if let (Some(verbatim), false) = (&plan.verbatim, ids) {
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&text).map_err(|_| not_array())?;
        let more = items.len() as u64 > limit;
        if !more {
            return Ok((verbatim.hold(text), false));
        }
        let kept = if backward {
            &items[1..]
        } else {
            &items[..items.len() - 1]
        };
        let mut array = String::with_capacity(text.len());
        array.push('[');
        for (i, item) in kept.iter().enumerate() {
            if i > 0 {
                array.push(',');
            }
            array.push_str(item.get());
        }
        array.push(']');
        return Ok((verbatim.hold(array), true));
    }
    let Ok(Value::List(mut nodes)) = serde_json::from_str::<Value>(&text) else {
        return Err(not_array());
    };
    let more = nodes.len() as u64 > limit;
    if more {
        if backward {
            nodes.remove(0);
        } else {
            nodes.pop();
        }
    }
    for node in &mut nodes {
        show_ids(node, &plan.node, columns)?;
    }
    Ok((Value::List(nodes), more))
}

/// Turns the stored UUIDs of a built node's id fields into global ids.
fn show_ids(node: &mut Value, items: &[(Name, NodeItem)], columns: &[Column]) -> Result<(), DbErr> {
    let Value::Object(fields) = node else {
        return Err(DbErr::Type("a page's node is not a JSON object".into()));
    };
    for (key, item) in items {
        let NodeItem::Column(c) = item else { continue };
        let Some(kind) = columns[*c].id else { continue };
        let Some(Value::String(stored)) = fields.get_mut(key) else {
            return Err(DbErr::Type(format!("a page's node has no id under {key}")));
        };
        let id = uuid::Uuid::parse_str(stored).map_err(|e| DbErr::Type(e.to_string()))?;
        *stored = encode(kind, id).0;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_graphql::parser::{parse_query, types::DocumentOperations};

    use super::*;

    /// The first field of `query`'s only operation.
    fn field(query: &str) -> Field {
        let doc = parse_query(query).unwrap();
        let DocumentOperations::Single(op) = doc.operations else {
            panic!("one operation");
        };
        let Selection::Field(f) = &op.node.selection_set.node.items[0].node else {
            panic!("a field first");
        };
        f.node.clone()
    }

    #[test]
    fn a_list_is_built_when_its_items_show_only_columns() {
        use entity::dynamic_status::Column as S;
        let columns = [Column::id(Kind::DynamicStatus, S::Id), Column::plain("name", S::Name)];
        let builds = |q: &str| builds_list(&field(q), &columns);
        assert!(builds("{ s { id name __typename } }"));
        assert!(builds("{ s { a: name b: id @include(if: true) } }"));
        assert!(!builds("{ s { name isActive } }"), "not a column");
        assert!(!builds("{ s { name a: name a: id } }"), "a key twice");
        assert!(!builds("{ s { ... on DynamicStatus { name } } }"), "a fragment");
        assert!(!builds("{ s { name @deprecated } }"), "another directive");
        assert!(!builds("{ s { user { name } } }"), "a nested object");
        let plan = node_items(&field("{ s { n: name __typename i: id } }"), &columns).unwrap();
        let keys: Vec<&str> = plan.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["n", "__typename", "i"], "in the client's order");
    }
}
