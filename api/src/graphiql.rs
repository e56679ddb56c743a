//! GraphiQL, the in-browser GraphQL IDE, served at `/` and `/graphiql` without any CDN.
//!
//! GraphiQL, React and ReactDOM come from npm as locked in `graphiql/package-lock.json`;
//! `build.rs` installs them with `npm ci` and this module embeds their bundles into the binary,
//! serving them under `/graphiql/assets/`. The page adds a "Bearer token" bar above GraphiQL
//! whose value (kept in the browser's localStorage) is sent as `Authorization: Bearer …` with
//! every request, introspection included.

use axum::{
    Router,
    body::Bytes,
    extract::Path,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// What the GraphiQL page opens with.
#[derive(Clone, Debug, Default)]
pub struct GraphiqlOptions {
    /// The GraphQL endpoint path the page talks to, e.g. "/graphql".
    pub endpoint: String,
    /// Operations shown in the editor when the page opens (demo mode), if any.
    pub default_query: Option<String>,
    /// JSON text for the variables pane when the page opens, if any.
    pub default_variables: Option<String>,
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
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            Bytes::from_static(asset.bytes),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            "no such GraphiQL asset\n",
        )
            .into_response(),
    }
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
            "default-src 'none'; script-src 'self' 'sha256-{script}'; \
             style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; \
             font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            script = base64(&sha256(SCRIPT.as_bytes())),
        );
        Self {
            html: Bytes::from(html),
            // The policy is plain ASCII, so this cannot fail; if it ever did, fail closed.
            csp: HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    }

    fn response(self) -> Response {
        let headers: [(HeaderName, HeaderValue); 6] = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CONTENT_SECURITY_POLICY, self.csp),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ];
        (headers, self.html).into_response()
    }
}

/// JSON text that is safe inside an HTML `<script>` element: `<`, `>` and `&` (and the JS line
/// separators) only ever occur inside JSON strings, where the `\uXXXX` forms mean the same.
fn json_for_html(value: &serde_json::Value) -> String {
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
const STYLE: &str = r"
html, body, #reach-root { height: 100%; margin: 0; }
.reach-shell { display: flex; flex-direction: column; height: 100%; }
.reach-bar {
  --reach-fg: hsl(219, 28%, 32%); --reach-bg: hsl(219, 28%, 100%); --reach-line: hsla(219, 28%, 32%, 0.15);
  flex: none; display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin: 0;
  padding: 6px 16px; font: 13px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  color: var(--reach-fg); background: var(--reach-bg); border-bottom: 1px solid var(--reach-line);
}
body.graphiql-dark .reach-bar {
  --reach-fg: hsl(219, 29%, 78%); --reach-bg: hsl(219, 29%, 18%); --reach-line: hsla(219, 29%, 78%, 0.15);
}
@media (prefers-color-scheme: dark) {
  body:not(.graphiql-light) .reach-bar {
    --reach-fg: hsl(219, 29%, 78%); --reach-bg: hsl(219, 29%, 18%); --reach-line: hsla(219, 29%, 78%, 0.15);
  }
}
.reach-bar label { font-weight: 600; }
.reach-bar input {
  flex: 0 1 32em; min-width: 10em; padding: 3px 8px; font: 12px ui-monospace, Menlo, Consolas, monospace;
  color: inherit; background: transparent; border: 1px solid var(--reach-line); border-radius: 4px;
}
.reach-bar button {
  padding: 3px 10px; font: inherit; color: inherit; background: transparent; cursor: pointer;
  border: 1px solid var(--reach-line); border-radius: 4px;
}
.reach-bar button:disabled { cursor: default; opacity: 0.5; }
.reach-hint { opacity: 0.75; }
.reach-hint code { font: 12px ui-monospace, Menlo, Consolas, monospace; }
.reach-graphiql { flex: 1; min-height: 0; }
.reach-graphiql .graphiql-container { height: 100%; }
";

/// The page's only inline script (plain ES2015, no build step). Allowed by the CSP via its hash.
const SCRIPT: &str = r"
(function () {
  'use strict';
  var h = React.createElement;
  var options = JSON.parse(document.getElementById('reach-graphiql-options').textContent);
  var STORAGE_KEY = 'reach.graphiql.bearerToken';

  function loadToken() {
    try { return window.localStorage.getItem(STORAGE_KEY) || ''; } catch (e) { return ''; }
  }
  function saveToken(token) {
    try {
      if (token) { window.localStorage.setItem(STORAGE_KEY, token); }
      else { window.localStorage.removeItem(STORAGE_KEY); }
    } catch (e) { /* storage unavailable: the token just is not remembered */ }
  }
  // Accept a pasted 'Bearer xyz' as well as a bare token.
  function bareToken(text) {
    return text.trim().replace(/^bearer\s+/i, '').trim();
  }

  // Used for queries and for GraphiQL's schema introspection alike. Headers typed into
  // GraphiQL's headers pane are sent too and win over the bar's token.
  function makeFetcher(currentToken) {
    return function (params, opts) {
      var headers = new Headers({
        'Content-Type': 'application/json',
        'Accept': 'application/graphql-response+json, application/json'
      });
      var token = currentToken();
      if (token) { headers.set('Authorization', 'Bearer ' + token); }
      var extra = (opts && opts.headers) || {};
      Object.keys(extra).forEach(function (name) { headers.set(name, String(extra[name])); });
      return fetch(options.endpoint, {
        method: 'POST',
        headers: headers,
        body: JSON.stringify(params),
        credentials: 'same-origin'
      }).then(function (response) {
        return response.text().then(function (text) {
          try { return JSON.parse(text); } catch (e) {
            return { errors: [{ message: 'HTTP ' + response.status + ' ' + response.statusText +
              (text ? ': ' + text.slice(0, 2000) : '') }] };
          }
        });
      });
    };
  }

  function App() {
    var tokenState = React.useState(loadToken);
    var token = tokenState[0], setToken = tokenState[1];
    var shownState = React.useState(false);
    var shown = shownState[0], setShown = shownState[1];
    var appliedState = React.useState(function () { return bareToken(token); });
    var applied = appliedState[0], setApplied = appliedState[1];

    // Requests always use the latest token ...
    var tokenRef = React.useRef('');
    tokenRef.current = bareToken(token);
    // ... and a changed token (after a short pause in typing) gives GraphiQL a new fetcher,
    // which makes it fetch the schema again with the new credentials.
    React.useEffect(function () {
      saveToken(token);
      var timer = window.setTimeout(function () { setApplied(bareToken(token)); }, 400);
      return function () { window.clearTimeout(timer); };
    }, [token]);
    var fetcher = React.useMemo(function () {
      return makeFetcher(function () { return tokenRef.current; });
    }, [applied]);

    var graphiqlProps = { fetcher: fetcher };
    if (typeof options.query === 'string') {
      graphiqlProps.query = options.query;
      if (typeof options.variables === 'string') { graphiqlProps.variables = options.variables; }
    }

    return h('div', { className: 'reach-shell' },
      h('form', {
        className: 'reach-bar',
        autoComplete: 'off',
        onSubmit: function (event) { event.preventDefault(); }
      },
        h('label', { htmlFor: 'reach-token' }, 'Bearer token'),
        h('input', {
          id: 'reach-token',
          name: 'reach-token',
          type: shown ? 'text' : 'password',
          value: token,
          autoComplete: 'off',
          spellCheck: false,
          placeholder: 'paste token here',
          onChange: function (event) { setToken(event.target.value); }
        }),
        h('button', {
          type: 'button',
          'aria-pressed': shown,
          onClick: function () { setShown(!shown); }
        }, shown ? 'Hide' : 'Show'),
        h('button', {
          type: 'button',
          disabled: !token,
          onClick: function () { setToken(''); setShown(false); }
        }, 'Clear'),
        token ? null : h('span', { className: 'reach-hint' },
          'Paste a token printed by ', h('code', null, 'reach serve --demo'),
          ' or ', h('code', null, 'reach token'))
      ),
      h('div', { className: 'reach-graphiql' }, h(GraphiQL, graphiqlProps))
    );
  }

  ReactDOM.createRoot(document.getElementById('reach-root')).render(h(App));
})();
";

/// SHA-256 (FIPS 180-4), for the Content-Security-Policy hash of [`SCRIPT`].
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());

    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for (k, w) in K.iter().zip(w.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(*k).wrapping_add(*w);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    let mut digest = [0u8; 32];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Standard base64 with padding (RFC 4648), as CSP hash sources use.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
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
            let script_hash = format!("'sha256-{}'", base64(&sha256(SCRIPT.as_bytes())));
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
    fn sha256_and_base64_match_known_vectors() {
        assert_eq!(base64(&sha256(b"")), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(base64(&sha256(b"abc")), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        let long = [b'a'; 1000];
        assert_eq!(base64(&sha256(&long)), "Qe3s5C1j6Nm/UVqbppMuHCDLyfWl0TRkWttdsblzfqM=");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
