//! What a document asks the server to run, counted as it will be executed: fragments expanded
//! at every spread, so that a fragment of 14 aliases spread 3 times counts 42. The alias limit
//! counts aliases and repeated fields together, since both make the server resolve one field
//! several times.

use std::collections::HashMap;

use async_graphql::{
    Name,
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// Copies of fields one document runs beyond the first of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copies {
    /// Aliased fields, after fragment expansion.
    pub aliases: usize,
    /// Extra occurrences of one response key in one selection set (after fragment expansion)
    /// where the field takes arguments or has a selection of its own. A plain leaf repeated
    /// (`id` in a fragment and beside it, as Relay-style clients do) costs nothing extra and is
    /// not counted.
    pub repeats: usize,
}

impl Copies {
    /// Aliases and repeats together: what the alias limit bounds.
    pub fn total(&self) -> usize {
        self.aliases.saturating_add(self.repeats)
    }
}

/// The response keys of one selection set, with fragments flattened in: how often each
/// occurs, and whether any occurrence takes arguments or selects further.
#[derive(Clone, Debug, Default)]
struct Tally {
    copies: Copies,
    keys: HashMap<Name, (usize, bool)>,
}

impl Tally {
    fn absorb(&mut self, other: &Tally) {
        self.copies.aliases = self.copies.aliases.saturating_add(other.copies.aliases);
        self.copies.repeats = self.copies.repeats.saturating_add(other.copies.repeats);
        for (key, (n, costly)) in &other.keys {
            let entry = self.keys.entry(key.clone()).or_default();
            entry.0 = entry.0.saturating_add(*n);
            entry.1 |= costly;
        }
    }

    /// Closes a selection set of a field or an operation: its repeated keys become copies.
    fn close(mut self) -> Copies {
        let repeats = self
            .keys
            .values()
            .filter(|(_, costly)| *costly)
            .fold(0usize, |sum, (n, _)| sum.saturating_add(n.saturating_sub(1)));
        self.copies.repeats = self.copies.repeats.saturating_add(repeats);
        self.copies
    }
}

struct Counter<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<Name, Tally>,
    stack: Vec<Name>,
}

impl Counter<'_> {
    fn tally(&mut self, set: &SelectionSet) -> Tally {
        let mut tally = Tally::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let child = self.tally(&field.selection_set.node).close();
                    tally.copies.aliases = tally
                        .copies
                        .aliases
                        .saturating_add(usize::from(field.alias.is_some()))
                        .saturating_add(child.aliases);
                    tally.copies.repeats = tally.copies.repeats.saturating_add(child.repeats);
                    let key = field.alias.as_ref().unwrap_or(&field.name).node.clone();
                    let costly = !field.arguments.is_empty() || !field.selection_set.node.items.is_empty();
                    let entry = tally.keys.entry(key).or_default();
                    entry.0 = entry.0.saturating_add(1);
                    entry.1 |= costly;
                }
                Selection::InlineFragment(f) => {
                    let inner = self.tally(&f.node.selection_set.node);
                    tally.absorb(&inner);
                }
                Selection::FragmentSpread(spread) => {
                    let inner = self.fragment(&spread.node.fragment_name.node);
                    tally.absorb(&inner);
                }
            }
        }
        tally
    }

    /// A fragment's tally, counted once and reused at every spread; a cycle counts nothing
    /// (validation refuses it).
    fn fragment(&mut self, name: &Name) -> Tally {
        if let Some(done) = self.memo.get(name) {
            return done.clone();
        }
        let Some(fragment) = self.doc.fragments.get(name) else {
            return Tally::default();
        };
        if self.stack.contains(name) {
            return Tally::default();
        }
        self.stack.push(name.clone());
        let tally = self.tally(&fragment.node.selection_set.node);
        self.stack.pop();
        self.memo.insert(name.clone(), tally.clone());
        tally
    }
}

/// The copies every operation of `doc` runs, added up.
pub fn copies(doc: &ExecutableDocument) -> Copies {
    let mut counter = Counter {
        doc,
        memo: HashMap::new(),
        stack: Vec::new(),
    };
    let sets: Vec<&SelectionSet> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => ops.values().map(|op| &op.node.selection_set.node).collect(),
    };
    sets.into_iter().fold(Copies::default(), |sum, set| {
        let c = counter.tally(set).close();
        Copies {
            aliases: sum.aliases.saturating_add(c.aliases),
            repeats: sum.repeats.saturating_add(c.repeats),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn count(query: &str) -> Copies {
        copies(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn fragments_count_at_every_spread() {
        let fragment = (0..14).map(|i| format!("a{i}: kind ")).collect::<String>();
        let q = format!(
            "{{ viewer {{ ...F }} b: viewer {{ ...F }} c: viewer {{ ...F }} }} fragment F on Viewer {{ {fragment} }}"
        );
        assert_eq!(count(&q).aliases, 14 * 3 + 2);
    }

    #[test]
    fn nested_spreads_multiply() {
        let q = "{ viewer { ...G } } fragment G on Viewer { ...F ...F2 } fragment F on Viewer { a: kind b: kind } fragment F2 on Viewer { ...F }";
        assert_eq!(count(q).aliases, 4);
    }

    #[test]
    fn repeated_fields_with_work_count_plain_leaves_do_not() {
        assert_eq!(count("{ viewer { kind } viewer { kind } viewer { kind } }").repeats, 2);
        assert_eq!(count("{ node(id: \"1\") { id } node(id: \"1\") { id } }").repeats, 1);
        assert_eq!(
            count("{ viewer { kind kind kind ...F } } fragment F on Viewer { kind }").total(),
            0
        );
        let q = "{ ...F ...F2 } fragment F on Query { viewer { kind } } fragment F2 on Query { ...F }";
        assert_eq!(count(q).repeats, 1);
    }

    #[test]
    fn cycles_and_unknown_fragments_count_nothing() {
        let q = "{ viewer { ...A } } fragment A on Viewer { a: kind ...B } fragment B on Viewer { ...A ...Missing }";
        assert_eq!(count(q).aliases, 1);
    }
}
