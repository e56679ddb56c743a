//! The one statement a built page runs ([`super::fetch`]), in its steps: the nodes' columns, the
//! page's inner select, the count, and the JSON the database wraps the nodes in; and the one a
//! built list runs ([`super::fetch_list`]).

use async_graphql::Name;
use sea_orm::{
    ColumnTrait, DbBackend, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, Func, Query, SelectStatement},
};

use super::{Column, NodeItem, Plan, TypeNames};
use crate::service::pagination::{self, Keyset, PageRequest, Total};

/// What the statement of one built page is made of.
pub(super) struct PageStatement<'a> {
    pub(super) backend: DbBackend,
    pub(super) plan: &'a Plan,
    pub(super) columns: &'a [Column],
    pub(super) names: &'a TypeNames,
    pub(super) req: &'a PageRequest,
    /// How the list is counted, when the plan shows `totalCount`.
    pub(super) total: Option<Total>,
}

impl PageStatement<'_> {
    /// Whether the count is a window over the page's own rows (its column `n`).
    fn windowed(&self) -> bool {
        self.total.as_ref().is_some_and(|t| t.windowed(self.req))
    }

    /// Whether the statement reads the page itself: for its nodes or flags, or for the window
    /// that counts it.
    pub(super) fn pages(&self) -> bool {
        self.plan.pages() || self.total.is_none() || self.windowed()
    }

    /// One row, even for an empty page: the nodes aggregated over the page, and the count
    /// (the window's, or a sub-select the database computes once).
    pub(super) fn build<E: Keyset>(self, select: Select<E>) -> SelectStatement {
        let mut statement = Query::select();
        if self.pages() {
            let page = self.inner_page(select);
            statement
                .expr_as(Expr::cust(self.nodes_array::<E>()), "nodes")
                .from_subquery(page, "p");
        }
        if let Some(count) = self.count() {
            statement.expr_as(count, "total");
        }
        statement
    }

    /// The page's rows, as the aggregate reads them from `p`: each node column as `c{i}`, the
    /// sort key as `k`, the id as `i` (and, counted by a window, the count as `n`).
    fn inner_page<E: Keyset>(&self, select: Select<E>) -> SelectStatement {
        let page = self
            .node_columns(select.select_only())
            .expr_as(Expr::col(E::sort_column().as_column_ref()), "k")
            .expr_as(Expr::col(E::id_column().as_column_ref()), "i");
        match self.total.as_ref().filter(|_| self.windowed()) {
            Some(total) => total.page(page, self.req, "n", ["k", "i"]),
            None => pagination::keyset::<E, _>(page, self.req).into_query(),
        }
    }

    /// `page` selecting each column the nodes show, as `c{i}` for the node's field `i`.
    fn node_columns<E: Keyset>(&self, mut page: Select<E>) -> Select<E> {
        for (i, (_, item)) in self.plan.node.iter().enumerate() {
            let NodeItem::Column(c) = item else { continue };
            let column = &self.columns[*c];
            let expr = match (column.id, self.backend) {
                (Some(_), DbBackend::Postgres) => Func::cast_as(column.column.clone(), "text").into(),
                // SQLite keeps UUIDs as 16-byte blobs, which JSON cannot hold.
                (Some(_), _) => Func::cust("hex").arg(column.column.clone()).into(),
                (None, _) => column.column.clone(),
            };
            page = page.expr_as(expr, format!("c{i}"));
        }
        page
    }

    /// The arguments of a node's JSON object: each response key and its value (a column of
    /// `p`, or the node's type name).
    fn node_object(&self) -> String {
        let mut object = Vec::new();
        for (i, (key, item)) in self.plan.node.iter().enumerate() {
            let value = match item {
                NodeItem::TypeName => format!("'{}'", self.names.node),
                NodeItem::Column(_) => format!("p.c{i}"),
            };
            // Response keys are GraphQL names (letters, digits, `_`): safe between quotes.
            object.push(format!("'{key}', {value}"));
        }
        object.join(", ")
    }

    /// The page's nodes as one JSON array, in list order, as text.
    fn nodes_array<E: Keyset>(&self) -> String {
        let order = if E::DESCENDING {
            "p.k DESC, p.i DESC"
        } else {
            "p.k, p.i"
        };
        array(self.backend, &self.node_object(), order)
    }

    /// The list's count, when the plan shows it: the window's largest, or `COUNT(*)` of the
    /// rows to count.
    fn count(self) -> Option<Expr> {
        let window = self.windowed();
        self.total.map(|total| {
            if window {
                Expr::cust("COALESCE(MAX(p.n), 0)")
            } else {
                pagination::count_of(total.rows)
            }
        })
    }
}

/// The rows of `rows` as one JSON array of their items (each showing `node`), in order: one
/// row, `nodes`, even when there is none. Written out: every name in it is the schema's own
/// (tables, columns, GraphQL response keys and type names), and the one value is bound.
pub(super) fn list(
    backend: DbBackend,
    node: &[(Name, NodeItem)],
    columns: &[Column],
    node_type: &str,
    rows: &super::Rows,
) -> String {
    let mut object = String::new();
    for (i, (key, item)) in node.iter().enumerate() {
        if i > 0 {
            object.push_str(", ");
        }
        let value = match item {
            NodeItem::TypeName => format!("'{node_type}'"),
            NodeItem::Column(c) => {
                let column = &columns[*c];
                match (column.id, backend) {
                    (Some(_), DbBackend::Postgres) => format!("CAST(\"{}\" AS text)", column.name),
                    // SQLite keeps UUIDs as 16-byte blobs, which JSON cannot hold.
                    (Some(_), _) => format!("hex(\"{}\")", column.name),
                    (None, _) => format!("\"{}\"", column.name),
                }
            }
        };
        // Response keys are GraphQL names (letters, digits, `_`): safe between quotes.
        object.push_str(&format!("'{key}', {value}"));
    }
    let order = format!("\"{}\"", rows.order);
    let nodes = array(backend, &object, &order);
    let parameter = if backend == DbBackend::Postgres { "$1" } else { "?" };
    format!(
        "SELECT {nodes} AS \"nodes\" FROM \"{}\" WHERE \"{}\" = {parameter}",
        rows.table, rows.key
    )
}

/// The rows' items (`object`, the arguments of each one's JSON object) as one JSON array in
/// `order`, as text (`[]` when there is none).
fn array(backend: DbBackend, object: &str, order: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(COALESCE(json_agg(json_build_object({object}) ORDER BY {order}), '[]') AS text)")
        }
        _ => format!("json_group_array(json_object({object}) ORDER BY {order})"),
    }
}
