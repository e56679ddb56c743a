//! The GraphQL-over-HTTP spec, checked by the GraphQL foundation's own audit suite
//! (`graphql-http`'s `serverAudits`, locked in `tests/conformance/`), run by Node.js against a
//! real server. Every audit must pass, the SHOULDs and MAYs included.
//!
//! `.ci/run` installs the suite (`npm ci --prefix tests/conformance`); elsewhere the test is
//! skipped until it is installed, and in CI (`CI=true`) it must run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::harness::{
    app::{Backend, spawn_app},
    node,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_whole() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let installed = suite.join("node_modules/graphql-http").is_dir();
    if !node::ready_or_skip(installed, "npm ci --prefix tests/conformance") {
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/graphql", app.address);
    let token = app.support();
    let summary = node::run(&suite, "audit.mjs", &[&url, &token], &[]).await;
    assert_eq!(summary["notOk"], serde_json::json!([]), "audits not passed:\n{summary}");
    // The suite this lock holds has 61 audits; fewer would mean some did not run.
    assert!(summary["ok"].as_u64().unwrap_or(0) >= 61, "{summary}");
}
