//! Logging and tracing, set up once per process.
//!
//! Logs: `pretty` or `json` on stderr, filtered by `RUST_LOG` or the `log_level` setting. Tokens
//! and email addresses are never logged.
//!
//! Tracing (opt-in, `[tracing] otlp`): spans exported over OTLP/HTTP to the collector
//! `OTEL_EXPORTER_OTLP_ENDPOINT` names ([`otlp`]). Each HTTP request is a server span (its
//! parent the caller's W3C `traceparent`, when sent); each GraphQL operation a child named after
//! its type ([`spans`]); each database statement a child of that (sea-orm's `tracing-spans`); a
//! plugin's handling of an event a child of the span that recorded the event
//! (`integrations::trace_context`). Spans are exported whatever the log level; the statements'
//! spans never reach the logs.

mod otlp;
pub mod spans;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Metadata, level_filters::LevelFilter};
use tracing_subscriber::{
    EnvFilter,
    filter::{FilterExt, filter_fn},
    fmt,
    prelude::*,
};

use crate::config::Settings;

/// Installs the global subscriber for logs alone (a second call is a no-op, so tests may call
/// it freely).
pub fn init(format: &str, level: &str) {
    install(format, level, None);
}

/// What [`start`] set up; [`Telemetry::shutdown`] sends the spans still buffered.
#[must_use = "call `shutdown` before the process ends, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber for `settings`: the logs, and the OTLP exporter when
/// `[tracing] otlp` is on. Fails when the exporter cannot be built (a malformed endpoint).
pub fn start(settings: &Settings) -> anyhow::Result<Telemetry> {
    let provider = if settings.tracing.otlp {
        Some(otlp::provider(&settings.tracing)?)
    } else {
        None
    };
    install(&settings.log_format, &settings.log_level, provider.as_ref());
    if provider.is_some() {
        spans::set_exporting();
    }
    Ok(Telemetry { provider })
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter (off the async threads: it blocks).
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else { return };
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            eprintln!("warning: the last spans could not be exported: {e}");
        }
    }
}

/// Whether `meta` is a database statement's span (sea-orm's `tracing-spans`): exported, never
/// logged (it would print each statement's SQL beside the events inside it).
fn is_statement_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target().starts_with("sea_orm::database")
}

fn install(format: &str, level: &str, provider: Option<&SdkTracerProvider>) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let logged = filter.and(filter_fn(|meta| !is_statement_span(meta)));
    let logs = if format == "json" {
        fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).boxed()
    };
    // Spans at `info` and above, whatever the log level: a trace does not lose its database
    // statements because the logs were quieted. The exporter's own log lines (a collector that
    // cannot be reached) go to the logs only, never back into a trace.
    let exported = provider.map(|p| {
        use opentelemetry::trace::TracerProvider;
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("reach"))
            .with_filter(LevelFilter::INFO.and(filter_fn(|meta| !meta.target().starts_with("opentelemetry"))))
    });
    let result = tracing_subscriber::registry()
        .with(logs.with_filter(logged))
        .with(exported)
        .try_init();
    // Already installed (tests start many apps in one process): keep the first one.
    drop(result);
}
