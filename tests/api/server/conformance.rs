//! The GraphQL-over-HTTP spec, checked by the GraphQL foundation's own audit suite
//! (`graphql-http`'s `serverAudits`, locked in `tests/conformance/`), run by Node.js against a
//! real server. Every audit must pass, the SHOULDs and MAYs included.
//!
//! `.ci/run` installs the suite (`npm ci --prefix tests/conformance`); elsewhere the test is
//! skipped until it is installed, and in CI (`CI=true`) it must run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::app::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_over_http_audit_passes_whole() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    if !suite.join("node_modules/graphql-http").is_dir() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but the audit suite is not installed: npm ci --prefix tests/conformance"
        );
        eprintln!("skipped: run `npm ci --prefix tests/conformance` to audit GraphQL over HTTP");
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let url = format!("{}/graphql", app.address);
    let token = app.support();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("audit.mjs")
            .args([url.as_str(), token.as_str()])
            .current_dir(&suite)
            .output()
    })
    .await
    .expect("the audit's thread")
    .expect("node runs (Node.js is needed to build Reach)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the audit failed to run: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no summary from the audit: {stdout}"));
    assert_eq!(summary["notOk"], serde_json::json!([]), "audits not passed:\n{stdout}");
    // The suite this lock holds has 61 audits; fewer would mean some did not run.
    assert!(summary["ok"].as_u64().unwrap_or(0) >= 61, "{stdout}");
}
