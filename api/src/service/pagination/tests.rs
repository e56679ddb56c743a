//! Unit tests of keyset pagination: cursors, the inlined SQLite `LIMIT`, `LIKE` escaping and
//! in-memory pages.

use super::*;

fn sqlite(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)
}

#[test]
fn a_bound_limit_is_written_into_the_text() {
    let s = inline_limit(
        sqlite(
            "SELECT a FROM t WHERE b = ? AND c LIKE ? ORDER BY a LIMIT ?",
            vec![1i32.into(), "x".into(), 51u64.into()],
        ),
        51,
    );
    assert_eq!(s.sql, "SELECT a FROM t WHERE b = ? AND c LIKE ? ORDER BY a LIMIT 51");
    assert_eq!(s.values, Some(Values(vec![1i32.into(), "x".into()])));
    // In a sub-select, with values after it.
    let s = inline_limit(
        sqlite(
            "SELECT x FROM (SELECT a FROM t WHERE b = ? LIMIT ?) AS p WHERE ? = 1",
            vec![1i32.into(), 21u64.into(), 2i32.into()],
        ),
        21,
    );
    assert_eq!(
        s.sql,
        "SELECT x FROM (SELECT a FROM t WHERE b = ? LIMIT 21) AS p WHERE ? = 1"
    );
    assert_eq!(s.values, Some(Values(vec![1i32.into(), 2i32.into()])));
}

#[test]
fn anything_unexpected_is_left_bound() {
    let cases = [
        // no limit, two limits, another value where the limit's should be
        sqlite("SELECT a FROM t WHERE b = ?", vec![1i32.into()]),
        sqlite(
            "SELECT * FROM (SELECT a FROM t LIMIT ?) AS p, (SELECT b FROM u LIMIT ?) AS q",
            vec![51u64.into(), 51u64.into()],
        ),
        sqlite("SELECT a FROM t WHERE b = '?' LIMIT ?", vec![51u64.into()]),
        sqlite("SELECT a FROM t LIMIT ?", vec![50u64.into()]),
    ];
    for case in cases {
        let s = inline_limit(case.clone(), 51);
        assert_eq!((s.sql, s.values), (case.sql, case.values));
    }
}

fn postgres(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

#[test]
fn a_numbered_limit_is_written_into_the_text_and_the_rest_renumbered() {
    let s = inline_numbered_limit(
        postgres(
            "SELECT x, (SELECT count(*) FROM u WHERE a = $1) FROM (SELECT a FROM t WHERE b = $2 \
             ORDER BY a LIMIT $3) AS p WHERE c = $4 AND d = $10",
            (1..=10)
                .map(|i| if i == 3 { 51u64.into() } else { Value::from(i) })
                .collect(),
        ),
        51,
    );
    assert_eq!(
        s.sql,
        "SELECT x, (SELECT count(*) FROM u WHERE a = $1) FROM (SELECT a FROM t WHERE b = $2 \
         ORDER BY a LIMIT 51) AS p WHERE c = $3 AND d = $9"
    );
    let rest: Vec<Value> = [1, 2, 4, 5, 6, 7, 8, 9, 10].into_iter().map(Value::from).collect();
    assert_eq!(s.values, Some(Values(rest)));
}

#[test]
fn anything_unexpected_in_a_numbered_text_is_left_bound() {
    let cases = [
        // no limit, two limits, another value, the limit's parameter used twice, a `$` that
        // names no value, a limit that names none
        postgres("SELECT a FROM t WHERE b = $1", vec![1i32.into()]),
        postgres(
            "SELECT * FROM (SELECT a FROM t LIMIT $1) AS p, (SELECT b FROM u LIMIT $2) AS q",
            vec![51u64.into(), 51u64.into()],
        ),
        postgres("SELECT a FROM t LIMIT $1", vec![50u64.into()]),
        postgres("SELECT a FROM t WHERE b < $1 LIMIT $1", vec![51u64.into()]),
        postgres("SELECT a FROM t WHERE b = '$' LIMIT $1", vec![51u64.into()]),
        postgres("SELECT a FROM t WHERE b = $3 LIMIT $1", vec![51u64.into()]),
        postgres("SELECT a FROM t LIMIT $2", vec![51u64.into()]),
    ];
    for case in cases {
        let s = inline_numbered_limit(case.clone(), 51);
        assert_eq!((s.sql, s.values), (case.sql, case.values));
    }
}

#[test]
fn cursor_round_trips_and_rejects_garbage() {
    let c = Cursor {
        key: "anna ß:1".into(),
        id: Uuid::new_v4(),
    };
    assert_eq!(Cursor::decode(&c.encode()), Some(c));
    assert_eq!(Cursor::decode("not a cursor"), None);
    assert_eq!(Cursor::decode(""), None);
    // issue 16 item 2: a forged key with a NUL, or text that is not UTF-8, is no cursor.
    let id = Uuid::new_v4();
    assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(format!("{id}a\u{0}"))), None);
    let mut bytes = id.to_string().into_bytes();
    bytes.push(0xFF);
    assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(bytes)), None);
    assert_eq!(Cursor::decode(&"A".repeat(MAX_CURSOR_TEXT + 4)), None);
}

#[test]
fn like_pattern_escapes_wildcards() {
    assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
}

#[test]
fn in_memory_pages_walk_forward_and_back() {
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let req = |first, after: Option<Uuid>, last, before: Option<Uuid>| PageRequest {
        first,
        last,
        after: after.map(|id| Cursor { key: String::new(), id }),
        before: before.map(|id| Cursor { key: String::new(), id }),
    };
    let ids_of = |p: &Page<Uuid>| p.rows.iter().map(|(_, r)| *r).collect::<Vec<_>>();
    let p = page_in_memory(ids.clone(), |r| *r, &req(Some(2), None, None, None));
    assert_eq!(ids_of(&p), ids[..2]);
    assert!(p.has_next_page && !p.has_previous_page);
    let p = page_in_memory(ids.clone(), |r| *r, &req(Some(2), Some(ids[3]), None, None));
    assert_eq!(ids_of(&p), ids[4..]);
    assert!(!p.has_next_page && p.has_previous_page);
    let p = page_in_memory(ids.clone(), |r| *r, &req(None, None, Some(2), Some(ids[3])));
    assert_eq!(ids_of(&p), ids[1..3]);
    assert!(p.has_next_page && p.has_previous_page);
    assert_eq!(Cursor::decode(&p.rows[0].0.encode()).map(|c| c.id), Some(ids[1]));
}

#[test]
fn a_kept_find_is_the_entitys_own() {
    use sea_orm::{DbBackend, EntityTrait, QueryTrait};
    fn same<E: EntityTrait>() {
        for _ in 0..2 {
            for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
                let kept = super::find::<E>().build(backend).to_string();
                assert_eq!(kept, E::find().build(backend).to_string());
            }
        }
    }
    same::<entity::dynamic_status::Entity>();
    same::<entity::user::Entity>();
    same::<entity::account::Entity>();
}
