//! The most directives any one field, inline fragment or spread of a document carries.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};

#[derive(Default)]
pub(super) struct Shape {
    pub(super) max_directives: usize,
}

fn walk(set: &SelectionSet, shape: &mut Shape) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                shape.max_directives = shape.max_directives.max(f.node.directives.len());
                walk(&f.node.selection_set.node, shape);
            }
            Selection::InlineFragment(f) => {
                shape.max_directives = shape.max_directives.max(f.node.directives.len());
                walk(&f.node.selection_set.node, shape);
            }
            Selection::FragmentSpread(f) => {
                shape.max_directives = shape.max_directives.max(f.node.directives.len());
            }
        }
    }
}

pub(super) fn shape_of(doc: &ExecutableDocument) -> Shape {
    let mut shape = Shape::default();
    match &doc.operations {
        DocumentOperations::Single(op) => walk(&op.node.selection_set.node, &mut shape),
        DocumentOperations::Multiple(ops) => {
            for op in ops.values() {
                walk(&op.node.selection_set.node, &mut shape);
            }
        }
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut shape);
    }
    shape
}
