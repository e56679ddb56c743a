//! JSON the database wrote, carried into an HTTP response as it is (issue 17). A built page's
//! nodes ([`super::built`]) arrive as one JSON array; read into GraphQL values and written
//! out again, they cost a request as much as its statement. Over HTTP the request holds a
//! [`Verbatim`]: the page's text waits there, the response holds a marker string in its place,
//! and the serialized response has each marker replaced by its text.
//!
//! A marker is a string no data can hold by chance: a fixed prefix, 128 random bits drawn once
//! per process, and the text's index. Where no `Verbatim` is given (the websocket, the service
//! tests' direct execution) pages are read into values as before.

use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::Value;

/// The prefix of every marker of this process.
static PREFIX: LazyLock<String> = LazyLock::new(|| format!("reach:verbatim:{:032x}:", rand::random::<u128>()));

/// What opens a marker in a serialized response (`"` and the prefix), and its searcher, made
/// once: building a searcher cost about 2,000 instructions a response.
static OPEN: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new(format!("\"{}", *PREFIX).as_bytes()).into_owned());

/// The JSON texts one response carries as they are, in the order they were held.
#[derive(Clone, Default)]
pub struct Verbatim(Arc<Mutex<Vec<String>>>);

impl Verbatim {
    /// Holds `json` (one valid JSON value) for the response; the marker to put in its place.
    pub fn hold(&self, json: String) -> Value {
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.push(json);
        let mut number = itoa::Buffer::new();
        let index = number.format(held.len() - 1);
        let mut marker = String::with_capacity(PREFIX.len() + index.len());
        marker.push_str(&PREFIX);
        marker.push_str(index);
        Value::String(marker)
    }

    /// `body` (a serialized response) with every marker held here replaced by its text.
    pub fn splice(&self, body: Vec<u8>) -> Vec<u8> {
        let held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.is_empty() {
            return body;
        }
        // A marker is serialized as a JSON string: `"` + prefix + index + `"`.
        let finder = &*OPEN;
        let open = finder.needle();
        let extra: usize = held.iter().map(String::len).sum();
        let mut out = Vec::with_capacity(body.len() + extra);
        let mut rest = &body[..];
        while let Some(at) = finder.find(rest) {
            let after = &rest[at + open.len()..];
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            let index = std::str::from_utf8(&after[..digits])
                .ok()
                .and_then(|d| d.parse::<usize>().ok());
            match (index.and_then(|i| held.get(i)), after.get(digits)) {
                (Some(text), Some(b'"')) => {
                    out.extend_from_slice(&rest[..at]);
                    out.extend_from_slice(text.as_bytes());
                    rest = &after[digits + 1..];
                }
                _ => {
                    // Not one of ours (cannot happen): left as it is.
                    out.extend_from_slice(&rest[..at + open.len()]);
                    rest = after;
                }
            }
        }
        out.extend_from_slice(rest);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_replaced_by_their_texts() {
        let verbatim = Verbatim::default();
        let a = verbatim.hold(r#"[{"name":"Ann \"A\""},{"name":null}]"#.into());
        let b = verbatim.hold("[]".into());
        let mut data = async_graphql::indexmap::IndexMap::new();
        data.insert(
            async_graphql::Name::new("a"),
            Value::Object([(async_graphql::Name::new("nodes"), a)].into()),
        );
        data.insert(async_graphql::Name::new("b"), b);
        data.insert(async_graphql::Name::new("c"), Value::String("reach:verbatim:0".into()));
        let body = serde_json::to_vec(&Value::Object(data)).unwrap();
        let spliced: serde_json::Value = serde_json::from_slice(&verbatim.splice(body)).unwrap();
        assert_eq!(
            spliced,
            serde_json::json!({
                "a": { "nodes": [{ "name": "Ann \"A\"" }, { "name": null }] },
                "b": [],
                "c": "reach:verbatim:0",
            })
        );
    }

    #[test]
    fn nothing_held_changes_nothing() {
        let body = br#"{"data":{"x":"y"}}"#.to_vec();
        assert_eq!(Verbatim::default().splice(body.clone()), body);
    }
}
