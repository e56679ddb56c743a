//! Reading a POST body: its declared length, at most the limit of its bytes, and the one
//! GraphQL request it must hold.

use async_graphql::Request;
use axum::{
    body::Bytes,
    http::{HeaderMap, header},
};

/// The GraphQL request a POST body holds, or why it holds none. An object is read straight
/// into the request (one pass); anything else, and an object that does not read so, is read as
/// JSON first to say what is wrong: not JSON, a batch (an array), or not a request. (A struct
/// also reads from a JSON array, hence the array is looked for first.)
pub(super) fn read_request(body: &[u8]) -> Result<Request, &'static str> {
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if object && let Ok(request) = serde_json::from_slice::<Request>(body) {
        // async-graphql reads a missing `query` as an empty one: only a body that names it is
        // a GraphQL request (an empty text is one, and fails to parse as a document).
        if request.query.is_empty() && !names_query(body) {
            return Err(NO_QUERY);
        }
        return Ok(request);
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Err("the body is not valid JSON");
    };
    if value.is_array() {
        return Err("batched requests are not supported");
    }
    serde_json::from_value(value).map_err(|_| NO_QUERY)
}

const NO_QUERY: &str = "the body must be an object with a `query` string";

/// Whether the JSON object `body` has a `query` entry.
fn names_query(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body).is_ok_and(|o| o.contains_key("query"))
}

/// The `Content-Length` a request declares, if any.
pub(super) fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads at most `limit` bytes of `body`, whatever its `Content-Length` claims.
pub(super) async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_as_one_request_or_says_why_not() {
        let ok = read_request(br#" {"query": "{ a }", "variables": {"x": [1, {"y": null}]}, "operationName": null}"#)
            .map(|r| (r.query, r.variables.into_value().into_json().ok()));
        assert_eq!(
            ok,
            Ok(("{ a }".to_owned(), Some(serde_json::json!({"x": [1, {"y": null}]}))))
        );
        // Duplicate keys read as JSON does (the last wins).
        let twice = read_request(br#"{"query": "{ a }", "query": "{ b }"}"#).map(|r| r.query);
        assert_eq!(twice, Ok("{ b }".to_owned()));
        let why = |body: &[u8]| read_request(body).err();
        assert_eq!(why(b"{\"query\": "), Some("the body is not valid JSON"));
        assert_eq!(why(b""), Some("the body is not valid JSON"));
        assert_eq!(
            why(br#"[{"query": "{ a }"}]"#),
            Some("batched requests are not supported")
        );
        assert_eq!(why(br#"["{ a }"]"#), Some("batched requests are not supported"));
        assert_eq!(
            why(br#"{"query": 5}"#),
            Some("the body must be an object with a `query` string")
        );
        assert_eq!(why(b"42"), Some("the body must be an object with a `query` string"));
        // No `query` at all is not a GraphQL request; an empty one is (a document that fails).
        assert_eq!(
            why(br#"{"qeury": "{ a }"}"#),
            Some("the body must be an object with a `query` string")
        );
        assert_eq!(read_request(br#"{"query": ""}"#).map(|r| r.query), Ok(String::new()));
    }
}
