//! Authentication (401 for every bad token), role revocation taking effect at once, and who a
//! token stands for kept between requests only until a change.

#![allow(clippy::unwrap_used)]

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::app::*;

const VIEWER: &str = "{ viewer { kind name } }";

pub(crate) fn claims(app: &TestApp, overrides: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut c = json!({
        "iss": app.state.settings.jwt_issuer,
        "aud": app.state.settings.jwt_audience,
        "sub": "support:mallory",
        "kind": "support",
        "name": "mallory",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "t",
    });
    if let (Some(c), Some(o)) = (c.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            c.insert(k.clone(), v.clone());
        }
    }
    c
}

pub(crate) fn sign(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

pub(crate) async fn server_secret(app: &TestApp) -> Vec<u8> {
    use secrecy::ExposeSecret;
    api::auth::signing_secret(&app.state.db, &app.state.settings)
        .await
        .unwrap()
        .expose_secret()
        .as_bytes()
        .to_vec()
}

/// Asserts a 401 `UNAUTHENTICATED` without data; answers the error's message.
async fn assert_401(app: &TestApp, token: &str, why: &str) -> String {
    let (status, body) = app.post(token, VIEWER, json!({})).await;
    assert_eq!(status, 401, "{why}: {body}");
    assert_eq!(top_codes(&body), ["UNAUTHENTICATED"], "{why}");
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{why}: no data with a bad token"
    );
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

/// Seconds since the epoch as the messages show them.
fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn bad_tokens_are_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let world = World::build(&app).await;
    let events_before = app.outbox_count().await;
    let secret = server_secret(&app).await;
    let now = Utc::now().timestamp();

    // The control: a well-made token passes.
    let good = sign(&claims(&app, json!({})), &secret);
    let body = app.gql(&good, VIEWER, json!({})).await;
    assert_eq!(body["data"]["viewer"]["kind"], "SUPPORT");

    // Each refusal says what is wrong and what to do.
    let missing = assert_401(&app, "", "missing").await;
    assert_eq!(missing, "missing bearer token: send `Authorization: Bearer <token>`");
    let invalid = "invalid token (signature, algorithm, issuer, audience or claims); ask for a new one";
    assert_eq!(assert_401(&app, "not-a-jwt", "malformed").await, invalid);
    let forged = sign(&claims(&app, json!({})), b"another secret of thirty-two bytes!!");
    assert_eq!(assert_401(&app, &forged, "bad signature").await, invalid);
    let expired = sign(
        &claims(&app, json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})),
        &secret,
    );
    assert_eq!(
        assert_401(&app, &expired, "expired").await,
        format!("the token expired at {}; ask for a new one", rfc3339(now - 3600))
    );
    // Expired and forged: the forgery is all it learns.
    let expired_forged = sign(
        &claims(&app, json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})),
        b"another secret of thirty-two bytes!!",
    );
    assert_eq!(
        assert_401(&app, &expired_forged, "expired, bad signature").await,
        invalid
    );
    let early = assert_401(
        &app,
        &sign(&claims(&app, json!({"nbf": now + 3600})), &secret),
        "not yet valid",
    )
    .await;
    assert_eq!(
        early,
        format!(
            "the token is not valid before {}; check the issuer's clock",
            rfc3339(now + 3600)
        )
    );
    let long = sign(&claims(&app, json!({"exp": now + 2 * 24 * 3600})), &secret);
    assert_eq!(
        assert_401(&app, &long, "too long-lived").await,
        "the token lives longer than the 86400 s allowed (exp - iat); ask for a shorter-lived one"
    );
    // A websocket refuses the expired token with the same words.
    let mut ws =
        crate::harness::ws_client::WsClient::connect(&app.address, crate::harness::ws_client::Proto::TransportWs).await;
    ws.init(Some(expired.as_str())).await;
    ws.subscribe(
        "s1",
        "subscription { activeStatusChanged { activeStatus { id } } }",
        json!({}),
    )
    .await;
    let (code, reason) = ws.closed(std::time::Duration::from_secs(10)).await;
    assert_eq!(
        (code, reason),
        (
            4403,
            format!(
                "Forbidden: the token expired at {}; ask for a new one",
                rfc3339(now - 3600)
            )
        )
    );
    assert_401(
        &app,
        &sign(&claims(&app, json!({"aud": "someone-else"})), &secret),
        "wrong audience",
    )
    .await;
    assert_401(
        &app,
        &sign(&claims(&app, json!({"iss": "someone-else"})), &secret),
        "wrong issuer",
    )
    .await;
    let unknown = assert_401(
        &app,
        &sign(
            &claims(&app, json!({"kind": "user", "sub": uuid::Uuid::new_v4().to_string()})),
            &secret,
        ),
        "unknown user",
    )
    .await;
    assert_eq!(
        unknown,
        "the token's user no longer exists; ask for a token of an existing user"
    );

    let long_name = "x".repeat(65);
    assert_401(
        &app,
        &sign(
            &claims(&app, json!({"name": long_name, "sub": format!("support:{long_name}")})),
            &secret,
        ),
        "overlong Support name",
    )
    .await;

    // alg: none — an unsigned token claiming Support.
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&app, json!({})).to_string());
    assert_401(&app, &format!("{header}.{payload}."), "alg none").await;

    // Tampered claims: a user's token whose payload is swapped for a Support one, old signature kept.
    let user_token = app.token(world.a.user1);
    let parts: Vec<&str> = user_token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims(&app, json!({})).to_string());
    assert_401(
        &app,
        &format!("{}.{}.{}", parts[0], forged, parts[2]),
        "tampered claims",
    )
    .await;

    // HS384 with the right secret is still refused: only HS256 is accepted.
    let hs384 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS384),
        &claims(&app, json!({})),
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    assert_401(&app, &hs384, "other algorithm").await;

    // Nothing was written by any refused request.
    assert_eq!(app.outbox_count().await, events_before);
}

async fn revoked_role_takes_effect_on_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    let create_location = "mutation($a: ID!, $n: String!) { locationCreate(input: {accountId: $a, name: $n}) { location { id } userErrors { code message } } }";
    let account = gid(api::graphql::ids::Kind::Account, w.a.account);

    // The Decision Maker can create a location…
    let body = app.gql(&dm, create_location, json!({"a": account, "n": "East"})).await;
    assert_eq!(codes(&body, "locationCreate"), Vec::<String>::new());

    // …Support revokes the role…
    let revoke =
        "mutation($u: ID!) { roleRevoke(input: {userId: $u, role: DECISION_MAKER}) { deletedId userErrors { code } } }";
    let body = app
        .gql(
            &app.support(),
            revoke,
            json!({"u": gid(api::graphql::ids::Kind::User, w.a.dm)}),
        )
        .await;
    assert!(body["data"]["roleRevoke"]["deletedId"].is_string(), "{body}");

    // …and the same token, on its very next request, is refused.
    let body = app.gql(&dm, create_location, json!({"a": account, "n": "West"})).await;
    assert_eq!(codes(&body, "locationCreate"), ["FORBIDDEN"]);
    // The refusal says who may.
    assert_eq!(
        body["data"]["locationCreate"]["userErrors"][0]["message"],
        "only Support or a Decision Maker of the account may add locations to the account"
    );
    let body = app.gql(&dm, "{ viewer { roles { role } } }", json!({})).await;
    assert_eq!(body["data"]["viewer"]["roles"], json!([]));
}

/// Statements one request runs.
async fn statements_of(app: &TestApp, token: &str, query: &str) -> (u64, Value) {
    let (n, body) = app.counted(token, query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    (n, body)
}

/// Issue 17: a user token's roles and records are read at its first request and kept for the
/// next ones; a change committed through the API retires them before its answer, so the next
/// request reads them as they are now.
async fn caller_is_read_once_until_a_change(backend: Backend) {
    // No plugins or subscriptions: their statements would be counted too.
    let app = spawn_app_with(backend, quiet).await;
    let w = World::build(&app).await;
    let (dm, pm) = (app.token(w.a.dm), app.token(w.a.pm));
    let me = "{ me { name } }";
    let (n, first) = statements_of(&app, &dm, me).await;
    assert_eq!(n, 1, "who they are, with their user record: {first}");
    let (n, again) = statements_of(&app, &dm, me).await;
    assert_eq!(n, 0, "kept: {again}");
    assert_eq!(again, first);
    let (n, _) = statements_of(&app, &pm, me).await;
    assert_eq!(n, 1, "each user is read for themself");

    let rename = "mutation($u: ID!) { userUpdate(input: {id: $u, name: \"Renamed Maker\"}) { user { name } userErrors { code } } }";
    let body = app
        .gql(
            &app.support(),
            rename,
            json!({"u": gid(api::graphql::ids::Kind::User, w.a.dm)}),
        )
        .await;
    assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
    let (n, body) = statements_of(&app, &dm, me).await;
    assert_eq!(n, 1, "read again after the change: {body}");
    assert_eq!(body["data"]["me"]["name"], "Renamed Maker");
    let (n, _) = statements_of(&app, &pm, me).await;
    assert_eq!(n, 1, "every kept caller is retired by a change");
    let (n, _) = statements_of(&app, &dm, me).await;
    assert_eq!(n, 0, "kept again");
}

/// A role revoked by another process (here: the service layer on the same database, which
/// records its event as every writer does, but tells this server nothing) stops working once
/// this server sees the event — its `NOTIFY` on PostgreSQL, the log's catch-up read on SQLite
/// — although callers may be kept a full minute here.
async fn a_change_from_another_process_retires_kept_callers(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.principal_cache_ms = 60_000).await;
    let w = World::build(&app).await;
    let dm = app.token(w.a.dm);
    // What the account's user list shows depends on the caller's roles, as kept.
    let users = "query($a: ID!) { account(id: $a) { users(first: 50) { totalCount } } }";
    let a = json!({"a": gid(api::graphql::ids::Kind::Account, w.a.account)});
    let as_user = app.gql(&app.token(w.a.user1), users, a.clone()).await;
    let as_dm = app.gql(&dm, users, a.clone()).await;
    assert_ne!(as_dm, as_user, "a Decision Maker sees more than a plain user");

    let support = api::policy::Principal::Support {
        name: "elsewhere".into(),
    };
    api::service::directory::revoke_role(&app.state.db, &support, Some(w.a.dm), entity::Role::DecisionMaker, None)
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body = app.gql(&dm, users, a.clone()).await;
        if body == as_user {
            break;
        }
        assert_eq!(body, as_dm);
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked role is still honoured 10 s later: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

backend_tests!(
    bad_tokens_are_401,
    revoked_role_takes_effect_on_next_request,
    caller_is_read_once_until_a_change,
    a_change_from_another_process_retires_kept_callers
);
