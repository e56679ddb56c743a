//! The platform sync's outbound calls through the API (issue 16 item 6): `platformConnectionSet`
//! refuses plain http and non-public addresses unless settings allow them; a name resolving to
//! loopback is refused when a run connects; what the platform answers never reaches the run's
//! errors as read through GraphQL; a token does not follow its connection to another baseUrl.
//! Every server here listens on 127.0.0.1, and no test makes Reach send a packet elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use api::{config::Settings, graphql::ids::Kind};
use entity::{SyncRunState, platform_connection, platform_sync_run};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    backend_tests,
    harness::{
        app::*,
        fake_platform::{FakePlatform, Fault},
        remote::*,
    },
    platform::sync::common::{CONNECT, PLATFORM_ACCOUNT, TOKEN, connect, driven, run_here, runner},
};

const MARKER: &str = "SSRF-MARKER-9c41";

/// `driven` with the production defaults put back: https only, public destinations only.
fn strict(s: &mut Settings) {
    driven(s);
    s.plugins.platform.allow_http = false;
    s.plugins.platform.allow_destinations.clear();
}

/// Sets the connection of `account` to `url`; the user errors' `(code, field)`.
async fn set(app: &TestApp, account: Uuid, url: &str) -> Vec<(String, String)> {
    let body = app
        .gql(
            &app.support(),
            CONNECT,
            json!({"i": {"accountId": gid(Kind::Account, account), "baseUrl": url,
                "token": TOKEN, "platformAccount": PLATFORM_ACCOUNT}}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["platformConnectionSet"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["code"].as_str().unwrap().to_owned(), e["field"].to_string()))
        .collect()
}

/// The run's errors as an account admin reads them.
async fn errors_read(app: &TestApp, run: &platform_sync_run::Model) -> Vec<String> {
    let q = "query($r: ID!) { node(id: $r) { ... on PlatformSyncRun { state errors } } }";
    let body = app
        .gql(&app.support(), q, json!({"r": gid(Kind::PlatformSyncRun, run.id)}))
        .await;
    let node = &body["data"]["node"];
    assert_eq!(node["state"], "FAILED", "{body}");
    node["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

// issue 16 item 6: http, and addresses that are not public, are refused by default.
async fn i16_connection_set_refuses_http_and_non_public_addresses(backend: Backend) {
    let app = spawn_app_with(backend, strict).await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    for url in [
        platform.url.as_str(),
        "http://mx.example.com",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1",
        "https://127.0.0.1:5432",
        "https://[::1]:22",
        "https://[::ffff:10.0.0.1]",
    ] {
        let errors = set(&app, w.c.account, url).await;
        assert_eq!(errors.len(), 1, "{url}: {errors:?}");
        assert_eq!(errors[0].0, "VALIDATION_FAILED", "{url}: {errors:?}");
        assert!(errors[0].1.contains("baseUrl"), "{url}: {errors:?}");
    }
    assert_eq!(
        count(&app.state.db, "SELECT COUNT(*) AS n FROM platform_connection").await,
        0,
        "nothing stored"
    );
    // A public name is accepted (nothing is resolved or called here: the plugin is off).
    assert_eq!(set(&app, w.c.account, "https://mx.example.com/api").await, vec![]);
    assert!(platform.requests().is_empty());
}

// issue 16 item 6: a name that resolves to loopback is refused when the run connects.
async fn i16_a_name_resolving_to_loopback_is_refused_when_a_run_connects(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        strict(s);
        s.plugins.platform.allow_http = true;
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000001", None);
    let by_name = platform.url.replace("127.0.0.1", "localhost");
    assert_eq!(set(&app, w.c.account, &by_name).await, vec![]);
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    let run = run_here(&app, &here, w.c.account).await;
    assert_eq!(run.state, SyncRunState::Failed, "{run:?}");
    let errors = errors_read(&app, &run).await;
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("reading the platform's numbers failed: DESTINATION_NOT_ALLOWED")),
        "{errors:?}"
    );
    assert!(platform.requests().is_empty(), "{:?}", platform.requests());
}

// issue 16 item 6: a run's errors are Reach's words and codes, whatever the platform answered;
// redirects are not followed and an endless answer is cut.
async fn i16_run_errors_are_reachs_words_never_the_reply(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        driven(s);
        s.plugins.platform.max_reply_bytes = 64 * 1024;
    })
    .await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    let elsewhere = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000001", None);
    connect(&app, w.c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    let failing = Fault::Body(503, format!("<pre>{MARKER} at db01.internal:5432</pre>"));
    let cases: Vec<(Vec<Fault>, &str)> = vec![
        (
            vec![Fault::Body(
                200,
                format!(r#"{{"items": "{MARKER}", "nextCursor": null}}"#),
            )],
            "PLATFORM_REPLY_INVALID",
        ),
        (
            vec![Fault::Body(200, format!("{MARKER}\n\u{1b}[2J"))],
            "PLATFORM_REPLY_INVALID",
        ),
        (
            vec![failing.clone(), failing],
            "PLATFORM_FAILED: the platform answered HTTP 503",
        ),
        (
            vec![Fault::Body(401, MARKER.into())],
            "PLATFORM_REFUSED: the platform answered HTTP 401",
        ),
        (
            vec![Fault::Redirect(format!("{}/{MARKER}", elsewhere.url))],
            "PLATFORM_FAILED: the platform answered HTTP 302",
        ),
        (vec![Fault::Endless], "PLATFORM_REPLY_TOO_LARGE"),
    ];
    for (faults, code) in cases {
        platform.fail_next(&faults);
        let run = run_here(&app, &here, w.c.account).await;
        let errors = errors_read(&app, &run).await;
        assert!(errors.iter().any(|e| e.contains(code)), "{code}: {errors:?}");
        let all = Value::from(errors.clone()).to_string();
        assert!(!all.contains(MARKER) && !all.contains("internal"), "{code}: {errors:?}");
    }
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
}

// issue 16 item 6: a sealed token is bound to its baseUrl; a row pointed elsewhere (say, by a
// database write) does not carry the token there.
async fn i16_a_token_does_not_follow_its_connection_to_another_base_url(backend: Backend) {
    let app = spawn_app_with(backend, driven).await;
    let w = RemoteWorld::build(&app).await;
    let platform = FakePlatform::start(TOKEN).await;
    let elsewhere = FakePlatform::start(TOKEN).await;
    platform.add(PLATFORM_ACCOUNT, "3003", "0703000001", None);
    connect(&app, w.c.account, &platform).await;
    let here = runner(&app, app.state.settings.remote_extension.clone()).await;
    assert_eq!(run_here(&app, &here, w.c.account).await.state, SyncRunState::Succeeded);

    let row = platform_connection::Entity::find_by_id(w.c.account)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut moved: platform_connection::ActiveModel = row.into();
    moved.base_url = Set(elsewhere.url.clone());
    moved.update(&app.state.db).await.unwrap();
    let run = run_here(&app, &here, w.c.account).await;
    let errors = errors_read(&app, &run).await;
    assert!(
        errors.iter().any(|e| e.starts_with("PLATFORM_TOKEN_UNUSABLE")),
        "{errors:?}"
    );
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());

    // Setting the connection again, token included, makes it work at the new place.
    connect(&app, w.c.account, &elsewhere).await;
    elsewhere.add(PLATFORM_ACCOUNT, "3003", "0703000001", None);
    assert_eq!(run_here(&app, &here, w.c.account).await.state, SyncRunState::Succeeded);
}

backend_tests!(
    i16_connection_set_refuses_http_and_non_public_addresses,
    i16_a_name_resolving_to_loopback_is_refused_when_a_run_connects,
    i16_run_errors_are_reachs_words_never_the_reply,
    i16_a_token_does_not_follow_its_connection_to_another_base_url,
);
