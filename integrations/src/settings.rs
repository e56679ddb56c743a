//! `[plugins]` settings: which integrations run and how, validated at start so a plugin that is
//! switched on but misconfigured stops the server with a message naming the setting.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::outbound::{Allowed, OutboundPolicy};

/// `[plugins]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginSettings {
    /// How often a plugin looks for new events and due work when nothing wakes it, in ms.
    pub poll_interval_ms: u64,
    /// How long a process holds a plugin's place in the event log before another may take
    /// over, in seconds (renewed while it works).
    pub lease_seconds: u64,
    /// `[plugins.email]`.
    pub email: EmailSettings,
    /// `[plugins.platform]`.
    pub platform: PlatformSettings,
    /// `[plugins.webhooks]`.
    pub webhooks: WebhookSettings,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1_000,
            lease_seconds: 30,
            email: EmailSettings::default(),
            platform: PlatformSettings::default(),
            webhooks: WebhookSettings::default(),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a local relay).
    None,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

/// `[plugins.email]`: the email plugin (SPEC M6, E2). The server is `smtp_url` (`REACH_SMTP_URL`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// Whether the plugin runs. On but without `smtp_url`, mail stays queued (`PENDING`).
    pub enabled: bool,
    /// The sender, e.g. `Reach <no-reply@example.com>`; its domain ends every `Message-ID`.
    pub from: String,
    /// The product's name in subjects and bodies.
    pub product_name: String,
    /// `auto` (`smtps://` → `tls`, `smtp://` → `starttls`), `none`, `starttls` or `tls`.
    pub tls: String,
    /// Longest one message's send may take, connection included, in ms (lettre's own
    /// connection timeout defaults to 60 s and covers nothing after the connect).
    pub timeout_ms: u64,
    /// Most pooled SMTP connections.
    pub pool_size: u32,
    /// Delivery tasks per process.
    pub workers: usize,
    /// Deliveries a task claims at once.
    pub batch_size: u64,
    /// Tries the server answered (4xx) before a delivery becomes `FAILED`; an unreachable
    /// server does not use them up.
    pub max_attempts: i32,
    /// Wait before the first retry, in ms; doubles per try, with jitter.
    pub backoff_initial_ms: u64,
    /// Longest wait between retries, in ms.
    pub backoff_max_ms: u64,
    /// How long a claimed delivery stays with its worker before another may take it, in seconds.
    pub lease_seconds: u64,
    /// A folder with `settings_changed.txt` and `settings_changed.html` replacing the built-in
    /// templates (minijinja syntax).
    pub templates_dir: Option<PathBuf>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            from: "Reach <no-reply@reach.invalid>".into(),
            product_name: "Reach".into(),
            tls: "auto".into(),
            timeout_ms: 10_000,
            pool_size: 4,
            workers: 4,
            batch_size: 10,
            max_attempts: 12,
            backoff_initial_ms: 2_000,
            backoff_max_ms: 15 * 60 * 1_000,
            lease_seconds: 120,
            templates_dir: None,
        }
    }
}

/// `[plugins.platform]`: the communication-platform sync (SPEC E3). Each MX-ONE account's
/// platform is set through `platformConnectionSet`; these settings are for every account.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformSettings {
    /// Whether the plugin runs (exports, scheduled and requested runs) in this process.
    pub enabled: bool,
    /// Minutes between an account's scheduled runs.
    pub interval_minutes: u64,
    /// Wait after a failed run before the next, in seconds; doubles per failure in a row, up to
    /// the interval.
    pub retry_initial_seconds: u64,
    /// How long a process holds a run before another may declare it abandoned, in seconds
    /// (renewed after every page).
    pub lease_seconds: u64,
    /// Longest one request to a platform may take, answer included, in ms.
    pub timeout_ms: u64,
    /// Tries of one request when the platform is down, slow or answers 5xx (1: no retry).
    pub max_attempts: u32,
    /// Wait before the first retry of a request, in ms; doubles per try, with jitter.
    pub backoff_initial_ms: u64,
    /// Numbers asked for per page.
    pub page_size: u32,
    /// Whether platforms may be called over plain `http://` (default: `https://` only).
    pub allow_http: bool,
    /// Hosts, addresses and networks (`platform.internal`, `10.1.2.3`, `10.0.0.0/8`) that may be
    /// called although they are not public; by default loopback, link-local, private,
    /// unique-local and other non-public addresses are refused.
    pub allow_destinations: Vec<String>,
    /// Largest answer read from a platform, in bytes; a larger one fails the call.
    pub max_reply_bytes: u64,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        let connector = crate::platform::ConnectorSettings::default();
        Self {
            enabled: true,
            interval_minutes: 60,
            retry_initial_seconds: 60,
            lease_seconds: 120,
            timeout_ms: connector.timeout_ms,
            max_attempts: connector.max_attempts,
            backoff_initial_ms: connector.backoff_initial_ms,
            page_size: connector.page_size,
            allow_http: connector.outbound.allow_http,
            allow_destinations: Vec::new(),
            max_reply_bytes: connector.outbound.max_reply_bytes,
        }
    }
}

impl PlatformSettings {
    /// `interval_minutes` as a duration.
    pub fn interval(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::try_from(self.interval_minutes).unwrap_or(i64::MAX).min(1 << 40))
    }

    /// `retry_initial_seconds` as a duration.
    pub fn retry(&self) -> chrono::Duration {
        chrono::Duration::seconds(
            i64::try_from(self.retry_initial_seconds)
                .unwrap_or(i64::MAX)
                .min(1 << 40),
        )
    }

    /// `lease_seconds` as a duration.
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.lease_seconds).unwrap_or(i64::MAX).min(1 << 40))
    }

    /// How the connectors call the platform.
    pub fn connector(&self) -> crate::platform::ConnectorSettings {
        crate::platform::ConnectorSettings {
            timeout_ms: self.timeout_ms,
            max_attempts: self.max_attempts,
            backoff_initial_ms: self.backoff_initial_ms,
            page_size: self.page_size,
            outbound: self.outbound(),
        }
    }

    /// Where platform calls may go. Entries that do not parse are left out (refused), though
    /// `validate` stops the server on them first.
    pub fn outbound(&self) -> OutboundPolicy {
        OutboundPolicy {
            allow_http: self.allow_http,
            allowed: self.allow_destinations.iter().filter_map(|a| a.parse().ok()).collect(),
            max_reply_bytes: self.max_reply_bytes,
        }
    }

    /// The outbound settings, checked whether or not the plugin runs here (`reach sync` and
    /// `platformConnectionSet` use them too).
    fn validate_outbound(&self) -> Result<(), Invalid> {
        let bad = |key: &str, reason: String| Err((format!("plugins.platform.{key}"), reason));
        for entry in &self.allow_destinations {
            if let Err(why) = entry.parse::<Allowed>() {
                return bad("allow_destinations", why);
            }
        }
        if self.max_reply_bytes < 1_024 {
            return bad("max_reply_bytes", "must be at least 1024".into());
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Invalid> {
        let bad = |key: &str, reason: &str| Err((format!("plugins.platform.{key}"), reason.to_owned()));
        for (key, value) in [
            ("interval_minutes", self.interval_minutes),
            ("retry_initial_seconds", self.retry_initial_seconds),
            ("lease_seconds", self.lease_seconds),
            ("timeout_ms", self.timeout_ms),
            ("max_attempts", u64::from(self.max_attempts)),
            ("page_size", u64::from(self.page_size)),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if self.page_size > 10_000 {
            return bad("page_size", "must be at most 10000");
        }
        // A page is read (with its retries) and applied within the lease, which is renewed
        // after each page.
        let worst_ms = self
            .timeout_ms
            .saturating_add(self.backoff_initial_ms)
            .saturating_mul(u64::from(self.max_attempts));
        if self.lease_seconds.saturating_mul(1_000) < worst_ms.saturating_mul(2) {
            return bad(
                "lease_seconds",
                "must cover twice max_attempts × (timeout_ms + backoff_initial_ms)",
            );
        }
        Ok(())
    }
}

/// `[plugins.webhooks]`: delivering each account's events to the endpoints it registered.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether the plugin runs (queues and delivers) in this process.
    pub enabled: bool,
    /// Deliveries attempted at once by this process (each endpoint one at a time, in order).
    pub workers: usize,
    /// Longest one attempt may take, answer included, in ms.
    pub timeout_ms: u64,
    /// Wait before the first retry, in seconds; doubles per attempt (with jitter), up to
    /// `backoff_max_seconds`.
    pub backoff_initial_seconds: u64,
    /// Longest wait between two attempts, in seconds (a `Retry-After` is honoured up to this).
    pub backoff_max_seconds: u64,
    /// An endpoint whose deliveries have failed for this long (hours) is switched off.
    pub disable_after_hours: u64,
    /// How long a process holds a delivery it attempts, in seconds.
    pub lease_seconds: u64,
    /// How long a rotated-out secret keeps signing beside the new one, in hours (default).
    pub rotation_grace_hours: u64,
    /// Days a delivery is kept once done (or while its endpoint is off); its body holds the
    /// event's data.
    pub keep_deliveries_days: u32,
    /// Whether endpoints may be plain `http://` (default: `https://` only).
    pub allow_http: bool,
    /// Hosts, addresses and networks endpoints may be at although they are not public; by
    /// default loopback, link-local, private and other non-public addresses are refused.
    pub allow_destinations: Vec<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            workers: 4,
            timeout_ms: 10_000,
            backoff_initial_seconds: 5,
            backoff_max_seconds: 3_600,
            disable_after_hours: 72,
            lease_seconds: 60,
            rotation_grace_hours: 24,
            keep_deliveries_days: 30,
            allow_http: false,
            allow_destinations: Vec::new(),
        }
    }
}

impl WebhookSettings {
    /// Where deliveries may go.
    pub fn outbound(&self) -> Result<crate::outbound::OutboundPolicy, String> {
        let allowed = (self.allow_destinations.iter())
            .map(|a| a.parse::<Allowed>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::outbound::OutboundPolicy {
            allow_http: self.allow_http,
            allowed,
            // Replies are not read beyond their status: a small cap.
            max_reply_bytes: 16 * 1024,
        })
    }

    fn validate(&self) -> Result<(), Invalid> {
        let bad = |key: &str, reason: String| Err((format!("plugins.webhooks.{key}"), reason));
        if let Err(why) = self.outbound() {
            return bad("allow_destinations", why);
        }
        for (key, value) in [
            ("workers", self.workers as u64),
            ("timeout_ms", self.timeout_ms),
            ("backoff_initial_seconds", self.backoff_initial_seconds),
            ("backoff_max_seconds", self.backoff_max_seconds),
            ("disable_after_hours", self.disable_after_hours),
            ("lease_seconds", self.lease_seconds),
            ("keep_deliveries_days", u64::from(self.keep_deliveries_days)),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1".into());
            }
        }
        if self.rotation_grace_hours > 720 {
            return bad("rotation_grace_hours", "must be at most 720 (30 days)".into());
        }
        if self.lease_seconds.saturating_mul(1_000) < self.timeout_ms.saturating_mul(2) {
            return bad("lease_seconds", "must cover twice timeout_ms".into());
        }
        Ok(())
    }
}

/// A bad setting: its key under `plugins.` and what is wrong.
pub type Invalid = (String, String);

impl PluginSettings {
    /// Checks the values that need no I/O; the email plugin checks the rest when it is built.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |key: &str, reason: &str| Err((format!("plugins.{key}"), reason.to_owned()));
        if self.poll_interval_ms == 0 {
            return bad("poll_interval_ms", "must be at least 1");
        }
        if self.lease_seconds == 0 {
            return bad("lease_seconds", "must be at least 1");
        }
        self.platform.validate_outbound()?;
        self.webhooks.validate()?;
        if self.platform.enabled {
            self.platform.validate()?;
        }
        let e = &self.email;
        if !e.enabled {
            return Ok(());
        }
        if e.product_name.trim().is_empty() {
            return bad("email.product_name", "must not be empty");
        }
        if !matches!(e.tls.as_str(), "auto" | "none" | "starttls" | "tls") {
            return bad("email.tls", "must be `auto`, `none`, `starttls` or `tls`");
        }
        for (key, value) in [
            ("email.timeout_ms", e.timeout_ms),
            ("email.pool_size", u64::from(e.pool_size)),
            ("email.workers", e.workers as u64),
            ("email.batch_size", e.batch_size),
            ("email.backoff_initial_ms", e.backoff_initial_ms),
            ("email.lease_seconds", e.lease_seconds),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if e.max_attempts < 1 {
            return bad("email.max_attempts", "must be at least 1");
        }
        if e.backoff_max_ms < e.backoff_initial_ms {
            return bad("email.backoff_max_ms", "must not be below backoff_initial_ms");
        }
        // A worker sends its batch one message after another; its claim must outlast that.
        if e.lease_seconds.saturating_mul(1_000) < e.timeout_ms.saturating_mul(e.batch_size) {
            return bad("email.lease_seconds", "must cover batch_size × timeout_ms");
        }
        Ok(())
    }
}

impl EmailSettings {
    /// The TLS mode for a server URL.
    pub fn tls_mode(&self, url: &str) -> TlsMode {
        match self.tls.as_str() {
            "none" => TlsMode::None,
            "starttls" => TlsMode::StartTls,
            "tls" => TlsMode::Tls,
            _ if url.starts_with("smtps:") => TlsMode::Tls,
            _ => TlsMode::StartTls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_follows_the_setting_then_the_scheme() {
        let mut e = EmailSettings::default();
        assert_eq!(e.tls_mode("smtps://mail.example.com"), TlsMode::Tls);
        assert_eq!(e.tls_mode("smtp://mail.example.com:587"), TlsMode::StartTls);
        e.tls = "none".into();
        assert_eq!(e.tls_mode("smtps://mail.example.com"), TlsMode::None);
        e.tls = "tls".into();
        assert_eq!(e.tls_mode("smtp://mail.example.com"), TlsMode::Tls);
    }

    // issue 16 item 6: the default refuses plain http and every non-public destination.
    #[test]
    fn platform_calls_are_https_to_public_addresses_by_default() {
        let policy = PlatformSettings::default().outbound();
        assert!(!policy.allow_http);
        assert!(policy.allowed.is_empty());
        assert_eq!(policy.max_reply_bytes, crate::outbound::DEFAULT_MAX_REPLY_BYTES);
        let s = PlatformSettings {
            allow_destinations: vec!["127.0.0.0/8".into()],
            ..Default::default()
        };
        assert_eq!(s.outbound().allowed.len(), 1);
    }

    #[test]
    fn bad_values_name_their_setting() {
        let mut s = PluginSettings::default();
        assert!(s.validate().is_ok());
        s.email.batch_size = 100;
        assert_eq!(
            s.validate().err().map(|(k, _)| k).as_deref(),
            Some("plugins.email.lease_seconds"),
            "a batch must be sendable within the lease"
        );
        s.email.enabled = false;
        assert!(s.validate().is_ok(), "a plugin switched off is not checked");
        s.platform.allow_destinations = vec!["10.0.0.0/8".into(), "not a host".into()];
        assert_eq!(
            s.validate().err().map(|(k, _)| k).as_deref(),
            Some("plugins.platform.allow_destinations"),
            "checked even with the plugin off, as platformConnectionSet uses it"
        );
        s.platform.allow_destinations.clear();
        s.poll_interval_ms = 0;
        assert_eq!(
            s.validate().err().map(|(k, _)| k).as_deref(),
            Some("plugins.poll_interval_ms")
        );
    }
}
