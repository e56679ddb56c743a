//! Request limits that run before any resolver (QUALITY.md): query length, depth, aliases and
//! directives per field are checked on the parsed document; complexity by async-graphql's
//! validation. Each failure carries `extensions.code` so that the HTTP layer
//! answers 400.

use std::sync::Arc;

use async_graphql::{
    Name, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet},
};
use std::collections::HashMap;

use crate::codes::Code;

/// What async-graphql says, and only says, of a document over the schema's own limits
/// (`Schema::limit_complexity`, and `limit_depth` should it ever be set); it gives the errors no
/// code of their own. A unit test below keeps these in step with the library.
const LIMIT_MESSAGES: [&str; 2] = ["Query is too complex.", "Query is nested too deep."];

/// Deepest nesting of `{`, `[` and `(` a document may have before it is parsed. The parser
/// recurses once per level, so text nested deeper could overflow the stack (and end the
/// process); no query within the depth limit (GraphiQL's introspection query included) comes
/// near this.
pub const MAX_NESTING: usize = 64;

/// The checks that run on the raw text, before the parser sees it: length, then nesting. Both
/// are one pass over the text and cannot fail on any input.
pub fn precheck(query: &str, max_query_length: usize) -> Result<(), ServerError> {
    if query.chars().count() > max_query_length {
        return Err(with_code(
            ServerError::new(format!("query is longer than {max_query_length} characters"), None),
            Code::QueryTooComplex,
        ));
    }
    if nesting(query) > MAX_NESTING {
        return Err(with_code(
            ServerError::new(format!("query is nested deeper than {MAX_NESTING} brackets"), None),
            Code::QueryTooComplex,
        ));
    }
    Ok(())
}

/// The deepest nesting of brackets in `text`, skipping strings, block strings and comments as
/// GraphQL's lexer does. An unterminated string or an unbalanced bracket is left for the parser
/// to refuse; only the depth matters here.
pub fn nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let at = |i: usize, pattern: &[u8]| bytes.get(i..).is_some_and(|rest| rest.starts_with(pattern));
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                    i += 1;
                }
            }
            b'"' if at(i, br#"""""#) => {
                i += 3;
                while i < bytes.len() && !at(i, br#"""""#) {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if at(i, br#"\""""#) { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' | b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Whether the operation a request names (any, when it names none) is of type `ty`.
pub fn names_operation_of(doc: &ExecutableDocument, operation_name: Option<&str>, ty: OperationType) -> bool {
    doc.operations
        .iter()
        .any(|(name, op)| op.node.ty == ty && (operation_name.is_none() || name.map(|n| n.as_str()) == operation_name))
}

/// The limits checked on the parsed document.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Longest query text, in characters.
    pub max_query_length: usize,
    /// Most aliased and repeated fields one document runs (see [`super::executed`]).
    pub max_aliases: usize,
    /// Most directives on one field.
    pub max_directives_per_field: usize,
    /// Deepest nesting of data fields (introspection has its own fixed bounds).
    pub max_depth: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

/// Adds `extensions.code` to an error.
pub fn with_code(mut err: ServerError, code: Code) -> ServerError {
    let mut ext = err.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    err.extensions = Some(ext);
    err
}

#[derive(Default)]
struct Shape {
    max_directives: usize,
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

/// Deepest nesting of introspection fields (GraphiQL's introspection query reaches 13).
const MAX_INTROSPECTION_DEPTH: usize = 16;
/// Most introspection list fields nested in one another (GraphiQL's: `types { fields { args } }`).
/// Bounding this, not just depth, stops `types { fields { type { fields { … } } } }` blow-ups.
const MAX_INTROSPECTION_LISTS: usize = 3;
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
struct Depth {
    data: usize,
    introspection: usize,
    introspection_lists: usize,
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

/// A non-null variable without a default must be given, and not as `null`: a request error (400)
/// rather than the field error async-graphql would report. Checked where the document has one
/// operation; with several, the operation name decides which variables matter.
fn missing_variables(doc: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    let DocumentOperations::Single(op) = &doc.operations else {
        return Ok(());
    };
    for def in &op.node.variable_definitions {
        let def = &def.node;
        let given = variables.get(&def.name.node);
        let missing = given.is_none() || given == Some(&async_graphql::Value::Null);
        if !def.var_type.node.nullable && def.default_value.is_none() && missing {
            let message = format!(
                "variable `${}` of non-null type {} is required",
                def.name.node, def.var_type.node
            );
            return Err(ServerError::new(message, Some(def.name.pos)));
        }
    }
    Ok(())
}

fn max_depth(doc: &ExecutableDocument) -> Depth {
    let (mut memo, mut stack) = (HashMap::new(), Vec::new());
    doc.operations
        .iter()
        .map(|(_, op)| depth(doc, &op.node.selection_set.node, false, &mut memo, &mut stack))
        .fold(Depth::default(), Depth::max)
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

impl DocumentLimits {
    /// The text checked ([`precheck`]) and parsed; parse errors are `BAD_REQUEST`. The document
    /// still has to pass [`Self::check`] (done apart, so that HTTP can refuse a mutation over GET
    /// first).
    pub fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        precheck(query, self.max_query_length)?;
        async_graphql::parser::parse_query(query).map_err(|e| with_code(ServerError::from(e), Code::BadRequest))
    }

    /// The limit of [`Self::check`] that depends on the variables: every required one given.
    pub fn check_variables(&self, doc: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
        missing_variables(doc, variables).map_err(|e| with_code(e, Code::BadRequest))
    }

    /// The limits on a parsed document: variables given, depth, aliases and directives.
    pub fn check(&self, doc: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
        self.check_variables(doc, variables)?;
        let depth = max_depth(doc);
        if depth.data > self.max_depth {
            return Err(with_code(
                ServerError::new(format!("query is nested deeper than {} fields", self.max_depth), None),
                Code::QueryTooComplex,
            ));
        }
        if depth.introspection > MAX_INTROSPECTION_DEPTH || depth.introspection_lists > MAX_INTROSPECTION_LISTS {
            return Err(with_code(
                ServerError::new("introspection query is nested too deep", None),
                Code::QueryTooComplex,
            ));
        }
        if super::executed::copies(doc).total() > self.max_aliases {
            return Err(with_code(
                ServerError::new(
                    format!(
                        "query runs more than {} aliased or repeated fields (fragments counted at each spread)",
                        self.max_aliases
                    ),
                    None,
                ),
                Code::QueryTooComplex,
            ));
        }
        let shape = shape_of(doc);
        if shape.max_directives > self.max_directives_per_field {
            return Err(with_code(
                ServerError::new(
                    format!("a field has more than {} directives", self.max_directives_per_field),
                    None,
                ),
                Code::QueryTooComplex,
            ));
        }
        Ok(())
    }
}

/// The code of a validation error: async-graphql's complexity limit is `QUERY_TOO_COMPLEX`,
/// every other one `BAD_REQUEST`. (The depth limit is Reach's own, [`DocumentLimits::check`].)
pub fn validation_code(error: &ServerError) -> Code {
    if LIMIT_MESSAGES.contains(&error.message.as_str()) {
        Code::QueryTooComplex
    } else {
        Code::BadRequest
    }
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
        precheck(query, self.max_query_length)?;
        let doc = next
            .run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, Code::BadRequest))?;
        self.check(&doc, variables)?;
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
                    let code = validation_code(&e);
                    with_code(e, code)
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Q;

    #[async_graphql::Object]
    impl Q {
        async fn a(&self) -> i32 {
            1
        }
    }

    /// async-graphql's limits answer with [`LIMIT_MESSAGES`], so they keep their code: if a new
    /// version words them otherwise, this test fails.
    #[tokio::test]
    async fn the_complexity_limit_is_told_by_its_message() {
        let schema = async_graphql::Schema::build(Q, async_graphql::EmptyMutation, async_graphql::EmptySubscription)
            .limit_complexity(1)
            .finish();
        let errors = schema.execute("{ a b: a }").await.errors;
        let codes: Vec<Code> = errors.iter().map(validation_code).collect();
        assert_eq!(codes, [Code::QueryTooComplex], "{errors:?}");
        let shallow = async_graphql::Schema::build(Q, async_graphql::EmptyMutation, async_graphql::EmptySubscription)
            .limit_depth(0)
            .finish();
        let deep = shallow.execute("{ a }").await.errors;
        assert_eq!(
            deep.iter().map(validation_code).collect::<Vec<_>>(),
            [Code::QueryTooComplex],
            "{deep:?}"
        );
        let invalid = schema.execute("{ nope }").await.errors;
        assert_eq!(
            invalid.iter().map(validation_code).collect::<Vec<_>>(),
            [Code::BadRequest]
        );
    }

    #[test]
    fn nesting_counts_brackets_of_every_kind() {
        assert_eq!(nesting(""), 0);
        assert_eq!(nesting("{ a(b: [1, {c: 2}]) { d } }"), 4);
        assert_eq!(nesting(&"[".repeat(7000)), 7000);
        assert_eq!(nesting("]]]]{"), 1, "stray closers do not lower the count below zero");
    }

    #[test]
    fn strings_block_strings_and_comments_do_not_count() {
        assert_eq!(nesting(r#"{ a(s: "[[[{{{\"(((") }"#), 2);
        assert_eq!(nesting("{ a(s: \"\"\"[[[ \\\"\"\" {{{ \"\"\") }"), 2);
        assert_eq!(nesting("{ a # [[[[[[\n }"), 1);
        assert_eq!(
            nesting("{ a(s: \"unterminated [[[\n [[ ) }"),
            4,
            "a string ends at the line"
        );
    }

    #[test]
    fn precheck_refuses_long_then_deep_text() {
        assert!(precheck("{ a }", 10).is_ok());
        let long = precheck("{ aaaaaaaaaaaa }", 10).err().map(|e| e.message);
        assert!(long.is_some_and(|m| m.contains("longer")));
        let deep = precheck(&"[".repeat(MAX_NESTING + 1), 15_000).err().map(|e| e.message);
        assert!(deep.is_some_and(|m| m.contains("nested")));
        assert!(precheck(&"[".repeat(MAX_NESTING), 15_000).is_ok());
    }
}
