//! Response fields in the order they were asked for (GraphQL spec, "Serialized Map Ordering").
//!
//! async-graphql 7 resolves an object's fields concurrently and inserts each as it completes,
//! so a field that waits on the database lands after one that does not. [`Shape::restore`] puts
//! every object of the response back in the order the document asks for (fields merged by
//! response key, fragments expanded in place, as `CollectFields` does). Objects already in order
//! are left as they are.
//!
//! Type conditions are not evaluated: under an interface, a key's place is where it first
//! appears in any of the fragments. Two fragments on different types that ask for the same
//! keys in different orders get the first fragment's order.

use std::sync::Arc;

use async_graphql::{
    Name, Value,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// The document an answer is put in order by: the executed document and the operation picked.
/// The walk is driven by the response: each object's keys are gathered from the selection sets
/// that produced it, one level at a time, so the work is bounded by the response (times the
/// document's size at that level), and a fragment cycle — which validation refuses before any
/// response has data — cannot make it loop.
#[derive(Debug, Clone)]
pub struct Shape {
    doc: Arc<ExecutableDocument>,
    operation: Option<Name>,
}

impl Shape {
    /// The shape of the operation `name` picks in `doc` (the only one when `name` is absent);
    /// `None` when there is no such operation.
    pub fn of(doc: Arc<ExecutableDocument>, name: Option<&str>) -> Option<Self> {
        let operation = match (&doc.operations, name) {
            (DocumentOperations::Single(_), _) => None,
            (DocumentOperations::Multiple(ops), Some(name)) => Some(ops.get_key_value(name)?.0.clone()),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => Some(ops.keys().next()?.clone()),
            (DocumentOperations::Multiple(_), None) => return None,
        };
        Some(Self { doc, operation })
    }

    fn root(&self) -> Option<&SelectionSet> {
        match (&self.doc.operations, &self.operation) {
            (DocumentOperations::Single(op), _) => Some(&op.node.selection_set.node),
            (DocumentOperations::Multiple(ops), Some(name)) => Some(&ops.get(name)?.node.selection_set.node),
            (DocumentOperations::Multiple(_), None) => None,
        }
    }

    /// Puts every object in `value` (the response's `data`) in the order the document asks for.
    pub fn restore(&self, value: &mut Value) {
        if let Some(root) = self.root() {
            restore(&self.doc, &[root], value);
        }
    }
}

/// Orders `value`, which `sets` (merged) selected.
fn restore(doc: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    match value {
        Value::List(items)
            if items
                .iter()
                .any(|item| matches!(item, Value::Object(_) | Value::List(_))) =>
        {
            let fields = collect(doc, sets);
            for item in items {
                restore_with(doc, &fields, item);
            }
        }
        Value::Object(_) => restore_with(doc, &collect(doc, sets), value),
        _ => {}
    }
}

/// Orders `value` by `fields` (its keys in document order, with the sets under each).
fn restore_with(doc: &ExecutableDocument, fields: &[(&Name, Vec<&SelectionSet>)], value: &mut Value) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|item| restore_with(doc, fields, item)),
        Value::Object(map) => {
            let place = |key: &Name| fields.iter().position(|(k, _)| *k == key).unwrap_or(usize::MAX);
            if !map.keys().map(place).is_sorted() {
                map.sort_by_cached_key(|key, _| place(key));
            }
            for (key, child) in map.iter_mut() {
                if let Some((_, sets)) = fields.iter().find(|(k, _)| *k == key)
                    && !sets.is_empty()
                {
                    restore(doc, sets, child);
                }
            }
        }
        _ => {}
    }
}

/// The response keys `sets` select, in document order (fragments expanded where they stand, a
/// key asked for twice kept at its first place), each with its own selection sets.
fn collect<'a>(doc: &'a ExecutableDocument, sets: &[&'a SelectionSet]) -> Vec<(&'a Name, Vec<&'a SelectionSet>)> {
    let mut fields = Vec::new();
    let mut expanded: Vec<&Name> = Vec::new();
    for set in sets {
        gather(doc, set, &mut fields, &mut expanded);
    }
    fields
}

/// Adds the fields of `set` to `fields`. A fragment spread at this level is expanded once
/// (`expanded`), so a cycle or a fan-out of spreads costs no more than the document.
fn gather<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    fields: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
    expanded: &mut Vec<&'a Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let sub = &field.node.selection_set.node;
                let at = match fields.iter().position(|(k, _)| *k == key) {
                    Some(at) => at,
                    None => {
                        fields.push((key, Vec::new()));
                        fields.len() - 1
                    }
                };
                if !sub.items.is_empty() && !fields[at].1.iter().any(|s| std::ptr::eq(*s, sub)) {
                    fields[at].1.push(sub);
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if !expanded.contains(&name)
                    && let Some((name, fragment)) = doc.fragments.get_key_value(name)
                {
                    expanded.push(name);
                    gather(doc, &fragment.node.selection_set.node, fields, expanded);
                }
            }
            Selection::InlineFragment(inline) => gather(doc, &inline.node.selection_set.node, fields, expanded),
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::{Value, parser::parse_query};
    use serde_json::json;

    use super::Shape;

    fn restored(query: &str, data: serde_json::Value) -> String {
        let doc = parse_query(query).expect("the test's query parses");
        let mut value = Value::from_json(data).expect("the test's data is JSON");
        Shape::of(std::sync::Arc::new(doc), None)
            .expect("one operation")
            .restore(&mut value);
        // Serialised straight from the value: `serde_json::Value` would sort the keys.
        serde_json::to_string(&value).expect("serialises")
    }

    #[test]
    fn objects_come_back_in_the_order_asked() {
        let data =
            json!({ "viewer": { "kind": "USER", "user": { "name": "A", "id": "1" }, "roles": [], "name": "A" } });
        assert_eq!(
            restored("{ viewer { name roles kind user { id name } } }", data),
            r#"{"viewer":{"name":"A","roles":[],"kind":"USER","user":{"id":"1","name":"A"}}}"#
        );
    }

    #[test]
    fn aliases_fragments_and_lists_keep_their_places() {
        let data = json!({ "a": { "nodes": [{ "y": 1, "x": 2 }, { "x": 3, "y": 4 }], "t": 9 }, "b": 0 });
        let query = "query { b: viewer { kind } a: f { ...N t } } fragment N on T { nodes { ... on U { x } y } }";
        assert_eq!(
            restored(query, data),
            r#"{"b":0,"a":{"nodes":[{"x":2,"y":1},{"x":3,"y":4}],"t":9}}"#
        );
    }

    #[test]
    fn a_fragment_cycle_or_fan_out_costs_no_more_than_the_response() {
        // Neither passes validation, so neither has data; the walk must still end at once.
        let cycle = "{ ...A } fragment A on Q { v { ...A } }";
        assert_eq!(restored(cycle, json!({ "v": { "v": null } })), r#"{"v":{"v":null}}"#);
        let mut fan = String::from("{ ...F9 } fragment F0 on Q { z }");
        for i in 1..10 {
            let p = i - 1;
            fan.push_str(&format!(
                " fragment F{i} on Q {{ a {{ ...F{p} }} b {{ ...F{p} }} c {{ ...F{p} }} d {{ ...F{p} }} }}"
            ));
        }
        assert_eq!(
            restored(&fan, json!({ "b": null, "a": { "z": 1 } })),
            r#"{"a":{"z":1},"b":null}"#
        );
    }

    #[test]
    fn a_key_asked_twice_keeps_its_first_place() {
        let data = json!({ "v": { "b": 1, "a": { "q": 1, "p": 2 } } });
        assert_eq!(
            restored("{ v { a { p } b a { q } } }", data),
            r#"{"v":{"a":{"p":2,"q":1},"b":1}}"#
        );
    }

    #[test]
    fn the_named_operation_is_the_one_ordered() {
        let doc = parse_query("query A { x y } query B { y x }").expect("parses");
        let mut value = Value::from_json(json!({ "x": 1, "y": 2 })).expect("JSON");
        let doc = std::sync::Arc::new(doc);
        Shape::of(doc.clone(), Some("B")).expect("B").restore(&mut value);
        assert_eq!(serde_json::to_string(&value).expect("serialises"), r#"{"y":2,"x":1}"#);
        assert!(Shape::of(doc, None).is_none());
    }
}
