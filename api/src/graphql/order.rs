//! Response fields in the order they were asked for (GraphQL spec, "Serialized Map Ordering").
//!
//! async-graphql 7 resolves an object's fields concurrently and inserts each as it completes,
//! so a field that waits on the database lands after one that does not. [`Shape`] is the order
//! the document asks for, taken before execution (fields merged by response key, fragments
//! expanded in place, as `CollectFields` does), and [`Shape::restore`] puts every object of the
//! response back in that order. Objects already in order are left as they are.
//!
//! Type conditions are not evaluated: under an interface, a key's place is where it first
//! appears in any of the fragments. Two fragments on different types that ask for the same
//! keys in different orders get the first fragment's order.

use async_graphql::{
    Name, Value,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// The order of the response keys of one selection set, and of each key's own selection.
#[derive(Debug, Default)]
pub struct Shape {
    fields: Vec<(Name, Shape)>,
}

impl Shape {
    /// The shape of the operation `name` picks in `doc` (the only one when `name` is absent);
    /// `None` when there is no such operation.
    pub fn of(doc: &ExecutableDocument, name: Option<&str>) -> Option<Self> {
        let operation = match (&doc.operations, name) {
            (DocumentOperations::Single(op), _) => op,
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
            (DocumentOperations::Multiple(_), None) => return None,
        };
        Some(Self::collect(doc, &[&operation.node.selection_set.node]))
    }

    /// The shape of these selection sets merged (a key asked for in several keeps its first place).
    fn collect(doc: &ExecutableDocument, sets: &[&SelectionSet]) -> Self {
        let mut keys: Vec<(Name, Vec<&SelectionSet>)> = Vec::new();
        for set in sets {
            gather(doc, set, &mut keys, 0);
        }
        Self {
            fields: keys
                .into_iter()
                .map(|(key, sets)| {
                    let shape = if sets.is_empty() {
                        Self::default()
                    } else {
                        Self::collect(doc, &sets)
                    };
                    (key, shape)
                })
                .collect(),
        }
    }

    /// Puts every object in `value` (the response's `data`) in this shape's order.
    pub fn restore(&self, value: &mut Value) {
        if self.fields.is_empty() {
            return;
        }
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.restore(item)),
            Value::Object(map) => {
                let place = |key: &Name| self.fields.iter().position(|(k, _)| k == key).unwrap_or(usize::MAX);
                if !map.keys().map(place).is_sorted() {
                    map.sort_by_cached_key(|key, _| place(key));
                }
                for (key, shape) in &self.fields {
                    if let Some(child) = map.get_mut(key) {
                        shape.restore(child);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Adds the fields of `set` to `keys` in document order, fragments expanded where they stand.
/// `depth` stops a fragment cycle (validation refuses one; this only keeps the walk finite).
fn gather<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    keys: &mut Vec<(Name, Vec<&'a SelectionSet>)>,
    depth: usize,
) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let sub = &field.node.selection_set.node;
                let at = match keys.iter().position(|(k, _)| k == key) {
                    Some(at) => at,
                    None => {
                        keys.push((key.clone(), Vec::new()));
                        keys.len() - 1
                    }
                };
                if !sub.items.is_empty() {
                    keys[at].1.push(sub);
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                    gather(doc, &fragment.node.selection_set.node, keys, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => gather(doc, &inline.node.selection_set.node, keys, depth + 1),
        }
    }
}

/// How deep fragments may nest in the walk.
const MAX_FRAGMENT_DEPTH: usize = 64;

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::{Value, parser::parse_query};
    use serde_json::json;

    use super::Shape;

    fn restored(query: &str, data: serde_json::Value) -> String {
        let doc = parse_query(query).expect("the test's query parses");
        let mut value = Value::from_json(data).expect("the test's data is JSON");
        Shape::of(&doc, None).expect("one operation").restore(&mut value);
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
        Shape::of(&doc, Some("B")).expect("B").restore(&mut value);
        assert_eq!(serde_json::to_string(&value).expect("serialises"), r#"{"y":2,"x":1}"#);
        assert!(Shape::of(&doc, None).is_none());
    }
}
