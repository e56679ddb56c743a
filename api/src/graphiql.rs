//! GraphiQL, the in-browser GraphQL IDE, served at `/` and `/graphiql` without any CDN.
//!
//! GraphiQL, React and ReactDOM come from npm as locked in `graphiql/package-lock.json`;
//! `build.rs` installs them with `npm ci` and this module embeds their bundles into the binary,
//! serving them under `/graphiql/assets/`. The page adds a "Bearer token" bar above GraphiQL
//! whose value (kept in the browser's localStorage) is sent as `Authorization: Bearer …` with
//! every request, introspection included. In demo mode (`serve --demo`) the bar also offers the
//! demo's personas: picking one sets its token (the demo's tokens are in the page, as they are
//! on the console; never outside demo mode).

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

/// What the GraphiQL page opens with.
#[derive(Clone, Debug, Default)]
pub struct GraphiqlOptions {
    /// The GraphQL endpoint path the page talks to, e.g. "/graphql".
    pub endpoint: String,
    /// Operations shown in the editor when the page opens (demo mode), if any.
    pub default_query: Option<String>,
    /// JSON text for the variables pane when the page opens, if any.
    pub default_variables: Option<String>,
    /// Demo mode only: who one can be, as (who, token), offered by a picker that sets the token.
    pub personas: Vec<(String, String)>,
}

impl GraphiqlOptions {
    /// The personas as the pages' scripts read them: `[{"who": …, "token": …}]`.
    pub(crate) fn personas_json(&self) -> serde_json::Value {
        (self.personas.iter())
            .map(|(who, token)| serde_json::json!({ "who": who, "token": token }))
            .collect()
    }
}

/// Routes: GET / and GET /graphiql (the page), GET /graphiql/assets/{file} (embedded JS/CSS with
/// correct content types, long cache headers, and 404 for unknown files).
pub fn router<S: Clone + Send + Sync + 'static>(options: GraphiqlOptions) -> Router<S> {
    let page = Page::render(&options);
    tracing::debug!(endpoint = %options.endpoint, "GraphiQL served at / and /graphiql");
    let handler = move || {
        let page = page.clone();
        async move { page.response() }
    };
    Router::new()
        .route("/", get(handler.clone()))
        .route("/graphiql", get(handler))
        .route("/graphiql/assets/{file}", get(asset))
}

/// An embedded file: name in the URL, content type, bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The four files the page loads, embedded from `$OUT_DIR/graphiql-assets` (see build.rs).
const ASSETS: [Asset; 4] = [
    Asset {
        name: "react.production.min.js",
        content_type: JS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql-assets/react.production.min.js")),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: JS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql-assets/react-dom.production.min.js")),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: JS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql-assets/graphiql.min.js")),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: CSS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/graphiql-assets/graphiql.min.css")),
    },
];

/// Fingerprint of the npm lock the assets came from. It versions the asset URLs (`?v=…`) so a
/// new lock means new URLs, which is what makes the year-long `immutable` caching safe.
const ASSETS_VERSION: &str = env!("REACH_GRAPHIQL_ASSETS_VERSION");

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.name == file) {
        Some(asset) => immutable_file(asset.content_type, asset.bytes),
        None => no_such_file("no such GraphiQL asset\n"),
    }
}

/// An embedded file whose URL changes with its content, so it is cached for a year.
pub(crate) fn immutable_file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        Bytes::from_static(bytes),
    )
        .into_response()
}

/// 404 for a file the server does not embed.
pub(crate) fn no_such_file(message: &'static str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        message,
    )
        .into_response()
}

/// The rendered page and its Content-Security-Policy, built once per router.
#[derive(Clone)]
struct Page {
    html: Bytes,
    csp: HeaderValue,
}

impl Page {
    fn render(options: &GraphiqlOptions) -> Self {
        let mut settings = serde_json::Map::new();
        settings.insert("endpoint".into(), options.endpoint.clone().into());
        if let Some(query) = &options.default_query {
            settings.insert("query".into(), query.clone().into());
        }
        if let Some(variables) = &options.default_variables {
            settings.insert("variables".into(), variables.clone().into());
        }
        if !options.personas.is_empty() {
            settings.insert("personas".into(), options.personas_json());
        }
        let settings = json_for_html(&serde_json::Value::Object(settings));

        let asset = |name: &str| format!("/graphiql/assets/{name}?v={ASSETS_VERSION}");
        let html = format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Reach · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
<style>{STYLE}</style>
</head>
<body>
<div id="reach-root"><noscript>GraphiQL needs JavaScript.</noscript></div>
<script type="application/json" id="reach-graphiql-options">{settings}</script>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script>{SCRIPT}</script>
</body>
</html>
"#,
            css = asset("graphiql.min.css"),
            react = asset("react.production.min.js"),
            react_dom = asset("react-dom.production.min.js"),
            graphiql = asset("graphiql.min.js"),
        );

        // Scripts: only our own files plus the one inline script, pinned by hash. The JSON
        // options block is a data block (type="application/json"), which CSP does not execute.
        // Styles: GraphiQL's components (Radix dialogs via react-remove-scroll) insert <style>
        // elements at runtime, so inline styles have to be allowed.
        let csp = format!(
            "default-src 'none'; script-src 'self' '{script}'; \
             style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
             font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            script = csp_hash(SCRIPT),
        );
        Self {
            html: Bytes::from(html),
            // The policy is plain ASCII, so this cannot fail; if it ever did, fail closed.
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    }

    fn response(self) -> Response {
        page_response(self.html, self.csp)
    }
}

/// A page of the server's own (GraphiQL's, the console's) with `csp` and the headers that keep
/// it out of frames, sniffing and referrers, never cached without asking.
pub(crate) fn page_response(html: Bytes, csp: HeaderValue) -> Response {
    let headers: [(HeaderName, HeaderValue); 6] = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    (headers, html).into_response()
}

/// JSON text that is safe inside an HTML `<script>` element: `<`, `>` and `&` (and the JS line
/// separators) only ever occur inside JSON strings, where the `\uXXXX` forms mean the same.
pub(crate) fn json_for_html(value: &serde_json::Value) -> String {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page's own styles: the token bar above GraphiQL, following GraphiQL's light/dark theme.
const STYLE: &str = include_str!("../graphiql/page.css");

/// The page's only inline script (plain ES2015, no build step). Allowed by the CSP via its hash.
const SCRIPT: &str = include_str!("../graphiql/page.js");

/// The Content-Security-Policy source for an inline script: `sha256-` and its base64 digest.
fn csp_hash(script: &str) -> String {
    format!("sha256-{}", STANDARD.encode(Sha256::digest(script.as_bytes())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    async fn get_path(app: Router, path: &str) -> (StatusCode, axum::http::HeaderMap, Bytes) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, headers, body)
    }

    fn options() -> GraphiqlOptions {
        GraphiqlOptions {
            endpoint: "/graphql".into(),
            ..GraphiqlOptions::default()
        }
    }

    fn header(headers: &axum::http::HeaderMap, name: HeaderName) -> &str {
        headers.get(name).unwrap().to_str().unwrap()
    }

    /// The JSON options block embedded in the page, parsed back.
    fn embedded_options(html: &str) -> serde_json::Value {
        let start = r#"<script type="application/json" id="reach-graphiql-options">"#;
        let rest = &html[html.find(start).unwrap() + start.len()..];
        serde_json::from_str(&rest[..rest.find("</script>").unwrap()]).unwrap()
    }

    #[tokio::test]
    async fn page_is_served_at_root_and_graphiql_without_remote_urls() {
        for path in ["/", "/graphiql"] {
            let (status, headers, body) = get_path(router(options()), path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(header(&headers, header::CONTENT_TYPE).starts_with("text/html"));
            let html = std::str::from_utf8(&body).unwrap();
            assert!(!html.contains("http://") && !html.contains("https://"), "{html}");
            assert!(!html.contains("//cdn") && !html.contains("unpkg"));
            for asset in ASSETS {
                let url = format!("/graphiql/assets/{}?v={ASSETS_VERSION}", asset.name);
                assert!(html.contains(&url), "{path} does not load {url}");
            }
            assert!(html.contains(SCRIPT) && html.contains("reach serve --demo"));
            assert_eq!(embedded_options(html)["endpoint"], "/graphql");
            assert!(embedded_options(html).get("query").is_none());

            let csp = header(&headers, header::CONTENT_SECURITY_POLICY);
            let script_hash = format!("'{}'", csp_hash(SCRIPT));
            assert!(csp.contains(&format!("script-src 'self' {script_hash};")), "{csp}");
            assert!(csp.contains("connect-src 'self'") && !csp.contains("http"));
            assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header(&headers, header::REFERRER_POLICY), "no-referrer");
        }
    }

    #[tokio::test]
    async fn assets_are_embedded_with_content_types_and_long_caching() {
        for (name, content_type, min_size) in [
            ("graphiql.min.js", "text/javascript", 1_000_000),
            ("graphiql.min.css", "text/css", 10_000),
            ("react.production.min.js", "text/javascript", 5_000),
            ("react-dom.production.min.js", "text/javascript", 50_000),
        ] {
            let path = format!("/graphiql/assets/{name}");
            let (status, headers, body) = get_path(router(options()), &path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(header(&headers, header::CONTENT_TYPE).starts_with(content_type));
            assert!(body.len() > min_size, "{path} is only {} bytes", body.len());
            assert!(header(&headers, header::CACHE_CONTROL).contains("immutable"));
            assert_eq!(header(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
        let (_, _, graphiql) = get_path(router(options()), "/graphiql/assets/graphiql.min.js").await;
        assert!(std::str::from_utf8(&graphiql).unwrap().contains("window.GraphiQL"));
    }

    #[tokio::test]
    async fn unknown_assets_are_not_found() {
        for path in [
            "/graphiql/assets/nope.js",
            "/graphiql/assets/graphiql.min.js.map",
            "/graphiql/assets/..%2Fbuild.rs",
        ] {
            let (status, _, _) = get_path(router(options()), path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn default_query_cannot_break_out_of_the_page() {
        let query = "# </script><script>alert(1)</script>\nquery Demo { viewer { name } } <!--";
        let variables = r#"{"a": "</SCRIPT> & \u2028"}"#;
        let app = router(GraphiqlOptions {
            endpoint: "/graphql".into(),
            default_query: Some(query.into()),
            default_variables: Some(variables.into()),
            personas: Vec::new(),
        });
        let (status, _, body) = get_path(app, "/graphiql").await;
        assert_eq!(status, StatusCode::OK);
        let html = std::str::from_utf8(&body).unwrap();
        assert!(!html.contains("alert(1)</script>"));
        assert!(!html.to_ascii_lowercase().contains("</script> &"));
        assert!(!html.contains("<!--"));
        // Exactly the page's own five scripts.
        assert_eq!(html.matches("</script>").count(), 5);
        let embedded = embedded_options(html);
        assert_eq!(embedded["query"], query);
        assert_eq!(embedded["variables"], variables);
    }

    #[test]
    fn csp_hash_is_the_scripts_sha256() {
        // The digest of "abc" (FIPS 180-4's example), base64-encoded as CSP wants it.
        assert_eq!(csp_hash("abc"), "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
    }
}
