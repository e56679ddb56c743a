//! The spans of a request, after OpenTelemetry's conventions for HTTP servers and GraphQL.
//!
//! - The HTTP request: a server span named `{method} {route}` (`GET /graphql`), its parent the
//!   caller's `traceparent` header when one is sent.
//! - The GraphQL operation: named after its type (`query`, `mutation`, `subscription`), which
//!   keeps span names few; `graphql.operation.type` and `graphql.operation.name` say which. The
//!   document's text (`graphql.document`) only when `[tracing] document` is on: it may hold
//!   personal data.

use std::collections::HashMap;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use axum::http::{HeaderMap, Request, Response};
use integrations::trace_context::exporting;
use opentelemetry::{propagation::TextMapPropagator, trace::TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::{Span, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::Operation;

/// The routes span names may carry; any other path is named by its method alone, so that
/// made-up paths cannot multiply span names.
const ROUTES: [&str; 6] = ["/graphql", "/graphiql", "/metrics", "/healthz", "/readyz", "/"];

/// The span of one HTTP request: its method, path and request id, and (when it is exported) its
/// route, its status and the caller's trace as its parent.
pub fn request<B>(req: &Request<B>) -> Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = req.uri().path();
    let method = req.method().as_str();
    if !exporting() {
        return tracing::info_span!("request", method = %method, path = %path, request_id = %id);
    }
    let span = match ROUTES.iter().find(|r| **r == path) {
        Some(route) => tracing::info_span!(
            "request",
            otel.name = %format_args!("{method} {route}"),
            otel.kind = "server",
            http.request.method = method,
            http.route = route,
            url.path = path,
            request_id = id,
            http.response.status_code = Empty,
            otel.status_code = Empty,
        ),
        None => tracing::info_span!(
            "request",
            otel.name = method,
            otel.kind = "server",
            http.request.method = method,
            url.path = path,
            request_id = id,
            http.response.status_code = Empty,
            otel.status_code = Empty,
        ),
    };
    follow_caller(&span, req.headers());
    span
}

/// Records the response's status on the request's span (a 5xx is an error of the server's), and
/// logs it at `debug` as tower-http does by default.
pub fn response<B>(res: &Response<B>, latency: std::time::Duration, span: &Span) {
    tower_http::trace::OnResponse::on_response(tower_http::trace::DefaultOnResponse::new(), res, latency, span);
    let status = res.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

/// Makes `span` a child of the caller's span, named by a W3C `traceparent` header.
fn follow_caller(span: &Span, headers: &HeaderMap) {
    let Some(value) = headers.get("traceparent").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let mut carrier = HashMap::from([("traceparent".to_owned(), value.to_owned())]);
    if let Some(state) = headers.get("tracestate").and_then(|v| v.to_str().ok()) {
        carrier.insert("tracestate".to_owned(), state.to_owned());
    }
    let context = TraceContextPropagator::new().extract(&carrier);
    if context.has_active_span() {
        // Refused only when the span is not exported: nothing to join then.
        let _ = span.set_parent(context);
    }
}

/// The span of one GraphQL operation of `doc` (the one `name` picks), with its text when
/// `document` is given.
pub fn operation(kind: Operation, doc: &ExecutableDocument, name: Option<&str>, document: Option<&str>) -> Span {
    if !exporting() {
        return Span::none();
    }
    let kind = match kind {
        Operation::Query => "query",
        Operation::Mutation => "mutation",
        Operation::Subscription => "subscription",
        Operation::None => "none",
    };
    let span = tracing::info_span!(
        "graphql",
        otel.name = kind,
        graphql.operation.type = kind,
        graphql.operation.name = Empty,
        graphql.document = Empty,
        otel.status_code = Empty,
    );
    if let Some(name) = name.or_else(|| only_name(doc)) {
        span.record("graphql.operation.name", name);
    }
    if let Some(text) = document {
        span.record("graphql.document", text);
    }
    span
}

/// Marks the operation's span failed when the response carries errors.
pub fn outcome(span: &Span, response: &async_graphql::Response) {
    if !response.errors.is_empty() {
        span.record("otel.status_code", "ERROR");
    }
}

/// The name of the document's only operation, when it has one named operation.
fn only_name(doc: &ExecutableDocument) -> Option<&str> {
    match &doc.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(ops) if ops.len() == 1 => ops.keys().next().map(|n| n.as_str()),
        DocumentOperations::Multiple(_) => None,
    }
}
