//! Request limits that run before any resolver (QUALITY.md): query length, depth, aliases and
//! directives per field are checked on the parsed document; complexity by async-graphql's
//! validation. Each failure carries `extensions.code` so that the HTTP layer
//! answers 400.

use std::sync::Arc;

use async_graphql::{
    Name, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};
use std::collections::HashMap;

/// Code of a request refused for its size or shape.
pub const TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// Code of a request that is not valid GraphQL for this schema.
pub const BAD_REQUEST: &str = "BAD_REQUEST";

/// The limits checked on the parsed document.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Longest query text, in characters.
    pub max_query_length: usize,
    /// Most aliases in one document.
    pub max_aliases: usize,
    /// Most directives on one field.
    pub max_directives_per_field: usize,
    /// Deepest nesting of fields (introspection exempt).
    pub max_depth: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// Adds `extensions.code` to an error.
pub fn with_code(mut err: ServerError, code: &str) -> ServerError {
    let mut ext = err.extensions.take().unwrap_or_default();
    ext.set("code", code);
    err.extensions = Some(ext);
    err
}

#[derive(Default)]
struct Shape {
    aliases: usize,
    max_directives: usize,
}

fn walk(set: &SelectionSet, shape: &mut Shape) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                shape.aliases += usize::from(f.node.alias.is_some());
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

/// The deepest chain of fields below `set`, following fragment spreads (each fragment's depth is
/// computed once, and a cycle counts as nothing: validation refuses it later). Introspection
/// (`__schema`, `__type`, `__typename`) is exempt: its shape is fixed by the schema, and GraphiQL's
/// own introspection query nests deeper than any sensible limit for data.
fn depth(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    memo: &mut HashMap<Name, usize>,
    stack: &mut Vec<Name>,
) -> usize {
    let mut deepest = 0;
    for item in &set.items {
        let d = match &item.node {
            Selection::Field(f) if f.node.name.node.starts_with("__") => 0,
            Selection::Field(f) => 1 + depth(doc, &f.node.selection_set.node, memo, stack),
            Selection::InlineFragment(f) => depth(doc, &f.node.selection_set.node, memo, stack),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if let Some(d) = memo.get(name) {
                    *d
                } else if stack.contains(name) {
                    0
                } else if let Some(fragment) = doc.fragments.get(name) {
                    stack.push(name.clone());
                    let d = depth(doc, &fragment.node.selection_set.node, memo, stack);
                    stack.pop();
                    memo.insert(name.clone(), d);
                    d
                } else {
                    0
                }
            }
        };
        deepest = deepest.max(d);
    }
    deepest
}

fn max_depth(doc: &ExecutableDocument) -> usize {
    let (mut memo, mut stack) = (HashMap::new(), Vec::new());
    doc.operations
        .iter()
        .map(|(_, op)| depth(doc, &op.node.selection_set.node, &mut memo, &mut stack))
        .max()
        .unwrap_or(0)
}

fn shape_of(doc: &ExecutableDocument) -> Shape {
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

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if query.chars().count() > self.max_query_length {
            return Err(with_code(
                ServerError::new(
                    format!("query is longer than {} characters", self.max_query_length),
                    None,
                ),
                TOO_COMPLEX,
            ));
        }
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, BAD_REQUEST))?;
        if max_depth(&doc) > self.max_depth {
            return Err(with_code(
                ServerError::new(format!("query is nested deeper than {} fields", self.max_depth), None),
                TOO_COMPLEX,
            ));
        }
        let shape = shape_of(&doc);
        if shape.aliases > self.max_aliases {
            return Err(with_code(
                ServerError::new(format!("query has more than {} aliases", self.max_aliases), None),
                TOO_COMPLEX,
            ));
        }
        if shape.max_directives > self.max_directives_per_field {
            return Err(with_code(
                ServerError::new(
                    format!("a field has more than {} directives", self.max_directives_per_field),
                    None,
                ),
                TOO_COMPLEX,
            ));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    // async-graphql's own limit errors: "Query is too complex." / "nested too deep."
                    let code = if e.message.starts_with("Query is too complex")
                        || e.message.starts_with("Query is nested too deep")
                    {
                        TOO_COMPLEX
                    } else {
                        BAD_REQUEST
                    };
                    with_code(e, code)
                })
                .collect()
        })
    }
}
