//! The web console (`/console`) on the demo directory, in a real browser: Debian's `chromium`
//! driven headless by `playwright-core` (`tests/browser/console.mjs`), as Hanna Holm. The
//! persona picker signs her in and the header says who she is; My Numbers shows why her
//! provisioned number is locked; a bad remote extension is refused with the error under its
//! field and adds nothing, a good one is added; a second window follows a status change made in
//! the first without a reload. Then Connect for Mobile on Northwind: a location Phone Manager
//! sees the add-on's state and is offered no activation (M1); Dana Decider opens the Activate
//! dialog (the voicemail number suggested, Activate offered only once the purchase is
//! confirmed), sees a bad voicemail number refused under its field with nothing changed, and
//! activates, which leaves the add-on waiting for Support. The page loads nothing from outside
//! the server and logs no error. With `REACH_CONSOLE_SCREENSHOTS` naming a folder, the walk
//! leaves its screenshots there (the README's come from this).
//!
//! `.ci/run` installs Chromium and the script's package; elsewhere the test is skipped until
//! both are there (`apt-get install chromium`, `npm ci --prefix tests/browser`), and in CI
//! (`CI=true`) it must run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::node;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanna_keeps_her_numbers_and_status_in_the_console() {
    let shots = std::env::var("REACH_CONSOLE_SCREENSHOTS").unwrap_or_default();
    let Some(seen) = node::in_demo_browser("console.mjs", &[&shots]).await else {
        return;
    };

    assert_eq!(seen["who"], "Hanna Holm · Contoso Nordic", "{seen}");
    let hint = seen["provisionedHint"].as_str().unwrap_or_default();
    assert!(
        hint.starts_with("Locked: Provisioned"),
        "the lock's reason is shown: {seen}"
    );
    let refusal = seen["numberError"].as_str().unwrap_or_default();
    assert!(!refusal.is_empty(), "the refusal is shown under the number: {seen}");
    assert_eq!(seen["rowsAfterRefusal"], 0, "a refused number adds nothing: {seen}");
    let added = seen["added"].as_str().unwrap_or_default();
    assert!(added.starts_with("Summer house 09818123456 Yes"), "{seen}");
    let live = &seen["live"];
    assert_ne!(live["before"], live["after"], "{seen}");
    assert!(
        live["after"]
            .as_str()
            .unwrap_or_default()
            .contains(live["expected"].as_str().unwrap()),
        "the second window shows the new status: {seen}"
    );
    assert_eq!(
        seen["external"],
        serde_json::json!([]),
        "nothing from elsewhere: {seen}"
    );
    assert_eq!(seen["errors"], serde_json::json!([]), "no error in the page: {seen}");
}
