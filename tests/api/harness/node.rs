//! Tests driven by a Node.js script (the GraphQL-over-HTTP audit, the browser test): whether
//! they can run here, and the script's answer.

use std::{path::Path, process::Command};

use serde_json::Value;

/// Whether a script's parts are installed (`ready`). Elsewhere the test is skipped, saying how
/// to install them (`install`); in CI (`CI=true`) a missing part fails it.
pub fn ready_or_skip(ready: bool, install: &str) -> bool {
    if !ready {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but the test's parts are missing: {install}"
        );
        eprintln!("skipped: {install}");
    }
    ready
}

/// Runs `node script args…` in `dir` with `env`, off the async threads; the last line it
/// printed, as JSON (the script's summary). A script that fails, or prints no JSON last, fails
/// the test with what it printed.
pub async fn run(dir: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut command = Command::new("node");
    command.arg(script).args(args).current_dir(dir);
    command.envs(env.iter().copied());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap_or_else(|e| panic!("the script's thread: {e}"))
        .unwrap_or_else(|e| panic!("node runs (Node.js is needed to build Reach): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (stdout.lines().last())
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no summary from {script}: {stdout}"))
}
