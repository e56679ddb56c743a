//! Settings: one typed tree, loaded defaults → `reach.toml` → `REACH_*` environment → flags, and
//! validated at start so that a bad value stops the server with a message naming the setting.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub mod remote;
mod validate;

pub use validate::SettingsError;

/// The 32 bytes of a platform token key written as base64 (`platform_token_key`), or why it is
/// not one; the key itself is `service::sync::seal::TokenKey`.
pub fn token_key_bytes(text: &str) -> Result<Vec<u8>, String> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "must be base64 (32 random bytes, e.g. `openssl rand -base64 32`)".to_owned())?;
    if bytes.len() != 32 {
        return Err(format!("must be 32 bytes once decoded, not {}", bytes.len()));
    }
    Ok(bytes)
}

/// Everything Reach can be configured with.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on (`REACH_LISTEN`); port 0 picks a free port.
    pub listen: String,
    /// Database URL (`REACH_DATABASE_URL`): `sqlite://FILE` or `postgres://…`.
    #[serde(serialize_with = "serialize_secret")]
    pub database_url: SecretString,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// PostgreSQL only: the `random_page_cost` Reach's sessions plan with (`0` leaves the
    /// server's own). The default, 1.1, is the usual value for data in memory or on SSD; the
    /// server's default of 4 (for spinning disks) made the planner walk a whole account in name
    /// order for a rare per-column filter instead of looking its few matches up by index.
    pub database_random_page_cost: f64,
    /// HS256 signing secret for tokens (`REACH_JWT_SECRET`); generated and kept in the database
    /// when unset.
    #[serde(serialize_with = "serialize_opt_secret")]
    pub jwt_secret: Option<SecretString>,
    /// Token issuer (`iss`).
    pub jwt_issuer: String,
    /// Token audience (`aud`).
    pub jwt_audience: String,
    /// Lifetime of tokens minted by `reach token` and `--demo`, in seconds.
    pub token_ttl_seconds: u64,
    /// Longest lifetime (`exp - iat`) a token may have, in seconds; longer ones are refused.
    pub token_max_ttl_seconds: u64,
    /// Seconds a token is still accepted after its `exp`.
    pub token_exp_leeway_seconds: u64,
    /// Seconds of clock skew allowed on `nbf` and `iat` (a token from a clock slightly ahead).
    pub token_nbf_leeway_seconds: u64,
    /// Longest time, in milliseconds, a user token's roles and records are kept between requests
    /// (any change committed through this process, or announced by another, retires them at
    /// once; this bounds what nothing announces). `0` reads them for every request.
    pub principal_cache_ms: u64,
    /// SMTP server URL (`REACH_SMTP_URL`); unset: email is queued and kept, not sent.
    #[serde(serialize_with = "serialize_opt_secret")]
    pub smtp_url: Option<SecretString>,
    /// Key sealing the platform tokens of `platformConnectionSet` (`REACH_PLATFORM_TOKEN_KEY`):
    /// 32 bytes, base64. Unset: one is generated once and kept in the database; set it outside
    /// the database so that a copy of the database alone does not reveal the tokens.
    #[serde(serialize_with = "serialize_opt_secret")]
    pub platform_token_key: Option<SecretString>,
    /// `pretty` or `json` logs.
    pub log_format: String,
    /// Log filter, e.g. `info` or `api=debug,info` (`RUST_LOG` wins where set).
    pub log_level: String,
    /// Whether the schema may be introspected (and field suggestions are given).
    pub introspection: bool,
    /// Request limits (QUALITY.md).
    pub limits: Limits,
    /// Connect for Mobile defaults (SPEC M2).
    pub mobility: MobilityDefaults,
    /// Remote Extension: the provisioned-number label prefix and new users' default statuses.
    pub remote_extension: remote::RemoteSettings,
    /// `[plugins]`: the integrations that consume the event log (email, …).
    pub plugins: integrations::PluginSettings,
    /// Live subscriptions over websockets (`[subscriptions]`).
    pub subscriptions: Subscriptions,
    /// Connection limits and timeouts (`[server]`).
    pub server: crate::net::ServerSettings,
    /// `/metrics` (`[metrics]`).
    pub metrics: MetricsSettings,
    /// OpenTelemetry tracing (`[tracing]`).
    pub tracing: TracingSettings,
    /// The audit log's retention (`[audit]`).
    pub audit: AuditSettings,
}

/// How long the event log — the audit log, and what plugins and subscribers read — keeps its
/// entries (`REACH_AUDIT__RETENTION_DAYS`, …).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// Days an event is kept; older ones are deleted once every plugin has consumed them.
    /// 0 keeps every event.
    pub retention_days: u32,
    /// Minutes between two prunings (each server process prunes; they do not conflict).
    pub prune_interval_minutes: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 400,
            prune_interval_minutes: 60,
        }
    }
}

/// Spans exported over OTLP/HTTP (`REACH_TRACING__OTLP`, …); off by default. The collector and
/// the exporter's other options come from the standard `OTEL_*` variables
/// (`OTEL_EXPORTER_OTLP_ENDPOINT`, …) unless set here.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingSettings {
    /// Whether spans are exported.
    pub otlp: bool,
    /// The collector's OTLP/HTTP traces URL (such as `http://127.0.0.1:4318/v1/traces`);
    /// unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` +
    /// `/v1/traces`, else `http://localhost:4318/v1/traces`.
    pub endpoint: Option<String>,
    /// Whether a GraphQL operation's span carries the document's text (`graphql.document`):
    /// off, as the text may hold personal data in its arguments.
    pub document: bool,
}

/// `/metrics` in the Prometheus (OpenMetrics) text format (`REACH_METRICS__ENABLED`, …).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// Whether `/metrics` is served: on the main listener to Support tokens only, and on
    /// `listen` (when set) to anyone who reaches it.
    pub enabled: bool,
    /// A separate address serving `/metrics` alone, without a token (keep it off the public
    /// network), such as `127.0.0.1:9090`.
    pub listen: Option<String>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
        }
    }
}

/// What Connect for Mobile fills in when an activation leaves a value out (SPEC M2).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MobilityDefaults {
    /// Reverse-dial number written at activation when none is stored or given (10–15 digits).
    pub reverse_dial_number: String,
    /// Handover number written at activation when none is stored or given (10–15 digits).
    pub handover_number: String,
    /// Voicemail access number offered to pre-fill the activation form (3–15 digits).
    pub voicemail_access_number: String,
}

impl Default for MobilityDefaults {
    fn default() -> Self {
        Self {
            reverse_dial_number: "6465697332".into(),
            handover_number: "6465697333".into(),
            voicemail_access_number: "8991".into(),
        }
    }
}

/// Request limits; every one is configurable (`REACH_LIMITS__MAX_DEPTH`, …).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest query complexity (a list field costs `first` × its children).
    pub max_complexity: usize,
    /// Most aliased and repeated fields one document runs, fragments counted at each spread.
    pub max_aliases: usize,
    /// Most directives on one field.
    pub max_directives_per_field: usize,
    /// Longest query text, in characters.
    pub max_query_length: usize,
    /// Largest request body before the caller is known, in bytes: what an anonymous request, a
    /// bad token or a websocket before `connection_init` may send.
    pub max_body_bytes: usize,
    /// Largest request body of an authenticated caller, in bytes (`POST /graphql` and each
    /// websocket message): a 1,000-row `usersImport` or `mobilityUsersEnable` fits.
    pub max_body_bytes_authenticated: usize,
    /// Longest time one request may run, in milliseconds.
    pub request_timeout_ms: u64,
    /// Requests per second allowed for one token subject.
    pub rate_limit_per_second: u32,
    /// Burst allowed above that rate.
    pub rate_limit_burst: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: SecretString::from("sqlite://reach.db"),
            database_max_connections: 10,
            database_random_page_cost: 1.1,
            jwt_secret: None,
            jwt_issuer: "reach".into(),
            jwt_audience: "reach-api".into(),
            token_ttl_seconds: 12 * 3600,
            token_max_ttl_seconds: 24 * 3600,
            token_exp_leeway_seconds: 0,
            token_nbf_leeway_seconds: 5,
            principal_cache_ms: 1000,
            smtp_url: None,
            platform_token_key: None,
            log_format: "pretty".into(),
            log_level: "info".into(),
            introspection: true,
            limits: Limits::default(),
            mobility: MobilityDefaults::default(),
            remote_extension: Default::default(),
            plugins: Default::default(),
            subscriptions: Subscriptions::default(),
            server: Default::default(),
            metrics: MetricsSettings::default(),
            tracing: TracingSettings::default(),
            audit: AuditSettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 1000,
            max_aliases: 15,
            max_directives_per_field: 5,
            max_query_length: 15_000,
            max_body_bytes: 64 * 1024,
            max_body_bytes_authenticated: 1024 * 1024,
            request_timeout_ms: 10_000,
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
        }
    }
}

/// Live subscriptions (`REACH_SUBSCRIPTIONS__MAX_PER_CONNECTION`, …).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Subscriptions {
    /// Whether this process serves subscriptions (and reads the log for them).
    pub enabled: bool,
    /// Most subscriptions open at once on one websocket.
    pub max_per_connection: usize,
    /// Most subscriptions open at once for one token subject (a user or Support agent), on
    /// this process.
    pub max_per_token: usize,
    /// Events waiting for one subscriber; one that falls further behind is closed.
    pub buffer: usize,
    /// Seconds between the server's keep-alive pings.
    pub keepalive_seconds: u64,
    /// Seconds a new socket has to send `connection_init`.
    pub init_timeout_seconds: u64,
    /// Milliseconds between looks at the log when nothing wakes this process (a lost
    /// notification or another process's change on SQLite is found within this).
    pub catch_up_ms: u64,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Self {
            enabled: true,
            max_per_connection: 100,
            max_per_token: 500,
            buffer: 256,
            keepalive_seconds: 15,
            init_timeout_seconds: 10,
            catch_up_ms: 1000,
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Settings {
    /// Loads defaults, then the TOML file (`path`, else `reach.toml` where present), then the
    /// environment, then `overrides`, and validates the result.
    pub fn load(path: Option<PathBuf>, overrides: &Overrides) -> anyhow::Result<Self> {
        let file = path.unwrap_or_else(|| PathBuf::from("reach.toml"));
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(&file))
            .merge(
                Env::prefixed("REACH_")
                    .ignore(&["CONFIG", "TEST_POSTGRES_URL"])
                    .split("__"),
            )
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// The address to bind.
    pub fn listen_addr(&self) -> Result<SocketAddr, SettingsError> {
        self.listen
            .parse()
            .map_err(|_| SettingsError::new("listen", format!("`{}` is not HOST:PORT", self.listen)))
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.limits.request_timeout_ms)
    }

    /// Whether the database is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.expose_secret().starts_with("postgres")
    }
}

fn serialize_secret<S: serde::Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn serialize_opt_secret<S: serde::Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose_secret()),
        None => s.serialize_none(),
    }
}
