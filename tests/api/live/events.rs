//! The typed event model (issue 18): every event type this version records decodes from rows
//! written before the model existed and encodes back to the same stored form. The fixture holds
//! one real row for each shape each type took in a full run of the suite on the code before the
//! model (`event_type`, `aggregate_type`, `payload` as stored).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use entity::event::{Event, KINDS};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("../fixtures/outbox_events.jsonl");

fn rows() -> Vec<Value> {
    FIXTURE.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn e1_rows_written_before_the_typed_model_decode_and_encode_back_the_same() {
    for row in rows() {
        let kind = row["event_type"].as_str().unwrap();
        let event = Event::decode(kind, &row["payload"])
            .unwrap_or_else(|e| panic!("{kind}: {e}"))
            .unwrap_or_else(|| panic!("{kind}: not a known type"));
        assert_eq!(event.kind(), kind);
        assert_eq!(
            event.aggregate_type(),
            row["aggregate_type"].as_str().unwrap(),
            "{kind}"
        );
        assert_eq!(event.payload(), row["payload"], "{kind}: the stored form is kept");
    }
}

#[test]
fn e1_the_fixture_holds_every_event_type() {
    let stored: BTreeSet<String> = rows()
        .iter()
        .map(|r| r["event_type"].as_str().unwrap().to_owned())
        .collect();
    let known: BTreeSet<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(stored, known);
}

#[test]
fn e1_an_unknown_type_is_none_and_a_malformed_payload_an_error() {
    assert!(Event::decode("account.renamed", &json!({})).unwrap().is_none());
    assert!(Event::decode("user.created", &json!({ "name": 1 })).is_err());
    assert!(Event::decode("location.created", &Value::Null).is_err());
}

/// `docs/events.md`: the catalogue's row of each event type names its object and every field its
/// payload holds (from the fixture's real rows), and it lists no type Reach does not record.
#[test]
fn e1_the_catalogue_lists_every_event_type_and_its_fields() {
    let doc = include_str!("../../../docs/events.md");
    let catalogue: Vec<Vec<&str>> = (doc.lines())
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    let row_of = |kind: &str| {
        (catalogue.iter())
            .find(|cells| cells[1] == format!("`{kind}`"))
            .unwrap_or_else(|| panic!("docs/events.md has no row for {kind}"))
    };
    for row in rows() {
        let kind = row["event_type"].as_str().unwrap();
        let cells = row_of(kind);
        assert_eq!(cells[2], row["aggregate_type"].as_str().unwrap(), "{kind}: its object");
        for field in row["payload"].as_object().unwrap().keys() {
            // A field shared with another row is written "as `other.type`".
            let named = cells[4].contains(&format!("`{field}`"));
            let shared = cells[4].starts_with("as `");
            assert!(named || shared, "{kind}: docs/events.md does not name `{field}`");
        }
    }
    let listed: BTreeSet<&str> = (catalogue.iter())
        .map(|cells| cells[1].trim_matches('`'))
        .filter(|k| k.contains('.'))
        .collect();
    assert_eq!(listed, KINDS.iter().copied().collect::<BTreeSet<_>>());
}
