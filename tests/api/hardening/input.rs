//! Issue 16 items 2 and 10: no `INTERNAL` from ordinary input. Every string argument of every
//! query field (found by walking the schema, so a new one cannot be forgotten) answers
//! `BAD_REQUEST` to a 50,000- or 101-character search, a NUL, a bidi control or a forged
//! cursor; every string of every mutation input answers `VALIDATION_FAILED` to a NUL and writes
//! nothing; names and labels refuse bidi and format characters.

#![allow(clippy::unwrap_used)]

use api::graphql::ids::Kind;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use serde_json::{Map, Value, json};

use crate::backend_tests;
use crate::harness::app::*;
use crate::harness::schema_walk::{named, types, with_one_bad, written};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kindof {
    /// Free text: `search` and the filters.
    Text,
    /// `after` / `before`.
    Cursor,
    /// A global id.
    Id,
}

/// One string argument of a query field: `Owner.field(arg)`, or `(arg.inner)` for a string field
/// of an input-object argument.
#[derive(Debug)]
struct Arg {
    owner: String,
    field: String,
    returns_object: bool,
    arg: String,
    inner: Option<String>,
    ty: String,
    kind: Kindof,
}

fn string_args(types: &Map<String, Value>) -> Vec<Arg> {
    let mut found = Vec::new();
    for (owner, ty) in types {
        if ty["kind"] != "OBJECT" || owner.starts_with("__") || ["Mutation", "Subscription"].contains(&&**owner) {
            continue;
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let returns = types[named(&field["type"])["name"].as_str().unwrap()]["kind"].clone();
            let returns_object = ["OBJECT", "INTERFACE", "UNION"].contains(&returns.as_str().unwrap());
            for arg in field["args"].as_array().unwrap() {
                let name = arg["name"].as_str().unwrap();
                let base = named(&arg["type"]);
                let mut push = |inner: Option<String>, ty: String, kind| {
                    found.push(Arg {
                        owner: owner.clone(),
                        field: field["name"].as_str().unwrap().to_owned(),
                        returns_object,
                        arg: name.to_owned(),
                        inner,
                        ty,
                        kind,
                    })
                };
                match (base["kind"].as_str().unwrap(), base["name"].as_str().unwrap()) {
                    ("SCALAR", "String") if ["after", "before"].contains(&name) => {
                        push(None, written(&arg["type"]), Kindof::Cursor)
                    }
                    ("SCALAR", "String") => push(None, written(&arg["type"]), Kindof::Text),
                    ("SCALAR", "ID") => push(None, written(&arg["type"]), Kindof::Id),
                    ("INPUT_OBJECT", input) => {
                        for f in types[input]["inputFields"].as_array().unwrap() {
                            let kind = match named(&f["type"])["name"].as_str().unwrap() {
                                "String" => Kindof::Text,
                                "ID" => Kindof::Id,
                                _ => continue,
                            };
                            push(Some(f["name"].as_str().unwrap().to_owned()), written(&f["type"]), kind);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// How a query reaches a field of `owner`: the variables it needs and the text around it.
fn reach(owner: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match owner {
        "Query" => ("", "", ""),
        "Account" => (", $a: ID!", "account(id: $a) { ", " }"),
        "Mobility" => (", $a: ID!", "account(id: $a) { mobility { ", " } }"),
        "User" => (", $u: ID!", "node(id: $u) { ... on User { ", " } }"),
        _ => return None,
    })
}

/// A cursor of ours in form (a UUID and a key) whose key holds `key`.
fn forged_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}{key}", uuid::Uuid::new_v4()))
}

fn hostile(kind: Kindof) -> Vec<String> {
    match kind {
        Kindof::Text => vec![
            "a".repeat(50_000),
            "a".repeat(101),
            "a\u{0}".into(),
            "\u{0}".into(),
            "\u{202e}evil".into(),
        ],
        Kindof::Cursor => vec![forged_cursor("a\u{0}"), forged_cursor("\u{1}"), "A".repeat(50_000)],
        Kindof::Id => vec!["a\u{0}".into(), "\u{0}".into()],
    }
}

async fn every_string_query_argument_refuses_hostile_text(backend: Backend) {
    // issue 16 item 2
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    activate_mobility(&app, &w.a).await;
    enable_mobility(&app, &w.a, &[(w.a.user1, "4001")]).await;
    let token = app.support();
    let args = string_args(&types().await);
    let unreachable: Vec<String> = args
        .iter()
        .filter(|a| reach(&a.owner).is_none())
        .map(|a| format!("{}.{}({})", a.owner, a.field, a.arg))
        .collect();
    assert!(unreachable.is_empty(), "add a way to reach {unreachable:?} to `reach`");
    for must in [
        "accounts(search)",
        "users(search)",
        "eligibleUsers(search)",
        "users(filter)",
        "node(id)",
    ] {
        assert!(
            args.iter().any(|a| format!("{}({})", a.field, a.arg) == must),
            "the walk finds {must}"
        );
    }
    for a in &args {
        let (vars, before, after) = reach(&a.owner).unwrap();
        let selection = if a.returns_object { "{ __typename }" } else { "" };
        let (ty, value) = match &a.inner {
            Some(inner) => (a.ty.clone(), format!("{{ {inner}: $v }}")),
            None => (a.ty.clone(), "$v".to_owned()),
        };
        let query = format!(
            "query($v: {ty}{vars}) {{ {before}{}({}: {value}) {selection}{after} }}",
            a.field, a.arg
        );
        for bad in hostile(a.kind) {
            let v = if ty.starts_with('[') { json!([bad]) } else { json!(bad) };
            let vars = json!({ "v": v, "a": gid(Kind::Account, w.a.account), "u": gid(Kind::User, w.a.user1) });
            let (status, body) = app.post(&token, &query, vars).await;
            let what = format!(
                "{}.{}({}{}) = {:.20?}",
                a.owner,
                a.field,
                a.arg,
                a.inner.as_deref().map(|i| format!(".{i}")).unwrap_or_default(),
                bad
            );
            assert!(status == 200 || status == 400, "{what}: HTTP {status} {body}");
            let codes = top_codes(&body);
            assert!(!codes.iter().any(|c| c == "INTERNAL"), "{what}: {body}");
            assert!(
                codes.iter().any(|c| c == "BAD_REQUEST"),
                "{what}: coded BAD_REQUEST: {body}"
            );
        }
    }
}

async fn every_string_of_every_mutation_input_refuses_nul(backend: Backend) {
    // issue 16 item 2: a NUL anywhere in an input is VALIDATION_FAILED naming the field, and
    // nothing is written (PostgreSQL would refuse it with an internal error).
    let app = spawn_app(backend).await;
    let _w = World::build(&app).await;
    let token = app.support();
    let types = types().await;
    let mutations = types["Mutation"]["fields"].as_array().unwrap();
    assert!(mutations.len() >= 29, "the walk sees every mutation");
    let mut probes = 0;
    for m in mutations {
        let name = m["name"].as_str().unwrap();
        let input = m["args"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "input")
            .unwrap();
        let query = format!(
            "mutation($i: {}) {{ {name}(input: $i) {{ userErrors {{ field code }} }} }}",
            written(&input["type"])
        );
        let variants = with_one_bad(&types, &input["type"], "a\u{0}");
        assert!(
            !variants.is_empty(),
            "{name}: every input has a string (at least an id)"
        );
        for (path, value) in variants {
            let events = app.outbox_count().await;
            let (status, body) = app.post(&token, &query, json!({ "i": value })).await;
            assert_eq!(status, 200, "{name} {path:?}: {body}");
            assert!(body["errors"].is_null(), "{name} {path:?}: no top-level error: {body}");
            let errors = body["data"][name]["userErrors"].as_array().unwrap();
            assert!(
                errors
                    .iter()
                    .any(|e| e["code"] == "VALIDATION_FAILED" && e["field"] == json!(path)),
                "{name} {path:?}: VALIDATION_FAILED at the field: {body}"
            );
            assert_eq!(app.outbox_count().await, events, "{name} {path:?}: nothing written");
            probes += 1;
        }
    }
    assert!(probes > 60, "{probes} probes");
}

async fn names_and_labels_refuse_bidi_and_format_characters(backend: Backend) {
    // issue 16 item 10
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let token = app.support();
    let (a, b) = (gid(Kind::Account, w.a.account), gid(Kind::Account, w.b.account));
    let user = gid(Kind::User, w.b.user1);
    let cases = [
        (
            "accountCreate",
            "AccountCreateInput",
            json!({ "platform": "MX_ONE" }),
            "name",
        ),
        (
            "locationCreate",
            "LocationCreateInput",
            json!({ "accountId": a }),
            "name",
        ),
        (
            "accessNumberCreate",
            "AccessNumberCreateInput",
            json!({ "accountId": a, "number": "+15550009999" }),
            "label",
        ),
        (
            "userCreate",
            "UserCreateInput",
            json!({ "accountId": a, "extension": "1900", "phoneProfile": "ELITE" }),
            "name",
        ),
        (
            "userNumberCreate",
            "UserNumberCreateInput",
            json!({ "userId": user, "number": "+4630123" }),
            "label",
        ),
        (
            "dynamicStatusCreate",
            "DynamicStatusCreateInput",
            json!({ "userId": user, "presence": "AWAY" }),
            "name",
        ),
        (
            "dynamicStatusCreate",
            "DynamicStatusCreateInput",
            json!({ "userId": user, "presence": "AWAY", "name": "Lunch" }),
            "message",
        ),
        (
            "clientProfileCreate",
            "ClientProfileCreateInput",
            json!({ "accountId": b }),
            "name",
        ),
    ];
    for (mutation, ty, base, field) in cases {
        for bad in [
            "\u{202e}evil",
            "Ada\u{200b}",
            "\u{2066}x\u{2069}",
            "\u{feff}Bob",
            "A\u{200d}da",
        ] {
            let mut input = base.clone();
            input[field] = json!(bad);
            let query = format!("mutation($i: {ty}!) {{ {mutation}(input: $i) {{ userErrors {{ field code }} }} }}");
            let events = app.outbox_count().await;
            let body = app.gql(&token, &query, json!({ "i": input })).await;
            assert!(body["errors"].is_null(), "{mutation}.{field} {bad:?}: {body}");
            assert_eq!(
                body["data"][mutation]["userErrors"],
                json!([{ "field": [field], "code": "VALIDATION_FAILED" }]),
                "{mutation}.{field} {bad:?}"
            );
            assert_eq!(
                app.outbox_count().await,
                events,
                "{mutation}.{field} {bad:?}: nothing written"
            );
        }
    }
    // A joiner between non-ASCII characters (an emoji sequence) is writing, not hiding.
    let body = app
        .gql(
            &token,
            "mutation($a: ID!) { locationCreate(input: {accountId: $a, name: \"Lab 👩\u{200d}💻\"}) { location { name } userErrors { code } } }",
            json!({ "a": a }),
        )
        .await;
    assert_eq!(
        body["data"]["locationCreate"]["location"]["name"], "Lab 👩\u{200d}💻",
        "{body}"
    );
}

async fn random_search_text_is_answered_without_faults(backend: Backend) {
    // issue 16 item 2: any text a client may type as a search is either searched or refused as
    // BAD_REQUEST, on both databases.
    let app = spawn_app(backend).await;
    let w = World::build(&app).await;
    let token = app.support();
    let query = "query($v: String, $a: ID!) {
      accounts(search: $v) { totalCount }
      account(id: $a) { users(search: $v) { totalCount } mobility { eligibleUsers(search: $v) { totalCount } } }
    }";
    let strategy = prop_oneof![
        2 => any::<String>(),
        1 => (prop::sample::select(vec!["a", "%", "_", "\\", "\u{0}", "İ"]), 95..=105usize).prop_map(|(c, n)| c.repeat(n)),
    ];
    let mut runner = TestRunner::deterministic();
    for case in 0..24 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        let vars = json!({ "v": text, "a": gid(Kind::Account, w.a.account) });
        let (status, body) = app.post(&token, query, vars).await;
        let codes = top_codes(&body);
        let ok = api::service::text::search(&text).is_ok();
        // A refused argument is a field error: the rest of the document still answers.
        assert_eq!(status, 200, "case {case} {text:?}: {body}");
        if ok {
            assert!(codes.is_empty(), "case {case} {text:?}: {body}");
            assert!(body["data"]["accounts"]["totalCount"].is_u64(), "case {case}: {body}");
        } else {
            assert!(
                !codes.is_empty() && codes.iter().all(|c| c == "BAD_REQUEST"),
                "case {case} {text:?}: {body}"
            );
        }
    }
}

backend_tests!(
    every_string_query_argument_refuses_hostile_text,
    every_string_of_every_mutation_input_refuses_nul,
    names_and_labels_refuse_bidi_and_format_characters,
    random_search_text_is_answered_without_faults,
);
