//! Relay cursor connections: `first`/`last` (default 20, at most 100), `after`/`before`,
//! `pageInfo`, `totalCount` (counted only when asked for).

use async_graphql::{Context, SimpleObject};
use sea_orm::Select;

use super::{built, context, errors, errors::coded};
use crate::codes::Code;
use crate::service::pagination::{self, Cursor, Keyset, Page, PageRequest, Shape, Total};

/// Largest page a client may ask for.
pub const MAX_PAGE: i32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE: i32 = 20;

/// Where a page sits in its list.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    /// More items follow this page.
    pub has_next_page: bool,
    /// Items precede this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page.
    pub end_cursor: Option<String>,
}

/// Checks the paging arguments, answering `BAD_REQUEST` before any query runs.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let size = |name: &str, n: Option<i32>| -> async_graphql::Result<Option<u64>> {
        match n {
            Some(n) if !(0..=MAX_PAGE).contains(&n) => Err(coded(
                Code::BadRequest,
                format!("`{name}` must be between 0 and {MAX_PAGE}"),
            )),
            Some(n) => Ok(Some(n as u64)),
            None => Ok(None),
        }
    };
    let cursor = |name: &str, c: Option<String>| -> async_graphql::Result<Option<Cursor>> {
        c.map(|c| Cursor::decode(&c).ok_or_else(|| coded(Code::BadRequest, format!("`{name}` is not a valid cursor"))))
            .transpose()
    };
    if first.is_some() && last.is_some() {
        return Err(coded(Code::BadRequest, "give `first` or `last`, not both"));
    }
    let mut req = PageRequest {
        first: size("first", first)?,
        last: size("last", last)?,
        after: cursor("after", after)?,
        before: cursor("before", before)?,
    };
    if req.first.is_none() && req.last.is_none() {
        req.first = Some(DEFAULT_PAGE as u64);
    }
    Ok(req)
}

/// Complexity of a list field: the page size times the cost of one item.
pub fn cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(DEFAULT_PAGE).max(1) as usize;
    n.saturating_mul(child).saturating_add(1)
}

/// How many items a list that is not paged counts for in the complexity
/// (`User.dynamicStatuses`, `Account.clientProfiles`, `MobilityNotification.recipients`): an
/// estimate of its usual length (a new user has 6 statuses), so that nesting it under a page
/// multiplies as a page does, while one user's full status screen stays well inside the limit.
pub const UNPAGED_LIST_ESTIMATE: usize = 10;

/// The complexity of a list of at most `items` items, each costing `child`.
pub fn list_cost(items: usize, child: usize) -> usize {
    items.saturating_mul(child).saturating_add(1)
}

/// Whether the client selected `totalCount` on the connection being resolved.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Reads a connection's page of `select` and, when the client asked for it, its total count
/// (in the page's statement: [`pagination::page_and_total`]).
pub async fn fetch<E>(
    ctx: &Context<'_>,
    select: Select<E>,
    req: &PageRequest,
) -> async_graphql::Result<(Page<E::Model>, Option<u64>)>
where
    E: Keyset,
    E::Model: Send + Sync,
{
    let db = context::db(ctx)?;
    pagination::page_and_total(db, select, req, wants_total(ctx))
        .await
        .map_err(errors::db)
}

/// The page of `select` (a listing's select, of `shape`) built whole by the database
/// ([`built`]) when the connection's selection asks only for what `columns` show, counted over
/// the select's rows; `None` when it asks for more (then [`fetch`] it and resolve it as usual).
/// The select is made only when no statement is kept for the page's shape.
pub async fn built<E>(
    ctx: &Context<'_>,
    columns: &[built::Column],
    names: &built::TypeNames,
    shape: &Shape,
    select: impl FnOnce() -> Select<E>,
    req: &PageRequest,
) -> async_graphql::Result<Option<async_graphql::Value>>
where
    E: Keyset,
{
    let Some(plan) = built::plan(ctx, columns) else {
        return Ok(None);
    };
    let db = context::db(ctx)?;
    let value = built::fetch(db, &plan, columns, names, Some(shape), select, req, Total::of)
        .await
        .map_err(errors::db)?;
    Ok(Some(value))
}

/// Declares `$conn` and `$edge` for nodes of type `$node`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $conn_desc:literal, $edge_desc:literal) => {
        #[doc = $edge_desc]
        #[derive(async_graphql::SimpleObject, Clone)]
        pub struct $edge {
            /// Opaque position of this item, for `after`/`before`.
            pub cursor: String,
            /// The item.
            pub node: $node,
        }

        #[doc = $conn_desc]
        pub struct $conn {
            /// The page's edges.
            pub edges: Vec<$edge>,
            /// Where the page sits.
            pub page_info: $crate::graphql::connection::PageInfo,
            /// Items in the whole list, when asked for.
            pub total_count: Option<u64>,
        }

        #[doc = $conn_desc]
        #[async_graphql::Object]
        impl $conn {
            /// The items of this page with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The items of this page.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Where this page sits in the list.
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }

            /// How many items the whole list has (with the same filters).
            async fn total_count(&self) -> u64 {
                self.total_count.unwrap_or_default()
            }
        }

        impl $conn {
            /// Builds the connection from a service page, mapping each row into a node.
            pub fn from_page<T>(
                page: $crate::service::pagination::Page<T>,
                total_count: Option<u64>,
                to_node: impl Fn(T) -> $node,
            ) -> Self {
                let edges: Vec<$edge> = page
                    .rows
                    .into_iter()
                    .map(|(cursor, row)| $edge {
                        cursor: cursor.encode(),
                        node: to_node(row),
                    })
                    .collect();
                Self {
                    page_info: $crate::graphql::connection::PageInfo {
                        has_next_page: page.has_next_page,
                        has_previous_page: page.has_previous_page,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                    total_count,
                }
            }
        }
    };
}
pub(crate) use connection;
