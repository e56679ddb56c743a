//! Lists already in memory written as JSON text (issue 17). A bulk mutation answers with up to
//! 1,000 objects (`mobilityUsersEnable`'s `mobilityUsers`, `usersImport`'s `users`); resolved field by field, they cost
//! the request several milliseconds of async-graphql's execution. When the list's items show
//! only fields [`Writes`] can write, and the response can carry text as it is (HTTP's
//! [`Verbatim`]), the list is written as one JSON array instead; otherwise it resolves as usual.
//! The GraphQL type is the list's: the schema does not change.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value, parser::types::Field, registry::Registry,
};

use super::{NodeItem, items_by_name};
use crate::graphql::verbatim::Verbatim;

/// An object whose fields, some of them, can be written straight as JSON.
pub trait Writes: OutputType {
    /// The fields it writes, by GraphQL name.
    const FIELDS: &'static [&'static str];

    /// Writes the value of `FIELDS[field]` to `out` as JSON: what its resolver answers.
    fn write(&self, field: usize, out: &mut String);
}

/// A list of `T`, written whole when it can be (see the module).
pub struct Listed<T>(pub Vec<T>);

/// A JSON string of `text`, as the response's serializer writes it.
pub fn write_text(text: &str, out: &mut String) {
    // Writing to a String cannot fail, and serde_json escapes as the response does.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// A JSON string of `text`, or `null`.
pub fn write_opt_text(text: Option<&str>, out: &mut String) {
    match text {
        Some(text) => write_text(text, out),
        None => out.push_str("null"),
    }
}

/// The list `items` as one JSON array, each item an object of `shown` in the client's order.
fn written<T: Writes>(items: &[T], shown: &[(Name, NodeItem)]) -> String {
    let keys: Vec<String> = shown
        .iter()
        .map(|(key, _)| {
            let mut k = String::new();
            write_text(key.as_str(), &mut k);
            k
        })
        .collect();
    let mut type_name = String::new();
    write_text(&T::type_name(), &mut type_name);
    let mut out = String::with_capacity(items.len() * 32 * shown.len().max(1) + 2);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        for (j, ((_, what), key)) in shown.iter().zip(&keys).enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push(':');
            match what {
                NodeItem::Column(f) => item.write(*f, &mut out),
                NodeItem::TypeName => out.push_str(&type_name),
            }
        }
        out.push('}');
    }
    out.push(']');
    out
}

impl<T: Writes + Send + Sync> OutputType for Listed<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(verbatim) = ctx.data_opt::<Verbatim>()
            && let Some(shown) = items_by_name(&field.node, |name| T::FIELDS.iter().position(|f| *f == name))
        {
            return Ok(verbatim.hold(written(&self.0, &shown)));
        }
        self.0.resolve(ctx, field).await
    }
}
