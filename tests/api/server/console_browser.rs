//! The web console (`/console`) on the demo directory, in a real browser: Debian's `chromium`
//! driven headless by `playwright-core` (`tests/browser/console.mjs`), as Hanna Holm. The
//! persona picker signs her in and the header says who she is; My Numbers shows why her
//! provisioned number is locked; a bad remote extension is refused with the error under its
//! field and adds nothing, a good one is added; a second window follows a status change made in
//! the first without a reload; a status built around the new remote extension gets it as the
//! phone that calls and rings (R8), and once active with call through switched on, call through
//! is in effect and the number is locked with the reason shown; an edit of that status made
//! after another client renamed it is refused as stale and the form shows the new name. Then the Account Portal's Connect for Mobile walk on Northwind
//! (`tests/browser/portal.mjs`; what it checks is on its test below). The pages load nothing
//! from outside the server and log no error. With `REACH_CONSOLE_SCREENSHOTS` naming a folder,
//! the walks leave their screenshots there (the README's come from this).
//!
//! `.ci/run` installs Chromium and the script's package; elsewhere the test is skipped until
//! both are there (`apt-get install chromium`, `npm ci --prefix tests/browser`), and in CI
//! (`CI=true`) it must run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use crate::harness::node;

/// What every walk must end with: each page it audited with axe-core (WCAG 2.1 A and AA rules)
/// had no serious or critical finding (fields labelled, contrast readable, roles right); no
/// request left the server; no page logged an error.
fn a_clean_walk(seen: &Value) {
    let audits = seen["a11y"].as_object().cloned().unwrap_or_default();
    assert!(!audits.is_empty(), "the walk audited its pages: {seen}");
    for (page, found) in audits {
        assert_eq!(found, serde_json::json!([]), "{page}: {found}");
    }
    assert_eq!(
        seen["external"],
        serde_json::json!([]),
        "nothing from elsewhere: {seen}"
    );
    assert_eq!(seen["errors"], serde_json::json!([]), "no error in the page: {seen}");
}

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
    assert!(
        seen["hintShown"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Provisioned"),
        "the keyboard opens the hint: {seen}"
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
    // R8: the remote extension chosen in the form fills the two targets shown, and saved.
    let filled = &seen["filled"];
    assert!(
        filled["callUsing"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Summer house"),
        "{seen}"
    );
    assert!(
        filled["sendCallsTo"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Summer house"),
        "{seen}"
    );
    assert_eq!(
        seen["status"], "Summer Available Summer house Summer house Summer house Edit Summer",
        "{seen}"
    );
    // R9, R11: active and switched on, call through is in effect; R5: locked meanwhile.
    assert_eq!(seen["numberLockedInForm"], true, "{seen}");
    assert!(
        seen["callThrough"].as_str().unwrap_or_default().contains("In effect"),
        "{seen}"
    );
    let lock = seen["activeLockHint"].as_str().unwrap_or_default();
    assert!(lock.contains("remote extension of your active status"), "{seen}");
    // A stale edit is refused; the form shows the status as the other client left it.
    let stale = &seen["stale"];
    assert_eq!(stale["name"], "Summer cottage", "{seen}");
    assert_eq!(
        stale["presence"], "AVAILABLE",
        "the refused change is not applied: {seen}"
    );
    assert!(
        stale["row"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Summer cottage (active) Available"),
        "{seen}"
    );
    a_clean_walk(&seen);
    let phone = &seen["phone"];
    assert!(
        phone["scrollWidth"].as_u64() <= phone["width"].as_u64(),
        "a phone-sized screen needs no sideways scrolling: {seen}"
    );
}

/// The whole Connect for Mobile walk on a fresh demo, as the manuals' people do it:
/// - a location Phone Manager sees the add-on's state and is offered no activation (M1);
/// - Dana Decider opens the Activate dialog (the voicemail number suggested, Activate offered
///   only once the purchase is confirmed), a bad voicemail number is refused under its field
///   with nothing changed, and the activation leaves the add-on waiting for Support;
/// - Support finds the account by name and completes the set-up (a missing group name refused
///   under its field) (M3); an edit of the settings made after another client changed them is
///   refused and the dialog shows the new values; made again, it is saved (M4);
/// - Dana reads the settings without a way to change them; the wizard lists the eligible users
///   not yet enabled and searches them; a batch with an extension that is Dana's own is shown in
///   the summary with the error beside that row and cannot be finished; fixed, it is enabled
///   after the confirmation (M7, M8);
/// - the per-column filter and the toolbar search narrow the list; the location Phone Manager's
///   list holds their location's user only (M11); an edit to a taken extension is refused under
///   the field, a free one is saved (M9); a user is disabled after a confirmation (M10);
/// - a settings change made by another client reaches Dana's open page (`mobilityChanged`) with
///   the notification it queued: the change, and the one enabled user's mail queued (M6);
/// - Support imports users from a CSV file: a line with an unknown phone profile is shown with
///   its line before anything is sent, a line the server refuses (an extension in use) with its
///   line and column while nothing is created; fixed, the users are created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_for_mobile_walk_in_the_console() {
    let shots = std::env::var("REACH_CONSOLE_SCREENSHOTS").unwrap_or_default();
    let Some(seen) = node::in_demo_browser("portal.mjs", &[&shots]).await else {
        return;
    };
    let s = |key: &str| seen[key].as_str().unwrap_or_default().to_owned();
    let names = |key: &str| -> Vec<String> {
        (seen[key].as_array().cloned().unwrap_or_default().iter())
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };

    assert_eq!(s("leeState"), "Add-on: Not activated", "{seen}");
    assert_eq!(
        seen["leeOffered"], 0,
        "a location Phone Manager cannot activate: {seen}"
    );
    assert_eq!(s("danaBefore"), "Add-on: Not activated", "{seen}");
    assert_eq!(s("suggested"), "8991", "{seen}");
    assert_eq!(seen["offeredBeforeConfirm"], false, "{seen}");
    assert!(!s("voicemailError").is_empty(), "{seen}");
    assert_eq!(s("stateAfterRefusal"), "Add-on: Not activated", "{seen}");
    assert!(s("danaAfter").contains("Support is completing"), "{seen}");

    let found = names("supportFound");
    assert_eq!(found.len(), 1, "{seen}");
    assert!(found[0].starts_with("Northwind Traders"), "{seen}");
    assert!(!s("groupError").is_empty(), "{seen}");
    assert_eq!(s("supportState"), "Add-on: Active", "{seen}");
    assert_eq!(seen["supportEditable"], true, "{seen}");
    assert_eq!(seen["behindErrors"], serde_json::json!([]), "{seen}");
    assert!(s("staleNotice").contains("changed by someone else"), "{seen}");
    let stale = &seen["staleShows"];
    assert_eq!(stale["reverseDial"], "6465690000", "the other client's change: {seen}");
    assert_eq!(stale["handover"], "6465697333", "the stale edit was not kept: {seen}");
    assert_eq!(s("savedHandover"), "6465691111", "{seen}");

    assert_eq!(s("danaUsersBefore"), "No users.", "{seen}");
    let settings = &seen["danaSettings"];
    assert_eq!(settings["handover"], "6465691111", "{seen}");
    assert_eq!(settings["readOnly"], true, "{seen}");
    assert_eq!(settings["save"], 0, "no Save for a Decision Maker (M4): {seen}");
    let eligible = names("eligible");
    for who in ["Dana Decider", "Pat Manager", "Lee Local", "Uma User", "Ezra Elite"] {
        assert!(eligible.iter().any(|e| e.starts_with(who)), "{who} is eligible: {seen}");
    }
    assert_eq!(eligible.len(), 5, "Basic and Other profiles are not offered: {seen}");
    let conflict = names("summaryWithConflict");
    assert_eq!(conflict.len(), 2, "{seen}");
    assert!(
        conflict[0].starts_with("Uma User 1004 1001") && !conflict[0].ends_with("OK"),
        "{seen}"
    );
    assert!(
        conflict[1].starts_with("Ezra Elite 1007 8007") && conflict[1].ends_with("OK"),
        "{seen}"
    );
    assert_eq!(seen["finishOffered"], false, "{seen}");
    assert_eq!(
        names("summaryFixed"),
        ["Uma User 1004 8004 OK", "Ezra Elite 1007 8007 OK"],
        "{seen}"
    );
    assert_eq!(names("enabled"), ["Ezra Elite", "Uma User"], "by name: {seen}");
    assert_eq!(names("filtered"), ["Uma User"], "{seen}");
    assert_eq!(names("searched"), ["Ezra Elite"], "{seen}");
    assert_eq!(names("leeUsers"), ["Ezra Elite"], "Austin Office only: {seen}");
    assert!(!s("editError").is_empty(), "{seen}");
    assert!(s("edited").contains("8014"), "{seen}");
    assert!(s("confirmation").contains("Ezra Elite"), "{seen}");
    assert_eq!(names("afterDisable"), ["Uma User"], "{seen}");
    // M6, live: the change made by another client arrives with its recipient, queued.
    let notification = &seen["notification"];
    assert!(notification["before"].as_u64().unwrap_or_default() >= 1, "{seen}");
    assert_eq!(
        notification["changes"],
        serde_json::json!(["Handover number: 6465691111 → 6465692222"]),
        "{seen}"
    );
    assert_eq!(
        notification["recipients"],
        serde_json::json!(["Uma User · uma@northwind.example Queued 0"]),
        "{seen}"
    );
    // The import: the file's bad line, then the server's, each with its line; nothing created
    // until the file is right.
    let file = names("importFileErrors");
    assert_eq!(file.len(), 1, "{seen}");
    assert!(
        file[0].starts_with("3 phone profile \"gold\" is not a phone profile"),
        "{seen}"
    );
    let server = names("importServerErrors");
    assert_eq!(server.len(), 1, "{seen}");
    assert!(server[0].starts_with("3 extension "), "{seen}");
    assert_eq!(seen["createdAfterRefusal"], 0, "all or none: {seen}");
    assert_eq!(seen["created"], 1, "{seen}");
    a_clean_walk(&seen);
}

/// The platform screen on a fresh demo with a stand-in platform on 127.0.0.1:
/// - Support opens Contoso Nordic (MX-ONE): no run yet; a base URL with credentials in it is
///   refused under its field; the stand-in's address saved, the run it starts at once shows up
///   and reaches `SUCCEEDED` on the page by itself (`platformSyncRunUpdated`), having created
///   the platform's one number;
/// - Erik Eriksson (Decision Maker) sees the connection with no form to change it (Support
///   only), asks for a run with Sync now and sees it finish; Support's open page shows that run
///   too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_sync_in_the_console() {
    const TOKEN: &str = "contoso-platform-token";
    let platform = crate::harness::fake_platform::FakePlatform::start(TOKEN).await;
    platform.add("contoso", "2002", "0701119999", Some("Mobile"));
    let shots = std::env::var("REACH_CONSOLE_SCREENSHOTS").unwrap_or_default();
    let Some(seen) = node::in_demo_browser("sync.mjs", &[&platform.url, TOKEN, &shots]).await else {
        return;
    };
    let runs = |key: &str| seen[key].as_array().cloned().unwrap_or_default();

    assert_eq!(seen["runsBefore"], 0, "{seen}");
    assert!(!seen["urlError"].as_str().unwrap_or_default().is_empty(), "{seen}");
    let connection = seen["connection"].as_str().unwrap_or_default();
    assert!(
        connection.starts_with(&format!("contoso at {}", platform.url)),
        "{seen}"
    );
    let first = runs("supportRuns");
    assert_eq!(first.len(), 1, "{seen}");
    assert_eq!(first[0]["state"], "SUCCEEDED", "{seen}");
    let cells = first[0]["text"].as_str().unwrap_or_default();
    assert!(cells.contains("Succeeded1"), "one number created: {seen}");
    assert!(
        seen["erikConnection"]
            .as_str()
            .unwrap_or_default()
            .starts_with("contoso at "),
        "{seen}"
    );
    assert_eq!(seen["erikForm"], 0, "only Support sets the connection: {seen}");
    let erik = runs("erikRuns");
    assert_eq!(erik.len(), 2, "{seen}");
    assert!(erik.iter().all(|r| r["state"] == "SUCCEEDED"), "{seen}");
    assert!(
        erik[0]["text"].as_str().unwrap_or_default().contains("Erik Eriksson"),
        "{seen}"
    );
    assert_eq!(seen["supportSawErik"], 2, "{seen}");
    a_clean_walk(&seen);
}

/// The console's own logic (Vitest, `api/console/src/*.test.ts`): the CSV reader and the
/// import's line numbers, which error goes under which field or wizard row, what a status form
/// sends (R8 left to the server), sync runs merged as they move, what Support may send again.
/// They run where `build.rs` built the console, with the packages it installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_logic_passes_its_unit_tests() {
    let dir = std::path::Path::new(api::console::BUILD_DIR);
    let seen = node::run(dir, "node_modules/vitest/vitest.mjs", &["run", "--reporter=json"], &[]).await;
    let total = seen["numTotalTests"].as_u64().unwrap_or_default();
    assert!(total >= 13, "the suite ran: {seen}");
    assert_eq!(seen["numPassedTests"], total, "{seen}");
    assert_eq!(seen["success"], true, "{seen}");
}
