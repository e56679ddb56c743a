//! Keyset (cursor) pagination over `(sort key, id)`: stable while rows are added, one query per
//! page whatever its size.

mod total;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, IdenStatic, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Statement, Value, Values,
    sea_query::{Order, SelectStatement},
};
use uuid::Uuid;

pub use total::{Counting, TOTAL, Total, count_of, page_and_total};

use super::text;

/// `E::find()`: the select of every column of `E`, made once per entity and copied. sea-orm
/// builds each column's expression anew at every `find()` (about 1,000 instructions a column by
/// callgrind's count, 20,000 for a status), which a listing then filters, pages, or narrows to
/// the columns its page shows; a copy costs a quarter of that.
pub fn find<E: EntityTrait>() -> Select<E> {
    use std::{
        any::{Any, TypeId},
        collections::HashMap,
        sync::{LazyLock, RwLock},
    };
    type Kept = HashMap<TypeId, Box<dyn Any + Send + Sync>>;
    static KEPT: LazyLock<RwLock<Kept>> = LazyLock::new(Default::default);
    let kept = |map: &Kept| {
        map.get(&TypeId::of::<E>())
            .and_then(|s| s.downcast_ref::<Select<E>>())
            .cloned()
    };
    if let Some(select) = KEPT.read().ok().and_then(|map| kept(&map)) {
        return select;
    }
    let select = E::find();
    if let Ok(mut map) = KEPT.write() {
        map.insert(TypeId::of::<E>(), Box::new(select.clone()));
    }
    select
}

/// What the caller's select adds to its listing's statement: `listing` and `variant` name the
/// select's form, `values` every value it binds. Two selects of one listing and variant must be
/// the same statement but for `values` (each slot bound where the other's is); the [`Shape`]
/// is written beside the function that makes the select, so that they change together.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The listing, unique among the listings.
    pub listing: &'static str,
    /// The select's form within the listing: which of its filters apply, how many values a
    /// list of them holds.
    pub variant: String,
    /// The values the select binds, in any order (a value bound twice is listed once).
    pub values: Vec<Value>,
}

impl Shape {
    /// A listing's select in its plainest form, binding nothing yet.
    pub fn new(listing: &'static str) -> Self {
        Self {
            listing,
            variant: String::new(),
            values: Vec::new(),
        }
    }

    /// The select with a part of its form named `form` (unique within the listing) binding
    /// `values`.
    pub fn and(mut self, form: &str, values: impl IntoIterator<Item = Value>) -> Self {
        self.variant.push_str(form);
        self.variant.push(';');
        self.values.extend(values);
        self
    }

    /// The select with a substring filter named `form` when `text` is given: it binds the
    /// text's [`like_pattern`].
    pub fn and_text(self, form: &str, text: Option<&str>) -> Self {
        match text {
            Some(t) => self.and(form, [Value::from(like_pattern(t))]),
            None => self,
        }
    }
}

/// Longest cursor text read, in bytes: a sort key is a lower-cased name of at most 200
/// characters (or a number, or a timestamp), far below this once encoded.
const MAX_CURSOR_TEXT: usize = 4096;

/// A position in a list: the sort key and id of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The row's sort key.
    pub key: String,
    /// The row's id.
    pub id: Uuid,
}

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}{}", self.id, self.key))
    }

    /// Reads the opaque text form; `None` when it is not one of ours: too long, not UTF-8, or
    /// a key with a control character (a forged cursor: no sort key holds one, and PostgreSQL
    /// would refuse a NUL with an error of its own; issue 16 item 2).
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > MAX_CURSOR_TEXT {
            return None;
        }
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let id = Uuid::parse_str(raw.get(..36)?).ok()?;
        let key = raw.get(36..)?;
        text::no_control(key).ok()?;
        Some(Self {
            id,
            key: key.to_owned(),
        })
    }
}

/// Which page to read: `first` rows after `after`, or the `last` rows before `before`.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    /// Rows from the start (after `after`).
    pub first: Option<u64>,
    /// Rows before the end (before `before`).
    pub last: Option<u64>,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// End before this row.
    pub before: Option<Cursor>,
}

/// One page of rows with their cursors.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// Rows and their cursors, in list order.
    pub rows: Vec<(Cursor, T)>,
    /// More rows follow the page.
    pub has_next_page: bool,
    /// Rows precede the page.
    pub has_previous_page: bool,
}

/// A table listed in a stable order: by a sort key, then by id.
pub trait Keyset: EntityTrait {
    /// The sort-key column.
    fn sort_column() -> Self::Column;
    /// The id column, breaking ties.
    fn id_column() -> Self::Column;
    /// A row's position.
    fn cursor(row: &Self::Model) -> Cursor;
    /// Whether the list runs from the largest key down (newest first, say).
    const DESCENDING: bool = false;
}

/// Reads one page of `select` in its table's order.
pub async fn page<E>(db: &impl ConnectionTrait, select: Select<E>, req: &PageRequest) -> Result<Page<E::Model>, DbErr>
where
    E: Keyset,
    E::Model: Send + Sync,
{
    let statement = statement(db, keyset::<E, _>(select, req).into_query(), req);
    let rows = E::find().from_raw_sql(statement).all(db).await?;
    Ok(assemble(rows, req, E::cursor))
}

/// `query` (a page of [`keyset`], or a statement around one) as `db` runs it: the page's
/// `LIMIT` is written into the text ([`inline_limit`] on SQLite, [`inline_numbered_limit`] on
/// PostgreSQL).
pub fn statement(db: &impl ConnectionTrait, query: SelectStatement, req: &PageRequest) -> Statement {
    let backend = db.get_database_backend();
    let statement = backend.build(&query);
    match backend {
        DbBackend::Sqlite => inline_limit(statement, window(req).0 + 1),
        DbBackend::Postgres => inline_numbered_limit(statement, window(req).0 + 1),
        _ => statement,
    }
}

/// [`inline_limit`] for PostgreSQL's numbered parameters: the one `LIMIT $k` bound to `limit`
/// written as `LIMIT <limit>`, and the parameters after it numbered one lower. PostgreSQL plans
/// a prepared statement again at every execution while its generic plan (made without the
/// values) is costed well above the plans made with them, and a bound `LIMIT` is costed as if
/// it kept a tenth of the rows: on the bench's plain page of 10,000 users, binding took 0.40 ms
/// against the hand-written statement's 0.13 ms, of a 1.2 ms run. Unchanged unless the text
/// has exactly one `LIMIT $k`, `$k` appears nowhere else, binds `limit`, and every `$n` of the
/// text names one of the values (the text's other literals are names and keys that hold no
/// `$`).
pub fn inline_numbered_limit(statement: Statement, limit: u64) -> Statement {
    const BOUND: &str = " LIMIT $";
    let sql = &statement.sql;
    let mut found = sql.match_indices(BOUND);
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return statement;
    };
    let Some(Values(values)) = &statement.values else {
        return statement;
    };
    let number = |from: usize| {
        let digits = sql[from..].bytes().take_while(u8::is_ascii_digit).count();
        sql[from..from + digits]
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=values.len()).contains(n))
            .map(|n| (n, digits))
    };
    let dollar = at + BOUND.len() - 1;
    let Some((k, _)) = number(dollar + 1) else {
        return statement;
    };
    if !matches!(values.get(k - 1), Some(Value::BigUnsigned(Some(n))) if *n == limit) {
        return statement;
    }
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for (i, _) in sql.match_indices('$') {
        let Some((n, digits)) = number(i + 1) else {
            return statement;
        };
        out.push_str(&sql[copied..i]);
        match (i == dollar, n.cmp(&k)) {
            (true, _) => out.push_str(&limit.to_string()),
            (false, std::cmp::Ordering::Less) => out.push_str(&format!("${n}")),
            (false, std::cmp::Ordering::Greater) => out.push_str(&format!("${}", n - 1)),
            (false, std::cmp::Ordering::Equal) => return statement,
        }
        copied = i + 1 + digits;
    }
    out.push_str(&sql[copied..]);
    let mut values = values.clone();
    values.remove(k - 1);
    Statement {
        sql: out,
        values: Some(Values(values)),
        db_backend: statement.db_backend,
    }
}

/// `statement` with its one `LIMIT ?` bound to `limit` written as `LIMIT <limit>`. SQLite plans
/// a page with the value of a bound `LIMIT` and so prepares its cached statement again at every
/// execution when the value is bound (`sqlite3Reprepare`: about as much CPU as running a small
/// page); a literal keeps the prepared plan. Unchanged unless the text has exactly one `LIMIT ?`
/// and the value it binds, counted by the `?` before it, is `limit` (the text's other literals
/// are names and keys that hold no `?`).
pub fn inline_limit(statement: Statement, limit: u64) -> Statement {
    const BOUND: &str = " LIMIT ?";
    let mut found = statement.sql.match_indices(BOUND);
    let (Some((at, _)), None) = (found.next(), found.next()) else {
        return statement;
    };
    let index = statement.sql[..at].matches('?').count();
    let Some(Values(values)) = &statement.values else {
        return statement;
    };
    if !matches!(values.get(index), Some(Value::BigUnsigned(Some(n))) if *n == limit) {
        return statement;
    }
    let mut values = values.clone();
    values.remove(index);
    let sql = format!(
        "{} LIMIT {limit}{}",
        &statement.sql[..at],
        &statement.sql[at + BOUND.len()..]
    );
    Statement {
        sql,
        values: Some(Values(values)),
        db_backend: statement.db_backend,
    }
}

/// `select` narrowed to one page in `E`'s order: the rows beyond the request's cursors, sorted
/// in the direction it reads, one more than it wants (the extra row says whether more follow).
/// Any select over `E` (joined to other tables, selecting theirs too) pages this way; read its
/// rows and hand them to [`assemble`].
pub fn keyset<E, S>(select: S, req: &PageRequest) -> S
where
    E: Keyset,
    S: QueryFilter + QueryOrder + QuerySelect,
{
    let (sort, id) = (E::sort_column(), E::id_column());
    // A list in id order alone (its sort column is its id) pages by id: its cursors' keys are
    // empty, as [`page_in_memory`]'s are.
    let by_id = sort.as_str() == id.as_str();
    // Rows strictly after (`later`) or before a cursor, in list order.
    let beyond = |c: &Cursor, later: bool| {
        let (key, key_id) = (c.key.clone(), c.id);
        let (past_key, past_id) = if later != E::DESCENDING {
            (sort.gt(key.clone()), id.gt(key_id))
        } else {
            (sort.lt(key.clone()), id.lt(key_id))
        };
        if by_id {
            return Condition::all().add(past_id);
        }
        Condition::any()
            .add(past_key)
            .add(Condition::all().add(sort.eq(key)).add(past_id))
    };
    let mut select = select;
    if let Some(after) = &req.after {
        select = select.filter(beyond(after, true));
    }
    if let Some(before) = &req.before {
        select = select.filter(beyond(before, false));
    }
    let order = reading_order::<E>(req);
    select
        .order_by(sort, order.clone())
        .order_by(id, order)
        .limit(window(req).0 + 1)
}

/// The order a page of `req` reads `E`'s rows in: the list's own, or its reverse when reading
/// backwards from the end (`last`).
fn reading_order<E: Keyset>(req: &PageRequest) -> Order {
    if window(req).1 != E::DESCENDING {
        Order::Desc
    } else {
        Order::Asc
    }
}

/// How many rows a request wants, and whether it reads backwards (`last`, from the end).
pub fn window(req: &PageRequest) -> (u64, bool) {
    let backward = req.first.is_none() && req.last.is_some();
    (if backward { req.last } else { req.first }.unwrap_or(20), backward)
}

/// The page from up to `limit + 1` rows read in the request's direction (the extra row says
/// whether more follow), in list order.
pub fn assemble<M>(mut rows: Vec<M>, req: &PageRequest, cursor: impl Fn(&M) -> Cursor) -> Page<M> {
    let (limit, backward) = window(req);
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    let rows = rows.into_iter().map(|m| (cursor(&m), m)).collect();
    let (has_next_page, has_previous_page) = flags(more, req);
    Page {
        rows,
        has_next_page,
        has_previous_page,
    }
}

/// `(hasNextPage, hasPreviousPage)` of a page that read `more` rows than it shows: past the
/// page's end in the direction it reads, and before it when it starts at a cursor.
pub fn flags(more: bool, req: &PageRequest) -> (bool, bool) {
    if window(req).1 {
        (req.before.is_some(), more)
    } else {
        (more, req.after.is_some())
    }
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `LIKE '%…%' ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Pages a short list already in memory and sorted by id (UUIDv7 ids sort by creation), with
/// the same cursors and page flags as [`page`]: for per-user lists capped at a hundred rows that
/// are loaded whole, in one batch for a page of users.
pub fn page_in_memory<T>(rows: Vec<T>, id: impl Fn(&T) -> Uuid, req: &PageRequest) -> Page<T> {
    let mut rows: Vec<T> = rows
        .into_iter()
        .filter(|r| req.after.as_ref().is_none_or(|c| id(r) > c.id))
        .filter(|r| req.before.as_ref().is_none_or(|c| id(r) < c.id))
        .collect();
    let backward = req.first.is_none() && req.last.is_some();
    let limit = if backward { req.last } else { req.first }.unwrap_or(20) as usize;
    let more = rows.len() > limit;
    if backward {
        rows.drain(..rows.len().saturating_sub(limit));
    } else {
        rows.truncate(limit);
    }
    let rows = rows
        .into_iter()
        .map(|r| {
            let cursor = Cursor {
                key: String::new(),
                id: id(&r),
            };
            (cursor, r)
        })
        .collect();
    if backward {
        Page {
            rows,
            has_next_page: req.before.is_some(),
            has_previous_page: more,
        }
    } else {
        Page {
            rows,
            has_next_page: more,
            has_previous_page: req.after.is_some(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
