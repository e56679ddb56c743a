//! OpenTelemetry tracing (issue 19), end to end: `reach serve` as a real process exports its spans
//! over OTLP/HTTP (protobuf) to a collector played by an axum handler in the test, on 127.0.0.1.
//! A mutation sent with a W3C `traceparent` is traced under the caller's trace: the request's
//! server span, the operation's span named after its type, the database statements under it,
//! and the email plugin's handling of the mutation's event, which joins the same trace through
//! the event log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{AnyValue, any_value},
    trace::v1::span::SpanKind,
};
use prost::Message;
use serde_json::{Value, json};

use super::cli::{Server, listening, start, temp_dir};
use crate::harness::ws_client::{Incoming, Proto, WsClient};

/// A span as the collector received it, with ids in hex.
#[derive(Clone, Debug)]
struct Received {
    trace: String,
    id: String,
    parent: String,
    name: String,
    kind: i32,
    attributes: HashMap<String, String>,
}

type Spans = Arc<Mutex<Vec<Received>>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// `POST /v1/traces`: decodes the protobuf request and keeps its spans.
async fn collect(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut kept = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .map(|a| text(a.value.as_ref()));
        assert_eq!(service.as_deref(), Some("reach"), "the service is named");
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            kept.push(Received {
                trace: hex(&span.trace_id),
                id: hex(&span.span_id),
                parent: hex(&span.parent_span_id),
                name: span.name,
                kind: span.kind,
                attributes: (span.attributes.iter())
                    .map(|a| (a.key.clone(), text(a.value.as_ref())))
                    .collect(),
            });
        }
    }
    // An empty `ExportTraceServiceResponse`: everything accepted.
    Vec::new()
}

/// Starts the collector; answers its base URL and what it received.
async fn collector() -> (String, Spans) {
    let spans = Spans::default();
    let app = Router::new()
        .route("/v1/traces", post(collect))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), spans)
}

/// Waits until the spans of trace `trace` satisfy `done`, then answers them.
async fn wait_for(spans: &Spans, trace: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    for _ in 0..200 {
        let of_trace: Vec<Received> = (spans.lock().unwrap().iter())
            .filter(|s| s.trace == trace)
            .cloned()
            .collect();
        if done(&of_trace) {
            return of_trace;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the trace {trace} never completed: {:#?}", spans.lock().unwrap());
}

async fn send(addr: &str, token: &str, traceparent: Option<&str>, body: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{addr}/graphql"))
        .bearer_auth(token)
        .json(&body);
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// `reach serve --demo` exporting its spans to the collector at `endpoint` every 50 ms, with
/// `env` besides: the server, the lines it printed, its address.
fn traced(endpoint: &str, env: &[(&str, &str)]) -> (Server, Vec<String>, String) {
    let mut all = vec![
        ("REACH_TRACING__OTLP", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        // Empty is unset: whatever the test's own environment holds.
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ("OTEL_SERVICE_NAME", ""),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
    ];
    all.extend_from_slice(env);
    listening(start(&temp_dir(), &["--demo"], &all))
}

fn persona_token(lines: &[String], persona: &str) -> String {
    let at = lines.iter().position(|l| l.contains(persona)).unwrap();
    lines[at + 1].trim().to_owned()
}

#[tokio::test]
async fn a_mutation_and_the_plugin_work_it_causes_join_the_callers_trace() {
    let (endpoint, spans) = collector().await;
    let (_server, lines, addr) = traced(&endpoint, &[]);
    let token = persona_token(&lines, "Decision Maker");

    // A query with no caller trace starts a trace of its own.
    let viewer = send(
        &addr,
        &token,
        None,
        json!({"query": "query Me { viewer { account { id } } }"}),
    )
    .await;
    let account = viewer["data"]["viewer"]["account"]["id"].as_str().unwrap().to_owned();

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller = "00f067aa0ba902b7";
    let create = json!({
        "query": "mutation Hire($a: ID!) { userCreate(input: { accountId: $a, name: \"Casey Traced\", \
                  email: \"casey.traced@northwind.example\", extension: \"1098\", phoneProfile: ESSENTIALS }) \
                  { user { id } userErrors { code } } }",
        "variables": {"a": account},
    });
    let traceparent = format!("00-{trace}-{caller}-01");
    let created = send(&addr, &token, Some(&traceparent), create).await;
    assert!(created["data"]["userCreate"]["user"]["id"].is_string(), "{created}");

    // Every span expected, whichever export batch each came in.
    let received = wait_for(&spans, trace, |s| {
        let has = |name: &str| s.iter().any(|s| s.name == name);
        let inserted = s
            .iter()
            .any(|s| (s.attributes.get("db.statement")).is_some_and(|q| q.contains("INSERT INTO app_user")));
        has("POST /graphql") && has("mutation") && has("email user.created") && inserted
    })
    .await;
    let named = |name: &str| received.iter().find(|s| s.name == name).cloned();

    // The request: a server span whose parent is the caller's.
    let request = named("POST /graphql").expect("the request's span");
    assert_eq!(request.parent, caller);
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(request.attributes["http.request.method"], "POST");
    assert_eq!(request.attributes["http.response.status_code"], "200");

    // The operation: named after its type, under the request.
    let operation = named("mutation").expect("the operation's span");
    assert_eq!(operation.parent, request.id);
    assert_eq!(operation.attributes["graphql.operation.type"], "mutation");
    assert_eq!(operation.attributes["graphql.operation.name"], "Hire");
    assert!(
        !operation.attributes.contains_key("graphql.document"),
        "no document text by default"
    );

    // The database statements: client spans below the operation.
    let below = |span: &Received, ancestor: &Received| {
        let mut at = span.clone();
        while let Some(parent) = received.iter().find(|s| s.id == at.parent) {
            if parent.id == ancestor.id {
                return true;
            }
            at = parent.clone();
        }
        false
    };
    let statements: Vec<&Received> = (received.iter())
        .filter(|s| s.attributes.get("db.system").is_some_and(|d| d == "sqlite"))
        .collect();
    assert!(
        statements.iter().any(|s| s
            .attributes
            .get("db.statement")
            .is_some_and(|q| q.contains("INSERT INTO app_user"))),
        "the user's insert is traced: {statements:#?}"
    );
    for statement in &statements {
        assert_eq!(statement.kind, SpanKind::Client as i32);
        assert!(below(statement, &request), "{statement:?} is inside the request");
    }
    assert!(
        statements.iter().any(|s| below(s, &operation)),
        "statements under the operation"
    );

    // The email plugin's handling of `user.created`, from the log, in the same trace: a child of
    // the span that recorded the event.
    let plugin = named("email user.created").expect("the plugin's span");
    assert_eq!(plugin.kind, SpanKind::Consumer as i32);
    assert_eq!(plugin.attributes["reach.event.type"], "user.created");
    assert!(below(&plugin, &operation), "{plugin:?} descends from the operation");

    // The query before, sent with no `traceparent`, is a trace of its own, rooted at its request.
    let is_query =
        |s: &Received| s.name == "query" && s.attributes.get("graphql.operation.name").is_some_and(|n| n == "Me");
    let query = (spans.lock().unwrap().iter()).find(|s| is_query(s)).cloned();
    let query = query.expect("the query's span (it ended before the mutation was sent)");
    assert_ne!(query.trace, trace);
    let of_query = wait_for(&spans, &query.trace, |s| s.iter().any(|s| s.id == query.parent)).await;
    let root = of_query.iter().find(|s| s.id == query.parent).unwrap();
    assert_eq!(
        (root.name.as_str(), root.parent.as_str()),
        ("POST /graphql", ""),
        "a root span"
    );

    // A query over a websocket joins the trace its upgrade request carried.
    let (ws_trace, ws_caller) = ("a3ce929d0e0e47364bf92f3577b34da6", "b7ad6b7169203331");
    let upgrade_trace = format!("00-{ws_trace}-{ws_caller}-01");
    let headers = [("traceparent", upgrade_trace.as_str())];
    let mut ws = WsClient::connect_with(&addr, Proto::TransportWs, &headers).await;
    ws.init(Some(&token)).await;
    assert_eq!(ws.next(Duration::from_secs(10)).await, Incoming::Ack);
    ws.subscribe("q", "query OverTheSocket { viewer { kind } }", json!({}))
        .await;
    assert!(matches!(ws.next(Duration::from_secs(10)).await, Incoming::Next { .. }));
    let over_socket = wait_for(&spans, ws_trace, |s| s.iter().any(|s| s.name == "query")).await;
    let socket_query = over_socket.iter().find(|s| s.name == "query").unwrap();
    assert_eq!(socket_query.parent, ws_caller);
    assert_eq!(socket_query.attributes["graphql.operation.name"], "OverTheSocket");

    // Statements outside any span (migrating, filling the demo, the background tasks' polling)
    // are not exported as traces of their own.
    let orphans: Vec<Received> = (spans.lock().unwrap().iter())
        .filter(|s| s.name.starts_with("sea_orm.") && s.parent.is_empty())
        .cloned()
        .collect();
    assert_eq!(orphans.len(), 0, "{orphans:#?}");
}

/// Runs a mutation that must succeed and answers its payload.
async fn must(addr: &str, token: &str, traceparent: Option<&str>, field: &str, body: Value) -> Value {
    let answer = send(addr, token, traceparent, body).await;
    let payload = &answer["data"][field];
    assert_eq!(payload["userErrors"], json!([]), "{field}: {answer}");
    payload.clone()
}

#[tokio::test]
async fn the_emails_of_a_settings_change_are_sent_in_its_trace() {
    let (endpoint, spans) = collector().await;
    let smtp = crate::harness::smtp_sink::SmtpSink::start().await;
    let smtp_url = smtp.url();
    let smtp_env = [
        ("REACH_SMTP_URL", smtp_url.as_str()),
        ("REACH_PLUGINS__EMAIL__TLS", "none"),
    ];
    let (_server, lines, addr) = traced(&endpoint, &smtp_env);
    let (dm, support) = (
        persona_token(&lines, "Decision Maker"),
        persona_token(&lines, "Support:"),
    );

    // The demo's Connect for Mobile walk-through, up to two enabled users, with the emails on.
    let query = "{ viewer { account { id accessNumbers(first: 1) { nodes { id } } \
                 users(first: 50) { nodes { id name } } } } }";
    let viewer = send(&addr, &dm, None, json!({"query": query})).await;
    let account = &viewer["data"]["viewer"]["account"];
    let user = |prefix: &str| {
        let users = account["users"]["nodes"].as_array().unwrap();
        let found = users.iter().find(|u| u["name"].as_str().unwrap().starts_with(prefix));
        found.unwrap()["id"].clone()
    };
    let vars = json!({
        "a": account["id"], "n": account["accessNumbers"]["nodes"][0]["id"], "u": user("Uma"), "e": user("Ezra"),
    });
    let steps = [
        (
            &dm,
            "mobilityActivate",
            "mutation($a: ID!, $n: ID!) { mobilityActivate(input: { accountId: $a, \
          confirmPurchase: true, voicemailAccessNumber: \"8991\", accessNumberId: $n }) { userErrors { code } } }",
        ),
        (
            &support,
            "mobilityActivationComplete",
            "mutation($a: ID!) { mobilityActivationComplete(input: \
          { accountId: $a, mobilityRouter: \"mr-east-1.example.net\", groupName: \"northwind\" }) { userErrors { code } } }",
        ),
        (
            &dm,
            "mobilityUsersEnable",
            "mutation($a: ID!, $u: ID!, $e: ID!) { mobilityUsersEnable(input: { accountId: $a, \
          users: [{ userId: $u, mobilityExtension: \"5004\" }, { userId: $e, mobilityExtension: \"5007\" }] }) \
          { userErrors { code } } }",
        ),
        (
            &dm,
            "mobilityEmailNotificationSet",
            "mutation($a: ID!) { mobilityEmailNotificationSet(input: \
          { accountId: $a, enabled: true }) { mobility { settings { version } } userErrors { code } } }",
        ),
    ];
    let mut version = Value::Null;
    for (token, field, query) in steps {
        let payload = must(&addr, token, None, field, json!({"query": query, "variables": vars})).await;
        version = payload["mobility"]["settings"]["version"].clone();
    }

    // The change, sent in the caller's trace, mails the two enabled users.
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let traceparent = format!("00-{trace}-b7ad6b7169203331-01");
    let update = "mutation Change($a: ID!, $v: Int!) { mobilitySettingsUpdate(input: { accountId: $a, \
                  expectedVersion: $v, handoverNumber: \"6465550123\" }) { userErrors { code } } }";
    let variables = json!({"a": vars["a"], "v": version});
    must(
        &addr,
        &support,
        Some(&traceparent),
        "mobilitySettingsUpdate",
        json!({"query": update, "variables": variables}),
    )
    .await;
    assert_eq!(smtp.wait_for(2, Duration::from_secs(20)).await.len(), 2, "both mailed");

    let sends = |s: &[Received]| s.iter().filter(|s| s.name == "email send").count();
    let received = wait_for(&spans, trace, |s| {
        sends(s) == 2 && s.iter().any(|s| s.name == "mutation")
    })
    .await;
    let operation = received.iter().find(|s| s.name == "mutation").unwrap();
    assert_eq!(operation.attributes["graphql.operation.name"], "Change");
    for send in received.iter().filter(|s| s.name == "email send") {
        assert_eq!(send.kind, SpanKind::Client as i32);
        assert_eq!(
            send.parent, operation.id,
            "sent as a child of the change that queued it"
        );
        assert_eq!(send.attributes["reach.delivery.attempt"], "1");
        let shown: String = send.attributes.values().cloned().collect();
        assert!(!shown.contains('@'), "no address in the span: {send:?}");
    }
}
