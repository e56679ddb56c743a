//! Input validation shared by the services: each check trims and normalises what it accepts and
//! answers a [`UserError`] naming the field for what it refuses.

use super::{ErrorCode, UserError, text};

fn invalid(field: &[&str], message: impl Into<String>) -> UserError {
    UserError::new(ErrorCode::ValidationFailed, field, message)
}

/// A name: trimmed, 1–`max` characters, no control or format characters
/// ([`text::displayable`]: no bidi controls, no zero-width spaces; issue 16 item 10).
pub fn name(field: &[&str], raw: &str, max: usize) -> Result<String, UserError> {
    let value = raw.trim();
    let len = value.chars().count();
    if len == 0 {
        return Err(invalid(field, "must not be blank"));
    }
    if len > max {
        return Err(invalid(field, format!("must be at most {max} characters")));
    }
    text::displayable(value).map_err(|e| invalid(field, e.to_string()))?;
    Ok(value.to_owned())
}

/// A label: a name of 1–64 characters.
pub fn label(field: &[&str], raw: &str) -> Result<String, UserError> {
    name(field, raw, 64)
}

/// An email address: trimmed, lower-cased, syntactically valid, at most 254 characters.
pub fn email(field: &[&str], raw: &str) -> Result<String, UserError> {
    let value = raw.trim().to_lowercase();
    let dotted_domain = value.rsplit_once('@').is_some_and(|(_, domain)| domain.contains('.'));
    if value.len() > 254 || !email_address::EmailAddress::is_valid(&value) || !dotted_domain {
        return Err(invalid(field, "is not a valid email address"));
    }
    Ok(value)
}

/// A phone number in international or national form. Spaces, dashes, dots and parentheses are
/// dropped; what remains is an optional `+` and 3–15 digits (E.164's maximum).
pub fn phone_number(field: &[&str], raw: &str) -> Result<String, UserError> {
    let value: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = value.strip_prefix('+').unwrap_or(&value);
    if !(3..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "must be an optional + and 3 to 15 digits"));
    }
    Ok(value)
}

/// An extension: digits only, exactly the account's `extensionLength` where set, else 2–15.
pub fn extension(field: &[&str], raw: &str, extension_length: Option<i32>) -> Result<String, UserError> {
    let value = raw.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "must be digits only"));
    }
    match extension_length {
        Some(len) if value.len() != len as usize => {
            Err(invalid(field, format!("must be exactly {len} digits in this account")))
        }
        None if !(2..=15).contains(&value.len()) => Err(invalid(field, "must be 2 to 15 digits")),
        _ => Ok(value.to_owned()),
    }
}

/// A number made of `min`–`max` digits and nothing else (trimmed).
pub fn digits(field: &[&str], raw: &str, min: usize, max: usize) -> Result<String, UserError> {
    let value = raw.trim();
    if !(min..=max).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, format!("must be {min} to {max} digits")));
    }
    Ok(value.to_owned())
}

/// A mobility extension (M8): digits only, exactly the account's `extensionLength` where set,
/// else 3–15.
pub fn mobility_extension(field: &[&str], raw: &str, extension_length: Option<i32>) -> Result<String, UserError> {
    match extension_length {
        Some(len) => {
            let len = usize::try_from(len).unwrap_or_default();
            digits(field, raw, len, len)
                .map_err(|_| invalid(field, format!("must be exactly {len} digits in this account")))
        }
        None => digits(field, raw, 3, 15),
    }
}

/// An account's fixed extension length: 2–15.
pub fn extension_length(field: &[&str], value: Option<i32>) -> Result<Option<i32>, UserError> {
    match value {
        Some(len) if !(2..=15).contains(&len) => Err(invalid(field, "must be between 2 and 15")),
        other => Ok(other),
    }
}

/// Destination codes: 1–10 distinct codes of 1–4 digits; `["0"]` when none are given.
pub fn destination_codes(field: &[&str], codes: Option<Vec<String>>) -> Result<Vec<String>, UserError> {
    let Some(codes) = codes else {
        return Ok(vec!["0".to_owned()]);
    };
    let codes: Vec<String> = codes.iter().map(|c| c.trim().to_owned()).collect();
    if codes.is_empty() || codes.len() > 10 {
        return Err(invalid(field, "must list 1 to 10 codes"));
    }
    for (i, code) in codes.iter().enumerate() {
        if !(1..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(field, format!("code {i} must be 1 to 4 digits")));
        }
        if codes[..i].contains(code) {
            return Err(invalid(field, format!("code {i} is listed twice")));
        }
    }
    Ok(codes)
}

/// R3: a remote-extension number is digits only, 2–25 of them, starting with one of the
/// account's destination codes, and is kept exactly as given (`0` + `9818123456`).
pub fn remote_extension_number(field: &[&str], raw: &str, destination_codes: &[String]) -> Result<String, UserError> {
    if !(2..=25).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(field, "a remote extension must be 2 to 25 digits"));
    }
    if !destination_codes.iter().any(|code| raw.starts_with(code.as_str())) {
        return Err(invalid(
            field,
            format!(
                "a remote extension must start with a destination code of the account ({})",
                destination_codes.join(", ")
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// R3: any other number is an optional `+`, then digits, `*` or `#`: 2–26 characters in all,
/// kept exactly as given.
pub fn user_number(field: &[&str], raw: &str) -> Result<String, UserError> {
    let body = raw.strip_prefix('+').unwrap_or(raw);
    let ok = (2..=26).contains(&raw.len())
        && !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'*' || b == b'#');
    if !ok {
        return Err(invalid(
            field,
            "must be an optional + and then digits, * or #: 2 to 26 characters",
        ));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name(&["name"], "  Ada  ", 10).ok(), Some("Ada".into()));
        assert!(name(&["name"], "   ", 10).is_err());
        assert!(name(&["name"], "abcdefghijk", 10).is_err());
        assert!(name(&["name"], "a\u{0}b", 10).is_err());
        // issue 16 item 10: a name cannot reverse itself on screen.
        assert!(name(&["name"], "\u{202e}evil", 10).is_err());
        assert!(label(&["label"], "Work\u{200b}").is_err());
    }

    #[test]
    fn emails_phone_numbers_and_extensions() {
        assert_eq!(
            email(&["email"], " Ada@Example.COM ").ok(),
            Some("ada@example.com".into())
        );
        for bad in [
            "ada",
            "ada@",
            "@x.com",
            "a b@x.com",
            "ada@localhost",
            "ada.lovelace@localhost",
        ] {
            assert!(email(&["email"], bad).is_err(), "{bad}");
        }
        assert_eq!(
            phone_number(&["p"], "+1 (617) 555-0100").ok(),
            Some("+16175550100".into())
        );
        for bad in ["12", "+", "12a45", "1234567890123456"] {
            assert!(phone_number(&["p"], bad).is_err(), "{bad}");
        }
        assert!(extension(&["x"], "1001", None).is_ok());
        assert!(extension(&["x"], "1", None).is_err());
        assert!(extension(&["x"], "10a1", None).is_err());
        assert!(extension(&["x"], "101", Some(4)).is_err());
        assert!(extension(&["x"], "1011", Some(4)).is_ok());
    }

    #[test]
    fn mobility_extensions_follow_the_account_length() {
        // M8
        assert_eq!(mobility_extension(&["x"], " 401 ", None).ok(), Some("401".into()));
        for bad in ["40", "4012345678901234", "40a", "", "+401"] {
            assert!(mobility_extension(&["x"], bad, None).is_err(), "{bad}");
        }
        assert!(mobility_extension(&["x"], "4011", Some(4)).is_ok());
        assert!(mobility_extension(&["x"], "401", Some(4)).is_err());
        assert!(digits(&["x"], "6465697332", 10, 15).is_ok());
        assert!(digits(&["x"], "646569733", 10, 15).is_err());
    }

    #[test]
    fn destination_codes_default_and_checks() {
        assert_eq!(destination_codes(&["d"], None).ok(), Some(vec!["0".into()]));
        assert!(destination_codes(&["d"], Some(vec![])).is_err());
        assert!(destination_codes(&["d"], Some(vec!["0".into(), "0".into()])).is_err());
        assert!(destination_codes(&["d"], Some(vec!["0a".into()])).is_err());
    }

    #[test]
    fn remote_extension_numbers_follow_r3() {
        let codes = vec!["0".to_owned(), "00".to_owned()];
        // R3: the seed's example, stored exactly as given.
        assert_eq!(
            remote_extension_number(&["n"], "09818123456", &codes).ok(),
            Some("09818123456".into())
        );
        for bad in [
            "9818123456",
            "0",
            "0981812345612345678901234567",
            "0981-812",
            " 09818",
            "+09818",
        ] {
            assert!(remote_extension_number(&["n"], bad, &codes).is_err(), "{bad}");
        }
        assert!(user_number(&["n"], "+4630*1#").is_ok());
        assert!(user_number(&["n"], "12").is_ok());
        for bad in ["1", "+", "+*+", "12 34", "12a", "++12", &"1".repeat(27)] {
            assert!(user_number(&["n"], bad).is_err(), "{bad}");
        }
    }
}
