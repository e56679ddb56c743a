//! Checked query arguments (issue 16 item 2): free text and global ids are read through these
//! types, so a 50,000-character search, a NUL byte or a format character is answered
//! `BAD_REQUEST` before any resolver runs and never reaches SQL. They show in the schema as
//! the `String` and `ID` they read, so clients and `schema.graphql` see no change.

use std::borrow::Cow;

use async_graphql::{ID, InputType, InputValueError, InputValueResult, Value, registry::Registry};

use crate::codes::Code;
use crate::service::text::{self, TextError};

fn refused<T: InputType>(e: TextError) -> InputValueError<T> {
    InputValueError::custom(e).with_extension("code", Code::BadRequest.as_str())
}

/// A free-text search or filter argument: at most
/// [`MAX_SEARCH_CHARS`](crate::service::text::MAX_SEARCH_CHARS) characters, no control or format
/// characters. Every query argument that reaches a `LIKE` pattern is one of these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl InputType for SearchText {
    type RawValueType = String;

    fn type_name() -> Cow<'static, str> {
        <String as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <String as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let raw = <String as InputType>::parse(value).map_err(InputValueError::propagate)?;
        text::search(&raw).map_err(refused)?;
        Ok(Self(raw))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }
}

/// A global id given to a query or subscription: one with a control character is no id of
/// ours and is refused as a bad request, rather than answered as an unknown object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdArg(ID);

impl std::ops::Deref for IdArg {
    type Target = ID;

    fn deref(&self) -> &ID {
        &self.0
    }
}

impl InputType for IdArg {
    type RawValueType = ID;

    fn type_name() -> Cow<'static, str> {
        <ID as InputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <ID as InputType>::create_type_info(registry)
    }

    fn parse(value: Option<Value>) -> InputValueResult<Self> {
        let id = <ID as InputType>::parse(value).map_err(InputValueError::propagate)?;
        text::no_control(&id).map_err(refused)?;
        Ok(Self(id))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T: InputType>(r: InputValueResult<T>) -> Option<String> {
        let err = r.err()?.into_server_error(async_graphql::Pos::default());
        match err.extensions?.get("code") {
            Some(Value::String(code)) => Some(code.clone()),
            _ => None,
        }
    }

    #[test]
    fn search_text_is_bounded_and_printable() {
        // issue 16 item 2
        let parse = |s: &str| SearchText::parse(Some(Value::String(s.to_owned())));
        assert_eq!(parse("anna").ok().map(|s| s.0), Some("anna".to_owned()));
        for bad in [
            "a\u{0}".to_owned(),
            "a".repeat(101),
            "a".repeat(50_000),
            "\u{202e}x".to_owned(),
        ] {
            assert_eq!(
                code(parse(&bad)).as_deref(),
                Some(Code::BadRequest.as_str()),
                "{}",
                bad.len()
            );
        }
        assert_eq!(SearchText::type_name(), "String");
    }

    #[test]
    fn ids_with_control_characters_are_bad_requests() {
        let parse = |s: &str| IdArg::parse(Some(Value::String(s.to_owned())));
        assert!(parse("QWNjb3VudDp4").is_ok());
        assert_eq!(code(parse("a\u{0}")).as_deref(), Some(Code::BadRequest.as_str()));
        assert_eq!(IdArg::type_name(), "ID");
    }
}
