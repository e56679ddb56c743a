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

use crate::harness::node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_persona_picker_works_in_a_browser() {
    let Some(seen) = node::in_demo_browser("graphiql.mjs", &[]).await else {
        return;
    };
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
