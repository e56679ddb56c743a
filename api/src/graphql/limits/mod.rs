//! Request limits that run before any resolver (QUALITY.md): query length, depth, aliases and
//! directives per field are checked on the parsed document; complexity by async-graphql's
//! validation. Each failure carries `extensions.code` so that the HTTP layer
//! answers 400.

mod depth;
mod directives;
mod text;

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};

use crate::codes::Code;
use depth::{MAX_INTROSPECTION_DEPTH, MAX_INTROSPECTION_LISTS, max_depth};
use directives::shape_of;

pub use text::{MAX_NESTING, nesting, precheck};

/// What async-graphql says, and only says, of a document over the schema's own limits
/// (`Schema::limit_complexity`, and `limit_depth` should it ever be set); it gives the errors no
/// code of their own. A unit test below keeps these in step with the library.
const LIMIT_MESSAGES: [&str; 2] = ["Query is too complex.", "Query is nested too deep."];

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
}
