//! What a run reports beside its counts: the error lines an import keeps, cleaned and bounded.

use serde_json::{Value, json};

/// Most error lines a run keeps; the rest are counted.
const MAX_NOTES: usize = 100;

/// Longest error line a run keeps, in characters.
const MAX_NOTE: usize = 300;

/// What a run reports beside its counts: items it could not apply, numbers it kept.
///
/// Lines are Reach's words; the values they quote from the platform's listing (a number, an id,
/// a `userRef`) are data the platform was asked for, but still untrusted: every line is kept
/// free of control characters and cut at [`MAX_NOTE`] characters, so a listing cannot write
/// pages of text, forged line breaks or terminal escapes into what account admins read.
#[derive(Debug, Default)]
pub struct Notes {
    lines: Vec<String>,
    more: usize,
}

impl Notes {
    /// Adds a line (or counts it, past the first hundred).
    pub fn push(&mut self, line: String) {
        if self.lines.len() < MAX_NOTES {
            self.lines.push(clean(&line));
        } else {
            self.more += 1;
        }
    }

    /// The lines as the run's `errors`.
    pub fn to_json(&self) -> Value {
        let mut all: Vec<Value> = self.lines.iter().map(|l| json!(l)).collect();
        if self.more > 0 {
            all.push(json!(format!("… and {} more", self.more)));
        }
        Value::Array(all)
    }
}

/// `line` without control characters (each becomes `?`), cut at [`MAX_NOTE`] characters.
fn clean(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(MAX_NOTE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if line.chars().nth(MAX_NOTE).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // issue 16 item 6: what the platform listed reaches admins without control characters and
    // bounded in length.
    #[test]
    fn notes_quote_the_platform_cleanly_and_briefly() {
        let mut notes = Notes::default();
        notes.push(format!("{}: skipped", "070\u{1b}[31m\nforged line"));
        notes.push("x".repeat(10_000));
        let lines = notes.to_json();
        let lines: Vec<&str> = lines
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str())
            .collect();
        assert_eq!(lines[0], "070?[31m?forged line: skipped");
        assert_eq!(lines[1].chars().count(), MAX_NOTE + 1);
    }
}
