//! Bulk writes at INSERT speed. A batch of rows travels as one JSON parameter and the database
//! unpacks it (`jsonb_array_elements` on PostgreSQL, `jsonb_each` on SQLite): a 1,000-row write is
//! one statement with one bound parameter per table, where a multi-row `VALUES` binds one per cell
//! (thousands, each parsed, typed and planned) and needs several statements to stay under the
//! databases' caps. Lists read back (`= ANY($1)` on PostgreSQL) are bound the same way: one
//! parameter whatever their length.
//!
//! Each cell is written as the column's driver would bind it (SQLite: a UUID as a 16-byte blob,
//! a time as RFC 3339 text, JSON as its text), so the rows read back exactly as rows written
//! through the entities.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, Statement,
    sea_query::{Expr, ExprTrait, SimpleExpr, extension::postgres::PgFunc},
};
use serde_json::Value;
use uuid::Uuid;

/// How a column's cells are carried in the JSON and turned back into the column's type. Every
/// kind may be `null` (SQL `NULL`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// A UUID, written with [`uuid`].
    Uuid,
    /// Text, or an enum stored as text.
    Text,
    /// A time, written with [`time`].
    Time,
    /// A 64-bit integer.
    Int,
    /// A JSON document, written with [`json`].
    Json,
    /// No cell of its own: the location of the user whose id is the cell of the column at this
    /// index (a `Uuid` column), read in the same statement (the outbox's `location_id`).
    LocationOfUser(usize),
}

/// A table and the columns a bulk insert fills, in the order of each row's cells.
pub(crate) struct Table {
    /// The table's name.
    pub(crate) name: &'static str,
    /// Its columns and how each is carried.
    pub(crate) columns: &'static [(&'static str, Kind)],
}

/// A UUID cell.
pub(crate) fn uuid(id: Uuid) -> Value {
    Value::String(id.simple().to_string())
}

/// A nullable UUID cell.
pub(crate) fn opt_uuid(id: Option<Uuid>) -> Value {
    id.map_or(Value::Null, uuid)
}

/// A time cell, in the text SQLite's driver stores (PostgreSQL reads it as `timestamptz`), cut to
/// the microseconds PostgreSQL keeps (its driver cuts them too; parsing text would round).
pub(crate) fn time(at: DateTime<Utc>) -> Value {
    Value::String(micros(at).to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// A JSON cell: the document's text, stored as the driver stores a bound document.
pub(crate) fn json(doc: &Value) -> Value {
    Value::String(doc.to_string())
}

/// A text cell.
pub(crate) fn text(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

/// A nullable text cell.
pub(crate) fn opt_text(s: Option<impl Into<String>>) -> Value {
    s.map_or(Value::Null, text)
}

/// `now`, cut to the microseconds PostgreSQL keeps: a model built in memory from it equals the
/// row read back on either database.
pub(crate) fn now() -> DateTime<Utc> {
    micros(Utc::now())
}

fn cell(backend: DbBackend, i: usize, kind: Kind) -> String {
    match backend {
        DbBackend::Postgres => match kind {
            Kind::Uuid => format!("(r->>{i})::uuid"),
            Kind::Text => format!("r->>{i}"),
            Kind::Time => format!("(r->>{i})::timestamptz"),
            Kind::Int => format!("(r->>{i})::bigint"),
            Kind::Json => format!("(r->>{i})::json"),
            Kind::LocationOfUser(user) => location_of(backend, user),
        },
        _ => match kind {
            Kind::Uuid => format!("unhex(value->>{i})"),
            Kind::Text | Kind::Time | Kind::Int | Kind::Json => format!("value->>{i}"),
            Kind::LocationOfUser(user) => location_of(backend, user),
        },
    }
}

/// The location of the user whose id is cell `user`.
fn location_of(backend: DbBackend, user: usize) -> String {
    let user = cell(backend, user, Kind::Uuid);
    format!("(SELECT u.location_id FROM app_user u WHERE u.id = {user})")
}

/// The statement inserting `rows` (each a JSON array of cells, in `table`'s column order) into
/// `table`, in the order given.
pub(crate) fn insert_statement(backend: DbBackend, table: &Table, rows: Vec<Value>) -> Statement {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let cells: Vec<String> = (table.columns.iter().enumerate())
        .map(|(i, (_, kind))| cell(backend, i, *kind))
        .collect();
    let from = match backend {
        DbBackend::Postgres => "FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(r, n) ORDER BY n",
        // `jsonb_each` hands each row over as SQLite's binary JSON, whose cells `->>` reads
        // directly; `json_each` turned each row back into text for `->>` to parse again.
        _ => "FROM jsonb_each(?) ORDER BY key",
    };
    let sql = format!(
        "INSERT INTO {} ({}) SELECT {} {from}",
        table.name,
        columns.join(", "),
        cells.join(", ")
    );
    let rows = Value::Array(rows).to_string();
    Statement::from_sql_and_values(backend, sql, [rows.into()])
}

/// Inserts `rows` (each a JSON array of cells in `table`'s column order) into `table` in one
/// statement, in the order given (an outbox's positions follow it). Nothing to insert runs nothing.
pub(crate) async fn insert(db: &impl ConnectionTrait, table: &Table, rows: Vec<Value>) -> Result<u64, DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    let stmt = insert_statement(db.get_database_backend(), table, rows);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

/// `column` is one of `ids`, bound as one array on PostgreSQL (one parameter whatever the
/// length); SQLite binds a list, far under its cap for a batch.
pub(crate) fn uuid_in(backend: DbBackend, column: impl ColumnTrait, ids: &[Uuid]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::col(column.as_column_ref()).eq(PgFunc::any(Expr::val(ids.to_vec()))),
        _ => column.is_in(ids.iter().copied()),
    }
}

/// `column` is one of `values`, as [`uuid_in`].
pub(crate) fn text_in(backend: DbBackend, column: impl ColumnTrait, values: &[String]) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::col(column.as_column_ref()).eq(PgFunc::any(Expr::val(values.to_vec()))),
        _ => column.is_in(values.iter().cloned()),
    }
}
