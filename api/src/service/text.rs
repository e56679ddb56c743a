//! Which characters client text may hold (issue 16 items 2 and 10). One place decides, so that
//! search arguments, cursors, mutation inputs, names and Support token names follow the same
//! rules, and a NUL byte (which PostgreSQL refuses in `text`) or a very long search pattern
//! (which SQLite's `LIKE` refuses) never reaches the database.

/// Longest free-text query argument (`search`, the per-column filters), in characters. Names
/// are at most 200 characters, but nobody types a 100-character substring of one; the bound
/// keeps `LIKE` patterns far below SQLite's 50,000-byte limit and the scan cheap.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Why a piece of text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Longer than its bound.
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Holds a control character (U+0000–U+001F, U+007F–U+009F), NUL included.
    #[error("must not contain control characters")]
    Control,
    /// Holds an invisible format character: a bidi control (U+202E…), a zero-width space, a BOM…
    #[error("must not contain invisible formatting or direction characters")]
    Format,
}

/// Unicode general category Cf (format), from the Unicode 15.1 character database, with the
/// line and paragraph separators (Zl, Zp), which also break or hide a displayed line. Sorted,
/// inclusive ranges.
const FORMAT: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{2028}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Zero-width non-joiner and joiner: format characters that some scripts (Persian, the Indic
/// scripts) and emoji sequences (👩‍💻) need to be written correctly.
const JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// Whether `c` is a format character (category Cf, or a line or paragraph separator).
pub fn is_format(c: char) -> bool {
    FORMAT
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Refuses control characters, NUL included: the rule for every string a client sends.
pub fn no_control(text: &str) -> Result<(), TextError> {
    if text.chars().any(char::is_control) {
        return Err(TextError::Control);
    }
    Ok(())
}

/// The rule for what people read as a name (names, labels, messages, Support names): no control
/// characters and no format characters, so that a name cannot reorder itself on screen
/// (`"\u{202E}evil"`) or pass for another with invisible characters. A joiner (ZWNJ, ZWJ) is
/// allowed only between two non-ASCII characters, where scripts and emoji use it; between Latin
/// letters it only hides a difference.
pub fn displayable(text: &str) -> Result<(), TextError> {
    no_control(text)?;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !is_format(c) {
            continue;
        }
        let joins = |n: Option<&char>| n.is_some_and(|n| !n.is_ascii() && !is_format(*n) && !n.is_whitespace());
        let joined = JOINERS.contains(&c) && i > 0 && joins(chars.get(i - 1)) && joins(chars.get(i + 1));
        if !joined {
            return Err(TextError::Format);
        }
    }
    Ok(())
}

/// A free-text query argument: at most [`MAX_SEARCH_CHARS`] characters, no control or format
/// characters.
pub fn search(text: &str) -> Result<(), TextError> {
    if text.chars().count() > MAX_SEARCH_CHARS {
        return Err(TextError::TooLong(MAX_SEARCH_CHARS));
    }
    no_control(text)?;
    if text.chars().any(is_format) {
        return Err(TextError::Format);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_table_is_sorted_and_disjoint() {
        assert!(FORMAT.iter().all(|(lo, hi)| lo <= hi));
        assert!(FORMAT.windows(2).all(|w| w[0].1 < w[1].0));
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_format() {
        // issue 16 item 10
        let bidi = ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}');
        for c in bidi.chain([
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
        ]) {
            assert!(is_format(c), "{:04X}", c as u32);
            assert_eq!(
                displayable(&format!("a{c}b")),
                Err(TextError::Format),
                "{:04X}",
                c as u32
            );
        }
        for c in ['a', 'é', 'ß', '中', '👩', '\u{0301}', '\u{FE0F}', ' '] {
            assert!(!is_format(c), "{:04X}", c as u32);
        }
        assert_eq!(displayable("\u{202E}evil"), Err(TextError::Format));
        assert_eq!(displayable("Ada Lovelace"), Ok(()));
    }

    #[test]
    fn joiners_only_join_non_ascii_characters() {
        assert_eq!(displayable("👩\u{200D}💻"), Ok(()));
        assert_eq!(displayable("می\u{200C}خواهم"), Ok(()));
        for bad in [
            "A\u{200D}da",
            "\u{200D}👩",
            "👩\u{200D}",
            "👩\u{200D} 💻",
            "👩\u{200D}\u{200D}💻",
        ] {
            assert_eq!(displayable(bad), Err(TextError::Format), "{bad:?}");
        }
    }

    #[test]
    fn searches_are_bounded_and_printable() {
        // issue 16 item 2
        assert_eq!(search(&"a".repeat(MAX_SEARCH_CHARS)), Ok(()));
        assert_eq!(search(&"é".repeat(MAX_SEARCH_CHARS)), Ok(()), "characters, not bytes");
        assert_eq!(
            search(&"a".repeat(MAX_SEARCH_CHARS + 1)),
            Err(TextError::TooLong(MAX_SEARCH_CHARS))
        );
        assert_eq!(search(&"a".repeat(50_000)), Err(TextError::TooLong(MAX_SEARCH_CHARS)));
        for bad in ["a\u{0}", "\u{7}", "a\tb", "a\u{85}", "\u{202E}x"] {
            assert!(search(bad).is_err(), "{bad:?}");
        }
        assert_eq!(search("anna-lena 50%"), Ok(()));
    }
}
