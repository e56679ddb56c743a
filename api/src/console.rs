//! The web console, served at `/console`: a small single-page app (Preact) that speaks only the
//! public GraphQL API, over HTTP and graphql-ws, as any client would (issue 22).
//!
//! `build.rs` installs the console's locked npm packages, types its operations from
//! `schema.graphql`, type-checks and bundles it with Vite; this module embeds the bundle. The
//! page gets the GraphQL endpoint and, in demo mode only, the demo's personas (the same ones
//! GraphiQL's token bar offers) in a JSON data block; it runs no inline script, so its
//! Content-Security-Policy allows only the server's own files.

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::HeaderValue,
    response::{Redirect, Response},
    routing::get,
};

use crate::graphiql::{GraphiqlOptions, immutable_file, json_for_html, no_such_file, page_response};

mod built {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// Where `build.rs` built the console: its sources with the generated operations beside them
/// and its installed packages. The console's unit tests (Vitest) run there, on exactly what
/// was bundled.
pub const BUILD_DIR: &str = concat!(env!("OUT_DIR"), "/console");

/// Where the built page takes the server's options.
const OPTIONS_MARK: &str = "<!--reach-options-->";

/// The page's policy: the server's own scripts, styles and connections (the websocket
/// included), nothing inline, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Routes: `GET /console` (the page; `/console/` too) and `GET /console/assets/{file}`.
pub fn router<S: Clone + Send + Sync + 'static>(options: &GraphiqlOptions) -> Router<S> {
    let page = Bytes::from(render(options));
    let handler = move || {
        let page = page.clone();
        async move { page_response(page, HeaderValue::from_static(CSP)) }
    };
    Router::new()
        .route("/console", get(handler.clone()))
        .route("/console/", get(|| async { Redirect::permanent("/console") }))
        .route("/console/assets/{file}", get(asset))
}

/// The built page with the options block in place of its mark.
fn render(options: &GraphiqlOptions) -> String {
    let settings = serde_json::json!({ "endpoint": options.endpoint, "personas": options.personas_json() });
    let block = format!(
        r#"<script type="application/json" id="reach-console-options">{}</script>"#,
        json_for_html(&settings)
    );
    built::INDEX.replacen(OPTIONS_MARK, &block, 1)
}

/// A built file. Vite names them by their content, so they are cached as immutable.
async fn asset(Path(file): Path<String>) -> Response {
    match built::ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => immutable_file(content_type, bytes),
        None => no_such_file("no such console asset\n"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::{
        body::Body,
        http::{Request, StatusCode, header},
    };
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Bytes) {
        let app: Router = router(&GraphiqlOptions::default());
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (
            status,
            headers,
            axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap(),
        )
    }

    #[tokio::test]
    async fn the_page_and_its_files_are_served_under_the_policy() {
        let (status, headers, body) = get("/console").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "nothing from elsewhere: {page}"
        );
        assert!(!page.contains("<script>"), "no inline script: {page}");
        let (status, headers, _) = get("/console/").await;
        assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(headers[header::LOCATION], "/console");
        for (name, content_type, bytes) in built::ASSETS {
            let (status, headers, body) = get(&format!("/console/assets/{name}")).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(headers[header::CONTENT_TYPE], *content_type);
            assert_eq!(body.as_ref(), *bytes);
        }
        let (status, _, _) = get("/console/assets/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn the_page_carries_its_options_and_loads_only_built_files() {
        let options = GraphiqlOptions {
            endpoint: "/graphql".into(),
            personas: vec![("Hanna </script>".into(), "t0k".into())],
            ..GraphiqlOptions::default()
        };
        let page = render(&options);
        assert!(!page.contains(OPTIONS_MARK));
        assert!(page.contains(r#""endpoint":"/graphql""#), "{page}");
        assert!(page.contains(r"Hanna \u003c/script\u003e"), "escaped for HTML: {page}");
        for (name, _, bytes) in built::ASSETS {
            assert!(!bytes.is_empty(), "{name}");
        }
        let scripts: Vec<&str> = page
            .split("src=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        assert!(!scripts.is_empty(), "{page}");
        for src in scripts {
            let name = src.strip_prefix("/console/assets/").unwrap();
            assert!(built::ASSETS.iter().any(|(n, _, _)| *n == name), "{src} is embedded");
        }
    }
}
