//! Checking the settings at start: [`Settings::validate`] names the first bad value as the
//! operator would write it ([`SettingsError`]).

use secrecy::ExposeSecret;

use super::{Settings, token_key_bytes};

/// A setting that cannot be used, named as the operator would write it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{key}` ({env}): {reason}")]
pub struct SettingsError {
    /// The setting's key in `reach.toml`.
    pub key: String,
    /// The matching environment variable.
    pub env: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SettingsError {
    /// A bad value of setting `key` (dotted, as in `reach.toml`).
    pub fn new(key: &str, reason: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            env: format!("REACH_{}", key.replace('.', "__").to_uppercase()),
            reason: reason.into(),
        }
    }
}

impl Settings {
    /// Checks every value that could stop the server later, naming the first bad one.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.listen_addr()?;
        self.check_database()?;
        self.check_tokens()?;
        self.check_integrations()?;
        self.check_logging()?;
        self.check_limits()?;
        self.check_subscriptions()?;
        self.check_body_sizes()?;
        self.check_mobility()?;
        self.check_audit()?;
        self.remote_extension
            .validate()
            .map_err(|(key, reason)| SettingsError::new(&key, reason))?;
        self.plugins
            .validate()
            .map_err(|(key, reason)| SettingsError::new(&key, reason))?;
        self.server
            .validate()
            .map_err(|(key, reason)| SettingsError::new(&key, reason))?;
        Ok(())
    }

    /// `database_*`: the URL's scheme, the pool size and the planner's page cost.
    fn check_database(&self) -> Result<(), SettingsError> {
        let url = self.database_url.expose_secret();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(SettingsError::new(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.database_max_connections == 0 {
            return Err(SettingsError::new("database_max_connections", "must be at least 1"));
        }
        let cost = self.database_random_page_cost;
        if !(cost == 0.0 || (0.1..=100.0).contains(&cost)) {
            return Err(SettingsError::new(
                "database_random_page_cost",
                "must be 0 (the server's own) or from 0.1 to 100",
            ));
        }
        Ok(())
    }

    /// `jwt_*`, `token_*` and `principal_cache_ms`: what signing and checking tokens needs.
    fn check_tokens(&self) -> Result<(), SettingsError> {
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return Err(SettingsError::new("jwt_secret", "must be at least 32 characters"));
        }
        if self.jwt_issuer.trim().is_empty() {
            return Err(SettingsError::new("jwt_issuer", "must not be empty"));
        }
        if self.jwt_audience.trim().is_empty() {
            return Err(SettingsError::new("jwt_audience", "must not be empty"));
        }
        if self.token_ttl_seconds == 0 || self.token_ttl_seconds > self.token_max_ttl_seconds {
            return Err(SettingsError::new(
                "token_ttl_seconds",
                "must be from 1 to `token_max_ttl_seconds`",
            ));
        }
        let leeways = [
            ("token_exp_leeway_seconds", self.token_exp_leeway_seconds),
            ("token_nbf_leeway_seconds", self.token_nbf_leeway_seconds),
        ];
        if let Some((key, _)) = leeways.into_iter().find(|(_, secs)| *secs > 300) {
            return Err(SettingsError::new(key, "must be at most 300"));
        }
        if self.principal_cache_ms > 60_000 {
            return Err(SettingsError::new("principal_cache_ms", "must be at most 60000"));
        }
        Ok(())
    }

    /// `smtp_url` and `platform_token_key`: how Reach reaches the mail server and the platform.
    fn check_integrations(&self) -> Result<(), SettingsError> {
        if let Some(smtp) = &self.smtp_url {
            let smtp = smtp.expose_secret();
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                return Err(SettingsError::new("smtp_url", "must start with smtp:// or smtps://"));
            }
        }
        if let Some(key) = &self.platform_token_key
            && let Err(why) = token_key_bytes(key.expose_secret())
        {
            return Err(SettingsError::new("platform_token_key", why));
        }
        Ok(())
    }

    /// `log_format` and `log_level`.
    fn check_logging(&self) -> Result<(), SettingsError> {
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            return Err(SettingsError::new("log_format", "must be `pretty` or `json`"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(SettingsError::new("log_level", "is not a valid log filter"));
        }
        Ok(())
    }

    /// `[limits]`: every limit is at least 1 (how the body sizes compare is [`Self::check_body_sizes`]).
    fn check_limits(&self) -> Result<(), SettingsError> {
        let l = &self.limits;
        at_least_one([
            ("limits.max_depth", l.max_depth),
            ("limits.max_complexity", l.max_complexity),
            ("limits.max_aliases", l.max_aliases),
            ("limits.max_directives_per_field", l.max_directives_per_field),
            ("limits.max_query_length", l.max_query_length),
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.max_body_bytes_authenticated", l.max_body_bytes_authenticated),
            (
                "limits.request_timeout_ms",
                usize::try_from(l.request_timeout_ms).unwrap_or(usize::MAX),
            ),
            ("limits.rate_limit_per_second", l.rate_limit_per_second as usize),
            ("limits.rate_limit_burst", l.rate_limit_burst as usize),
        ])
    }

    /// `[subscriptions]`: every count and duration is at least 1.
    fn check_subscriptions(&self) -> Result<(), SettingsError> {
        let s = &self.subscriptions;
        at_least_one([
            ("subscriptions.max_per_connection", s.max_per_connection),
            ("subscriptions.max_per_token", s.max_per_token),
            ("subscriptions.buffer", s.buffer),
            (
                "subscriptions.keepalive_seconds",
                usize::try_from(s.keepalive_seconds).unwrap_or(usize::MAX),
            ),
            (
                "subscriptions.init_timeout_seconds",
                usize::try_from(s.init_timeout_seconds).unwrap_or(usize::MAX),
            ),
            (
                "subscriptions.catch_up_ms",
                usize::try_from(s.catch_up_ms).unwrap_or(usize::MAX),
            ),
        ])
    }

    /// `[limits]`: an authenticated body may be as large as an anonymous one. Checked after the
    /// counts of `[subscriptions]`, so the first bad setting named stays the same.
    fn check_body_sizes(&self) -> Result<(), SettingsError> {
        let l = &self.limits;
        if l.max_body_bytes_authenticated < l.max_body_bytes {
            return Err(SettingsError::new(
                "limits.max_body_bytes_authenticated",
                "must be at least limits.max_body_bytes",
            ));
        }
        Ok(())
    }

    /// `[audit]`: a pruning interval of 1 minute to a week, a retention that fits a date.
    fn check_audit(&self) -> Result<(), SettingsError> {
        let a = &self.audit;
        if !(1..=7 * 24 * 60).contains(&a.prune_interval_minutes) {
            return Err(SettingsError::new(
                "audit.prune_interval_minutes",
                "must be from 1 to 10080 (a week)",
            ));
        }
        if a.retention_days > 100 * 366 {
            return Err(SettingsError::new(
                "audit.retention_days",
                "must be at most 36600 (0 keeps every event)",
            ));
        }
        Ok(())
    }

    /// `[mobility]`: the numbers mobility dials, as digits of the right length.
    fn check_mobility(&self) -> Result<(), SettingsError> {
        let m = &self.mobility;
        for (key, value, (min, max)) in [
            ("mobility.reverse_dial_number", &m.reverse_dial_number, (10, 15)),
            ("mobility.handover_number", &m.handover_number, (10, 15)),
            ("mobility.voicemail_access_number", &m.voicemail_access_number, (3, 15)),
        ] {
            if !(min..=max).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SettingsError::new(key, format!("must be {min} to {max} digits")));
            }
        }
        Ok(())
    }
}

/// The first of `settings` (key, value) that is 0 is refused: each must be at least 1.
fn at_least_one<const N: usize>(settings: [(&str, usize); N]) -> Result<(), SettingsError> {
    for (key, value) in settings {
        if value == 0 {
            return Err(SettingsError::new(key, "must be at least 1"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn a_bad_value_names_its_setting() {
        let s = Settings {
            listen: "nowhere".into(),
            ..Default::default()
        };
        let err = s.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("`listen`") && err.contains("REACH_LISTEN"), "{err}");

        let mut s = Settings::default();
        s.limits.max_depth = 0;
        let err = s.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("REACH_LIMITS__MAX_DEPTH"), "{err}");

        let s = Settings {
            jwt_secret: Some(SecretString::from("short")),
            ..Default::default()
        };
        let err = s.validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("jwt_secret"), "{err}");

        for cost in [-1.0, 0.05, 101.0, f64::NAN] {
            let s = Settings {
                database_random_page_cost: cost,
                ..Default::default()
            };
            let err = s.validate().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("REACH_DATABASE_RANDOM_PAGE_COST"), "{cost}: {err}");
        }
        for cost in [0.0, 0.1, 1.1, 100.0] {
            let s = Settings {
                database_random_page_cost: cost,
                ..Default::default()
            };
            assert!(s.validate().is_ok(), "{cost}");
        }
    }
}
