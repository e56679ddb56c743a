//! The checks on a document's raw text, before the parser sees it: its length and how deeply
//! its brackets nest.

use async_graphql::ServerError;

use super::with_code;
use crate::codes::Code;

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

#[cfg(test)]
mod tests {
    use super::*;

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
