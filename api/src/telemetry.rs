//! Logging, set up once per process: `pretty` or `json`, filtered by `RUST_LOG` or the
//! `log_level` setting. Tokens and email addresses are never logged.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber (a second call is a no-op, so tests may call it freely).
pub fn init(format: &str, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if format == "json" {
        registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry.with(fmt::layer().with_writer(std::io::stderr)).try_init()
    };
    // Already installed (tests start many apps in one process): keep the first one.
    drop(result);
}
