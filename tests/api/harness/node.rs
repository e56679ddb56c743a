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

/// Where Debian's Chromium is; the browser scripts drive it with playwright-core.
const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs the browser script `script` (in `tests/browser`) against a server of its own that
/// serves the demo directory on a fresh SQLite database, with the server's address and `args`;
/// the script's summary. `None` where Chromium or the script's package is not installed (see
/// [`ready_or_skip`]).
pub async fn in_demo_browser(script: &str, args: &[&str]) -> Option<Value> {
    use crate::harness::app::{Backend, fresh_database};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let ready = dir.join("node_modules/playwright-core").is_dir() && Path::new(CHROMIUM).exists();
    if !ready_or_skip(ready, "apt-get install chromium; npm ci --prefix tests/browser") {
        return None;
    }
    let (settings, _guard) = fresh_database(&Backend::Sqlite).await;
    let app =
        (api::startup::Application::build(settings, true).await).unwrap_or_else(|e| panic!("the demo starts: {e}"));
    let address = app.local_addr().unwrap_or_else(|e| panic!("the server's address: {e}"));
    let base = format!("http://{address}");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let args: Vec<&str> = std::iter::once(base.as_str()).chain(args.iter().copied()).collect();
    let seen = run(&dir, script, &args, &[("CHROMIUM", CHROMIUM)]).await;
    let _ = tx.send(());
    let _ = running.await;
    Some(seen)
}
