//! GraphiQL in demo mode, in a real browser: Debian's `chromium` driven headless by
//! `playwright-core` (`tests/browser/graphiql.mjs`). Before a token the page says what to do;
//! picking a persona sets its token and says who you are; `Viewer` then answers as that persona;
//! the ids the walk-through's steps create fill the variables of the next steps; and the page
//! loads nothing from outside the server.
//!
//! `.ci/run` installs Chromium and the script's package; elsewhere the test is skipped until
//! both are there (`apt-get install chromium`, `npm ci --prefix tests/browser`), and in CI
//! (`CI=true`) it must run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use api::startup::Application;

use crate::harness::{
    app::{Backend, fresh_database},
    node,
};

const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_persona_picker_works_in_a_browser() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let ready = script.join("node_modules/playwright-core").is_dir() && Path::new(CHROMIUM).exists();
    if !node::ready_or_skip(ready, "apt-get install chromium; npm ci --prefix tests/browser") {
        return;
    }
    let (settings, _guard) = fresh_database(&Backend::Sqlite).await;
    let app = Application::build(settings, true).await.expect("the demo starts");
    let base = format!("http://{}", app.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    let seen = node::run(&script, "graphiql.mjs", &[&base], &[("CHROMIUM", CHROMIUM)]).await;
    let _ = tx.send(());
    let _ = running.await;
    let before = seen["beforeToken"].as_str().unwrap_or_default();
    assert!(
        before.contains("No token yet") && !before.contains("UNAUTHENTICATED"),
        "{seen}"
    );
    assert_eq!(
        seen["who"], "You are Dana Decider — Decision Maker, Northwind Traders",
        "{seen}"
    );
    assert_eq!(seen["tokenSet"], true, "{seen}");
    assert_eq!(seen["viewerName"], "Dana Decider", "{seen}");
    assert_eq!(
        seen["filled"],
        serde_json::json!({ "myNumberId": true, "statusId": true }),
        "the ids a step creates fill the variables the next steps read: {seen}"
    );
    assert_eq!(
        seen["external"],
        serde_json::json!([]),
        "the page loads nothing from elsewhere: {seen}"
    );
}
