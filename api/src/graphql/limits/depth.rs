//! How deep a parsed document's selections go: in data fields, and inside introspection (with
//! its own bounds), fragment spreads followed.

use std::collections::HashMap;

use async_graphql::{
    Name,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Deepest nesting of introspection fields (GraphiQL's introspection query reaches 13).
pub(super) const MAX_INTROSPECTION_DEPTH: usize = 16;
/// Most introspection list fields nested in one another (GraphiQL's: `types { fields { args } }`).
/// Bounding this, not just depth, stops `types { fields { type { fields { … } } } }` blow-ups.
pub(super) const MAX_INTROSPECTION_LISTS: usize = 3;
const INTROSPECTION_LISTS: [&str; 7] = [
    "types",
    "fields",
    "args",
    "inputFields",
    "enumValues",
    "interfaces",
    "possibleTypes",
];

/// How deep a selection goes: in data fields, and inside introspection (`__schema`, `__type`),
/// which is measured on its own because its shape is fixed by the schema and GraphiQL's
/// introspection query nests deeper than any sensible limit for data.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Depth {
    pub(super) data: usize,
    pub(super) introspection: usize,
    pub(super) introspection_lists: usize,
}

impl Depth {
    fn max(self, other: Depth) -> Depth {
        Depth {
            data: self.data.max(other.data),
            introspection: self.introspection.max(other.introspection),
            introspection_lists: self.introspection_lists.max(other.introspection_lists),
        }
    }
}

/// Walks `set`, following fragment spreads (each fragment measured once per context; a cycle
/// counts as nothing, validation refuses it later).
fn depth(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    in_introspection: bool,
    memo: &mut HashMap<(Name, bool), Depth>,
    stack: &mut Vec<Name>,
) -> Depth {
    let mut deepest = Depth::default();
    for item in &set.items {
        let d = match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                let sub = &f.node.selection_set.node;
                if in_introspection {
                    let child = depth(doc, sub, true, memo, stack);
                    Depth {
                        introspection: child.introspection + 1,
                        introspection_lists: child.introspection_lists
                            + usize::from(INTROSPECTION_LISTS.contains(&name)),
                        ..child
                    }
                } else if name == "__typename" {
                    Depth::default()
                } else if name.starts_with("__") {
                    let child = depth(doc, sub, true, memo, stack);
                    Depth {
                        introspection: child.introspection + 1,
                        ..child
                    }
                } else {
                    let child = depth(doc, sub, false, memo, stack);
                    Depth {
                        data: child.data + 1,
                        ..child
                    }
                }
            }
            Selection::InlineFragment(f) => depth(doc, &f.node.selection_set.node, in_introspection, memo, stack),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let key = (name.clone(), in_introspection);
                if let Some(d) = memo.get(&key) {
                    *d
                } else if stack.contains(name) {
                    Depth::default()
                } else if let Some(fragment) = doc.fragments.get(name) {
                    stack.push(name.clone());
                    let d = depth(doc, &fragment.node.selection_set.node, in_introspection, memo, stack);
                    stack.pop();
                    memo.insert(key, d);
                    d
                } else {
                    Depth::default()
                }
            }
        };
        deepest = deepest.max(d);
    }
    deepest
}

pub(super) fn max_depth(doc: &ExecutableDocument) -> Depth {
    let (mut memo, mut stack) = (HashMap::new(), Vec::new());
    doc.operations
        .iter()
        .map(|(_, op)| depth(doc, &op.node.selection_set.node, false, &mut memo, &mut stack))
        .fold(Depth::default(), Depth::max)
}
