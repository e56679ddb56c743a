//! The W3C trace context (`traceparent`) carried through the event log (issue 19).
//!
//! A change records, with each of its events, the `traceparent` of the span it ran in
//! ([`current`]); a plugin handling the event later, in this process or another, opens its span
//! as a child of that one ([`follow`]), so the plugin's work shows in the trace of the mutation
//! that caused it. Without a tracing exporter there is no trace to carry: [`current`] is `None`
//! and [`follow`] does nothing.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (and map key) W3C Trace Context names.
const TRACEPARENT: &str = "traceparent";

/// Whether this process exports spans (set once by the process's telemetry). Without an
/// exporter, the spans only a trace needs (an operation's, a plugin's) are not made: each field
/// of a span is formatted for the logs when it opens.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Says that this process exports spans, from now on.
pub fn set_exporting() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether this process exports spans.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The `traceparent` of the current span, when spans are being exported.
pub fn current() -> Option<String> {
    if !exporting() {
        return None;
    }
    let context = tracing::Span::current().context();
    let mut carrier = HashMap::with_capacity(1);
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` a child of the span `traceparent` names. A missing or malformed value leaves
/// `span` where it is (a root, or the child of the current span).
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(value) = traceparent else { return };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), value.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    if opentelemetry::trace::TraceContextExt::has_active_span(&context) {
        // Refused only when `span` is not exported (tracing off): nothing to join then.
        let _ = span.set_parent(context);
    }
}
