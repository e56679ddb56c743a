//! The request path, body bytes to response: one fuzz input is one request to `/graphql` of a
//! server built as `reach serve --demo` builds it (SQLite, the demo directory). The first byte
//! picks the transport and the caller (POST or GET; Support, a plain user, or no token); the
//! rest is the body, or the `query` parameter. A crash (a stack overflow, a panic that ends the
//! process) or any 5xx answer is a finding.

#![no_main]

use std::sync::OnceLock;

use axum::{
    Router,
    body::Body,
    http::{Method, Request, header},
};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Target {
    runtime: tokio::runtime::Runtime,
    router: Router,
    tokens: [Option<String>; 3],
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = std::env::temp_dir().join(format!("reach-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let mut settings = api::config::Settings::default();
        settings.listen = "127.0.0.1:0".into();
        settings.database_url = secrecy::SecretString::from(format!("sqlite://{}", dir.join("fuzz.db").display()));
        settings.limits.rate_limit_per_second = 1_000_000;
        settings.limits.rate_limit_burst = 1_000_000;
        settings.plugins.email.enabled = false;
        settings.plugins.platform.enabled = false;
        settings.log_level = "off".into();
        let (router, tokens) = runtime.block_on(async {
            let app = api::startup::Application::build(settings, true).await.expect("the server builds");
            let tokens = &app.state().tokens;
            let demo = app.demo().expect("the demo directory");
            // The personas end with a plain user.
            let user = demo.personas.last().map(|p| p.token.clone());
            (
                app.router(),
                [Some(tokens.mint_support("fuzz", 3600).expect("a token")), user, None],
            )
        });
        Target { runtime, router, tokens }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let target = target();
    let token = &target.tokens[usize::from(selector % 3)];
    let request = if selector & 0x80 == 0 {
        Request::builder()
            .method(Method::POST)
            .uri("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(rest.to_vec()))
    } else {
        let query: String = rest.iter().map(|b| format!("%{b:02X}")).collect();
        Request::builder()
            .method(Method::GET)
            .uri(format!("/graphql?query={query}"))
            .body(Body::empty())
    };
    let Ok(mut request) = request else {
        return;
    };
    if let Some(token) = token
        && let Ok(value) = format!("Bearer {token}").parse()
    {
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let status = target
        .runtime
        .block_on(target.router.clone().oneshot(request))
        .map(|response| response.status())
        .unwrap_or_else(|never| match never {});
    assert!(!status.is_server_error(), "a 5xx answer: {status}");
});
