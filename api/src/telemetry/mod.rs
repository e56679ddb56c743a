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
use tracing::{Metadata, Subscriber, level_filters::LevelFilter};
use tracing_subscriber::{
    EnvFilter,
    filter::{FilterExt, dynamic_filter_fn, filter_fn},
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

/// Installs the global subscriber for `settings`: the logs, and the OTLP exporter when `traced`
/// and `[tracing] otlp` is on. Fails when the exporter cannot be built (a malformed endpoint).
pub fn start(settings: &Settings, traced: bool) -> anyhow::Result<Telemetry> {
    let provider = if traced && settings.tracing.otlp {
        Some(otlp::provider(&settings.tracing)?)
    } else {
        None
    };
    install(&settings.log_format, &settings.log_level, provider.as_ref());
    if provider.is_some() {
        integrations::trace_context::set_exporting();
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
    // Already installed (tests start many apps in one process): keep the first one.
    drop(subscriber(format, level, provider).try_init());
}

/// The logs' layer, and the exporter's when there is one.
fn subscriber(format: &str, level: &str, provider: Option<&SdkTracerProvider>) -> Box<dyn Subscriber + Send + Sync> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // The hint keeps the log level's own (a filter without one would let every disabled
    // `debug!` of every crate be asked about at each hit).
    let not_statements = filter_fn(|meta| !is_statement_span(meta)).with_max_level_hint(LevelFilter::TRACE);
    let logged = filter.and(not_statements);
    let logs = if format == "json" {
        fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).boxed()
    };
    let registry = tracing_subscriber::registry().with(logs.with_filter(logged));
    match provider {
        // Without an exporter, no second layer at all: an empty one would make every callsite
        // "sometimes" interesting, and so checked at each hit.
        None => Box::new(registry),
        Some(provider) => Box::new(registry.with(exported(provider))),
    }
}

/// The layer exporting spans: at `info` and above whatever the log level (a trace does not lose
/// its statements because the logs were quieted); a statement only inside a span (the background
/// tasks' polling would otherwise be a trace of one span, several times a second); never the
/// exporter's own log lines (a collector that cannot be reached), which would loop.
fn exported<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use opentelemetry::trace::TracerProvider;
    let wanted = dynamic_filter_fn(|meta, cx| {
        !meta.target().starts_with("opentelemetry") && (!is_statement_span(meta) || cx.lookup_current().is_some())
    })
    .with_max_level_hint(LevelFilter::INFO);
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("reach"))
        .with_filter(LevelFilter::INFO.and(wanted))
}

#[cfg(test)]
mod tests {
    use tracing::{Subscriber, level_filters::LevelFilter};

    #[test]
    fn without_an_exporter_the_log_level_bounds_every_callsite() {
        // Skipped where the environment sets the filter itself.
        if std::env::var_os("RUST_LOG").is_some() {
            return;
        }
        let logs = super::subscriber("pretty", "info", None);
        assert_eq!(logs.max_level_hint(), Some(LevelFilter::INFO));
        let logs = super::subscriber("json", "warn", None);
        assert_eq!(logs.max_level_hint(), Some(LevelFilter::WARN));
    }
}
