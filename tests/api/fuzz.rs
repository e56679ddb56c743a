//! Bad input of every shape gets a typed answer and changes nothing: random (often hostile)
//! values for the directory mutations never produce an HTTP 5xx, a top-level error or a partial
//! write, and what is accepted reads back normalised.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::*;

const CASES: usize = 48;

const CREATE: &str = "mutation($i: UserCreateInput!) {
  userCreate(input: $i) { user { name email phoneNumber extension } userErrors { field code } }
}";

const KNOWN: [&str; 4] = ["VALIDATION_FAILED", "EXTENSION_CONFLICT", "NOT_FOUND", "FORBIDDEN"];

/// A hostile string: any Unicode (control characters, combining marks), blanks, or a run around
/// the 200-character bound, sometimes of a letter that grows when lower-cased ("İ" → "i̇"),
/// which the sort and search keys store.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        1 => "[ \t\n]{0,3}".prop_map(|s| s),
        3 => (prop::sample::select(vec!["a", "İ"]), 190..=210usize).prop_map(|(c, n)| c.repeat(n)),
    ]
}

/// Plausible `userCreate` fields with, in most cases, one of them replaced by a hostile value, so
/// that each case reaches the rule (or the database) for that field rather than failing early on
/// another.
fn user_input() -> impl Strategy<Value = Value> {
    let plausible = (
        "[A-Z][a-z]{1,12} [A-Z][a-z]{1,12}",
        proptest::option::of("[a-z]{1,8}@[a-z]{1,8}\\.example"),
        proptest::option::of("\\+?[0-9]{3,15}"),
        "[0-9]{2,6}",
        prop_oneof![
            Just("BASIC"),
            Just("ESSENTIALS"),
            Just("PREMIER"),
            Just("ELITE"),
            Just("OTHER")
        ],
    );
    (plausible, 0..5usize, hostile()).prop_map(|((name, email, phone, extension, profile), which, bad)| {
        let mut input = json!({
            "name": name, "email": email, "phoneNumber": phone, "extension": extension, "phoneProfile": profile,
        });
        let field = ["name", "email", "phoneNumber", "extension"].get(which);
        if let Some(field) = field {
            input[*field] = json!(bad);
        }
        input
    })
}

async fn random_user_input_is_answered_with_types_not_faults(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let (token, account) = (app.support(), gid(Kind::Account, w.a.account));
    let mut runner = TestRunner::deterministic();
    let strategy = user_input();
    for case in 0..CASES {
        let mut input = strategy.new_tree(&mut runner).unwrap().current();
        input["accountId"] = json!(account);
        let events = app.outbox_count().await;
        let (status, body) = app.post(&token, CREATE, json!({ "i": input })).await;
        assert_eq!(status, 200, "case {case} {input}: {body}");
        assert!(
            body["errors"].is_null(),
            "case {case}: no top-level error for {input}: {body}"
        );
        let payload = &body["data"]["userCreate"];
        let errors = payload["userErrors"].as_array().unwrap();
        if errors.is_empty() {
            let user = &payload["user"];
            assert_eq!(
                user["name"].as_str().unwrap(),
                input["name"].as_str().unwrap().trim(),
                "case {case}"
            );
            assert_eq!(
                user["extension"].as_str().unwrap(),
                input["extension"].as_str().unwrap().trim()
            );
            assert_eq!(
                app.outbox_count().await,
                events + 1,
                "case {case}: one event for one user"
            );
        } else {
            for e in errors {
                assert!(KNOWN.contains(&e["code"].as_str().unwrap()), "case {case}: {e}");
                assert!(e["field"].is_array(), "case {case}: every refusal names its field: {e}");
            }
            assert!(payload["user"].is_null());
            assert_eq!(
                app.outbox_count().await,
                events,
                "case {case}: a refusal writes nothing"
            );
        }
    }
}

async fn random_account_and_location_input_is_answered_with_types(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.support();
    let mut runner = TestRunner::deterministic();
    let strategy = (
        prop_oneof!["[A-Z][a-z]{2,20}( Corp)?".prop_map(|s| s), hostile()],
        proptest::option::of(proptest::collection::vec(
            prop_oneof!["[0-9]{1,4}".prop_map(|s| s), hostile()],
            0..4,
        )),
        proptest::option::of(-5..40i32),
    );
    let create = "mutation($i: AccountCreateInput!) { accountCreate(input: $i) { account { id name } userErrors { field code } } }";
    for case in 0..CASES {
        let (name, codes_in, length) = strategy.new_tree(&mut runner).unwrap().current();
        let input =
            json!({ "name": name, "platform": "MX_ONE", "destinationCodes": codes_in, "extensionLength": length });
        let events = app.outbox_count().await;
        let (status, body) = app.post(&token, create, json!({ "i": input })).await;
        assert_eq!(status, 200, "case {case} {input}: {body}");
        assert!(body["errors"].is_null(), "case {case}: {input}: {body}");
        let payload = &body["data"]["accountCreate"];
        let refused = !payload["userErrors"].as_array().unwrap().is_empty();
        assert_eq!(payload["account"].is_null(), refused, "case {case}: {body}");
        assert_eq!(
            app.outbox_count().await,
            events + u64::from(!refused) as i64,
            "case {case}"
        );
        if let Some(id) = payload["account"]["id"].as_str() {
            let location = "mutation($a: ID!, $n: String!) { locationCreate(input: {accountId: $a, name: $n}) { location { name } userErrors { code } } }";
            let (status, body) = app.post(&token, location, json!({ "a": id, "n": name })).await;
            assert_eq!(status, 200);
            assert!(body["errors"].is_null(), "case {case}: {body}");
        }
    }
}

backend_tests!(
    random_user_input_is_answered_with_types_not_faults,
    random_account_and_location_input_is_answered_with_types,
);
