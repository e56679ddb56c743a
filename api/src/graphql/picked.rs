//! A document of several operations, cut down to the one `operationName` picks.
//!
//! async-graphql 7 validates every operation of a document, and adds up the complexity of all
//! of them against the limit, whichever one runs. So a document holding many operations — the
//! demo's walk-through in GraphiQL, a client's whole query file — was refused as too complex
//! although the one it asked for was small. [`keep_picked`] drops the other operations, and
//! the fragments only they use, before validation; the operation that runs is validated and
//! limited as if it had been sent alone.

use std::collections::HashSet;

use async_graphql::{
    Name, Positioned,
    parser::types::{DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

/// Keeps only operation `name` of `doc`, and the fragments it uses. A document of one
/// operation, no name, or a name the document lacks is left as it is (it fails, or runs, as
/// before).
pub fn keep_picked(doc: &mut ExecutableDocument, name: Option<&str>) {
    let (DocumentOperations::Multiple(operations), Some(name)) = (&mut doc.operations, name) else {
        return;
    };
    if operations.len() < 2 || !operations.contains_key(name) {
        return;
    }
    operations.retain(|key, _| key.as_str() == name);
    let mut used = HashSet::new();
    for operation in operations.values() {
        fragments_of(&doc.fragments, &operation.node.selection_set.node, &mut used);
    }
    doc.fragments.retain(|key, _| used.contains(key));
}

type Fragments = std::collections::HashMap<Name, Positioned<FragmentDefinition>>;

/// Adds to `used` the fragments `set` spreads, and theirs in turn.
fn fragments_of(fragments: &Fragments, set: &SelectionSet, used: &mut HashSet<Name>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => fragments_of(fragments, &field.node.selection_set.node, used),
            Selection::InlineFragment(inline) => fragments_of(fragments, &inline.node.selection_set.node, used),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if used.insert(name.clone())
                    && let Some(fragment) = fragments.get(name)
                {
                    fragments_of(fragments, &fragment.node.selection_set.node, used);
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use async_graphql::parser::{parse_query, types::DocumentOperations};

    use super::keep_picked;

    #[test]
    fn only_the_picked_operation_and_its_fragments_stay() {
        let mut doc = parse_query(
            "query A { ...F } query B { ...G x } fragment F on Q { ...H } fragment G on Q { y } fragment H on Q { z }",
        )
        .expect("parses");
        keep_picked(&mut doc, Some("A"));
        let DocumentOperations::Multiple(ops) = &doc.operations else {
            panic!("still named")
        };
        assert_eq!(ops.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["A"]);
        let mut kept: Vec<&str> = doc.fragments.keys().map(|k| k.as_str()).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["F", "H"]);
    }

    #[test]
    fn an_unknown_or_missing_name_changes_nothing() {
        for name in [None, Some("C")] {
            let mut doc = parse_query("query A { x } query B { y }").expect("parses");
            keep_picked(&mut doc, name);
            let DocumentOperations::Multiple(ops) = &doc.operations else {
                panic!("named")
            };
            assert_eq!(ops.len(), 2, "{name:?}");
        }
    }
}
