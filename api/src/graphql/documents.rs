//! Parsed documents kept by their text (issue 17). A client sends the same few query texts
//! over and over, with other variables; parsing one costs more than many a small listing's
//! statement. A text that parsed and passed every limit of [`DocumentLimits`] is kept, parsed,
//! and the next request with the same text starts from a copy: only the limit that depends on
//! the variables (a required variable not given) is checked again. What fails is never kept, so
//! every error is found and worded as before.
//!
//! Validation against the schema reads the variables' values, so it runs for every request,
//! except for a document that declares no variables: its validation depends on the text and the
//! operation picked alone. Once such a document has run without a request error (so it passed
//! validation), [`Documents::validation`] says so, and the next requests with the same text and
//! operation run on a schema that skips the rules already passed (async-graphql's
//! `ValidationMode::Fast`, which still counts complexity and depth), with the same answer.
//!
//! Bounded: at most [`MAX_ENTRIES`] texts of at most [`MAX_TEXT`] bytes each are kept; when it
//! is full, it is emptied and fills again with what is in use (a stream of ever-new texts only
//! costs what parsing did before).

use std::sync::Arc;

use async_graphql::{ServerResult, Variables, parser::types::ExecutableDocument};

use super::limits::DocumentLimits;
use crate::by_text::ByText;

/// Most texts kept at once.
pub const MAX_ENTRIES: usize = 512;
/// Longest text kept, in bytes (GraphiQL's introspection query is about 2 KiB).
pub const MAX_TEXT: usize = 8 * 1024;

/// Parsed documents by their text; one per server, shared by its requests.
pub struct Documents {
    kept: ByText<ExecutableDocument>,
    /// Keys ([`validated_key`]) of kept documents without variables that passed validation.
    valid: ByText<()>,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            kept: ByText::new(MAX_ENTRIES),
            valid: ByText::new(MAX_ENTRIES),
        }
    }
}

/// The key a validated document is known by: its text and the operation picked, the text's
/// length first (a text may hold any character, a NUL in a comment included, so no separator
/// alone could tell where it ends).
fn validated_key(query: &str, operation: Option<&str>) -> String {
    // `{length}:{query}{operation}`, written piece by piece (it runs at every request).
    let operation = operation.unwrap_or_default();
    let mut number = itoa::Buffer::new();
    let length = number.format(query.len());
    let mut key = String::with_capacity(length.len() + 1 + query.len() + operation.len());
    key.push_str(length);
    key.push(':');
    key.push_str(query);
    key.push_str(operation);
    key
}

/// Whether no operation of `doc` declares a variable (its validation reads no value).
fn declares_no_variables(doc: &ExecutableDocument) -> bool {
    doc.operations
        .iter()
        .all(|(_, op)| op.node.variable_definitions.is_empty())
}

/// A document parsed from a request's text, or the kept one that passed every limit (shared:
/// the executor, which needs a document of its own, copies it only when it runs).
pub struct Parsed {
    /// The document.
    pub doc: Arc<ExecutableDocument>,
    /// Whether it came from the kept documents (its text's limits already passed).
    kept: bool,
}

/// What validation a request's document needs ([`Documents::validation`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Validation {
    /// It passed before: the rules need not run again.
    Passed,
    /// The rules run; when the request then has no request error, record this key.
    Record(String),
    /// The rules run, every time (its variables' values are validated, or it is not kept).
    Always,
}

impl Documents {
    /// The document of `query`: the kept one, or the text checked and parsed
    /// ([`DocumentLimits::parse`]). It still has to pass [`Self::check`].
    pub fn parse(&self, limits: &DocumentLimits, query: &str) -> ServerResult<Parsed> {
        if let Some(doc) = self.kept.get(query) {
            return Ok(Parsed { doc, kept: true });
        }
        Ok(Parsed {
            doc: Arc::new(limits.parse(query)?),
            kept: false,
        })
    }

    /// The limits of [`DocumentLimits::check`] on `parsed` with these variables, in the same
    /// order and with the same errors. A document that passes is kept under `query`.
    pub fn check(
        &self,
        limits: &DocumentLimits,
        query: &str,
        parsed: &Parsed,
        variables: &Variables,
    ) -> ServerResult<()> {
        if parsed.kept {
            // Everything but the variables passed when it was kept.
            return limits.check_variables(&parsed.doc, variables);
        }
        limits.check(&parsed.doc, variables)?;
        if query.len() <= MAX_TEXT {
            self.kept.keep(query, parsed.doc.clone());
        }
        Ok(())
    }

    /// The kept document of `query`, if there is one (it passed every limit).
    pub fn kept(&self, query: &str) -> Option<Arc<ExecutableDocument>> {
        self.kept.get(query)
    }

    /// The document of `query` to hold on to: the kept one, else `doc` (kept from now on when
    /// the text is not too long). Only for a document that passed every limit already (a
    /// websocket subscription that started), so that subscriptions of the same text share one.
    pub fn share(&self, query: &str, doc: ExecutableDocument) -> Arc<ExecutableDocument> {
        if let Some(kept) = self.kept.get(query) {
            return kept;
        }
        let doc = Arc::new(doc);
        if query.len() <= MAX_TEXT {
            self.kept.keep(query, doc.clone());
        }
        doc
    }

    /// What validation `parsed` (the text `query`, running `operation`) needs: none when it is
    /// kept, declares no variables and passed before; otherwise the rules run, and a kept
    /// document without variables is to be recorded ([`Self::passed`]) once it runs without a
    /// request error.
    pub fn validation(&self, query: &str, operation: Option<&str>, parsed: &Parsed) -> Validation {
        if !parsed.kept || !declares_no_variables(&parsed.doc) {
            return Validation::Always;
        }
        let key = validated_key(query, operation);
        if self.valid.get(&key).is_some() {
            Validation::Passed
        } else {
            Validation::Record(key)
        }
    }

    /// Records that the document of `key` ([`Validation::Record`]) passed validation.
    pub fn passed(&self, key: &str) {
        self.valid.keep(key, std::sync::Arc::new(()));
    }

    /// How many texts are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits() -> DocumentLimits {
        DocumentLimits {
            max_query_length: 10_000,
            max_aliases: 30,
            max_directives_per_field: 5,
            max_depth: 4,
        }
    }

    fn vars(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn a_text_that_passed_is_kept_and_its_copy_checks_the_variables_again() {
        let (docs, limits) = (Documents::default(), limits());
        let query = "query($a: ID!) { account(id: $a) { name } }";
        let first = docs.parse(&limits, query).unwrap();
        assert!(!first.kept);
        docs.check(&limits, query, &first, &vars(serde_json::json!({"a": "x"})))
            .unwrap();
        assert_eq!(docs.len(), 1);

        let again = docs.parse(&limits, query).unwrap();
        assert!(again.kept);
        assert_eq!(format!("{:?}", again.doc), format!("{:?}", first.doc));
        let missing = docs
            .check(&limits, query, &again, &vars(serde_json::json!({})))
            .unwrap_err();
        let fresh = limits
            .check(&limits.parse(query).unwrap(), &vars(serde_json::json!({})))
            .unwrap_err();
        assert_eq!(missing.message, fresh.message);
        assert_eq!(missing.extensions, fresh.extensions);
    }

    #[test]
    fn what_fails_is_not_kept() {
        let (docs, limits) = (Documents::default(), limits());
        assert!(docs.parse(&limits, "{ account(id: ").is_err());
        let deep = "{ a { b { c { d { e } } } } }";
        let parsed = docs.parse(&limits, deep).unwrap();
        assert!(docs.check(&limits, deep, &parsed, &Variables::default()).is_err());
        let needs = "query($a: ID!) { account(id: $a) { name } }";
        let parsed = docs.parse(&limits, needs).unwrap();
        assert!(docs.check(&limits, needs, &parsed, &Variables::default()).is_err());
        assert!(docs.is_empty());
        assert!(!docs.parse(&limits, deep).unwrap().kept);
    }

    #[test]
    fn only_a_kept_document_without_variables_that_passed_skips_validation() {
        let (docs, limits) = (Documents::default(), limits());
        let run = |query: &str, variables: serde_json::Value| {
            let parsed = docs.parse(&limits, query).unwrap();
            docs.check(&limits, query, &parsed, &vars(variables)).unwrap();
            parsed
        };
        let plain = "{ viewer { kind } }";
        let first = run(plain, serde_json::json!({}));
        assert_eq!(docs.validation(plain, None, &first), Validation::Always, "not kept yet");
        let second = run(plain, serde_json::json!({}));
        let Validation::Record(key) = docs.validation(plain, None, &second) else {
            panic!("a kept document without variables is recorded once it passes");
        };
        assert_eq!(
            docs.validation(plain, None, &second),
            Validation::Record(key.clone()),
            "not before it passed"
        );
        docs.passed(&key);
        let third = run(plain, serde_json::json!({}));
        assert_eq!(docs.validation(plain, None, &third), Validation::Passed);
        assert!(
            matches!(docs.validation(plain, Some("Other"), &third), Validation::Record(_)),
            "another operation is another key"
        );
        // A text ending where another's operation name begins is another key too.
        assert_ne!(validated_key("{ a } #\0X", None), validated_key("{ a } #", Some("\0X")));

        let with_variables = "query($a: ID!) { account(id: $a) { name } }";
        run(with_variables, serde_json::json!({"a": "x"}));
        let again = run(with_variables, serde_json::json!({"a": "x"}));
        assert_eq!(
            docs.validation(with_variables, None, &again),
            Validation::Always,
            "its variables' values are validated each time"
        );
    }

    #[test]
    fn it_is_bounded() {
        let (docs, limits) = (Documents::default(), limits());
        for i in 0..(MAX_ENTRIES + 10) {
            let query = format!("{{ a{i}: __typename }}");
            let parsed = docs.parse(&limits, &query).unwrap();
            docs.check(&limits, &query, &parsed, &Variables::default()).unwrap();
            assert!(docs.len() <= MAX_ENTRIES);
        }
        let long = format!("{{ __typename {} }}", " ".repeat(MAX_TEXT));
        let parsed = docs.parse(&limits, &long).unwrap();
        let before = docs.len();
        docs.check(&limits, &long, &parsed, &Variables::default()).unwrap();
        assert_eq!(docs.len(), before, "a long text is not kept");
    }
}
