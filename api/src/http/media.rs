//! Content negotiation: which media type to answer with, from the request's `Accept`.

use axum::http::{HeaderMap, header};

pub(super) const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
pub(super) const JSON: &str = "application/json";

/// The media ranges of an `Accept` value, lower-cased, each with its weight (`q`, 1 when absent).
fn ranges(accept: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    accept.split(',').map(|part| {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        (media, q)
    })
}

/// Whether `Accept` prefers a web page to any answer `/graphql` gives: `text/html` (or XHTML)
/// weighs more than every JSON type and wildcard it lists — a browser's address bar, not a client.
pub(super) fn prefers_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut html, mut other) = (0.0_f32, 0.0_f32);
    for (media, q) in ranges(accept) {
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            GRAPHQL_RESPONSE | JSON | "application/*" | "*/*" => other = other.max(q),
            _ => {}
        }
    }
    html > other
}

/// Which media type to answer with, from `Accept`; `None` when neither is acceptable.
pub(super) fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(JSON);
    };
    let mut best: Option<(&'static str, f32)> = None;
    for (media, q) in ranges(accept) {
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE => GRAPHQL_RESPONSE,
            JSON | "application/*" | "*/*" => JSON,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq || (q == bq && candidate == GRAPHQL_RESPONSE)) {
            best = Some((candidate, q));
        }
    }
    best.map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(header::ACCEPT, v);
        }
        h
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(JSON));
        assert_eq!(negotiate(&accept("application/json")), Some(JSON));
        assert_eq!(negotiate(&accept(GRAPHQL_RESPONSE)), Some(GRAPHQL_RESPONSE));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json, application/json;q=0.9")),
            Some(GRAPHQL_RESPONSE)
        );
        assert_eq!(
            negotiate(&accept("application/json, application/graphql-response+json;q=0.5")),
            Some(JSON)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(JSON));
        assert_eq!(negotiate(&accept("text/html")), None);
    }

    #[test]
    fn a_browser_prefers_html() {
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
                      image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        for browser in [firefox, chrome, "text/html", "TEXT/HTML; charset=utf-8"] {
            assert!(prefers_html(&accept(browser)), "{browser}");
        }
        for client in [
            "",
            "*/*",
            "application/json",
            "application/graphql-response+json, application/json;q=0.9",
            // A tie is no preference: today's answer stands.
            "text/html, application/json",
            "application/json, text/html;q=0.5",
            "text/html;q=0",
            "text/plain",
        ] {
            assert!(!prefers_html(&accept(client)), "{client}");
        }
        assert!(!prefers_html(&HeaderMap::new()));
    }
}
