//! Remote Extension settings (`[remote_extension]` in `reach.toml`): the label prefix of
//! provisioned numbers (R5) and the statuses every new MX-ONE user starts with (R10).

use entity::{Presence, TargetKind, dynamic_status};
use sea_orm::ActiveEnum;
use serde::{Deserialize, Serialize};

/// Remote Extension settings.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteSettings {
    /// Prefix of the label an admin- or platform-provisioned number gets (R5), e.g. `Admin: `.
    pub admin_label_prefix: String,
    /// The statuses a new user of an MX-ONE account gets, as admin statuses; the first is active.
    pub default_statuses: Vec<DefaultStatus>,
    /// Whether this process runs the status scheduler (issue 21 §2). Any number of processes may;
    /// each boundary still applies once.
    pub scheduler: bool,
}

/// One status every new MX-ONE user gets. Kinds are the API's names (`DESK_PHONE`, …); a
/// default cannot point at a number, since a new user has none.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultStatus {
    /// Name (1–64 characters, unique ignoring case).
    pub name: String,
    /// Presence (`AVAILABLE`, `BUSY`, …).
    pub presence: String,
    /// Optional message.
    #[serde(default)]
    pub message: Option<String>,
    /// Which device places calls.
    pub call_using: String,
    /// Where calls ring.
    pub send_calls_to: String,
    /// Where calls go when busy.
    pub when_busy: String,
    /// Where calls go when nobody answers.
    pub if_no_answer: String,
}

/// A default status with its kinds read.
#[derive(Clone, Debug)]
pub struct StatusTemplate {
    /// Name.
    pub name: String,
    /// Presence.
    pub presence: Presence,
    /// Message.
    pub message: Option<String>,
    /// `[callUsing, sendCallsTo, whenBusy, ifNoAnswer]`.
    pub targets: [TargetKind; 4],
}

fn status(name: &str, presence: &str, targets: [&str; 4]) -> DefaultStatus {
    DefaultStatus {
        name: name.into(),
        presence: presence.into(),
        message: None,
        call_using: targets[0].into(),
        send_calls_to: targets[1].into(),
        when_busy: targets[2].into(),
        if_no_answer: targets[3].into(),
    }
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            scheduler: true,
            admin_label_prefix: "Admin: ".into(),
            default_statuses: vec![
                status(
                    "Available",
                    "AVAILABLE",
                    ["DESK_PHONE", "ALL_DEVICES", "VOICEMAIL", "VOICEMAIL"],
                ),
                status("Busy", "BUSY", ["DESK_PHONE", "DESK_PHONE", "VOICEMAIL", "VOICEMAIL"]),
                status("Away", "AWAY", ["SOFTPHONE", "SOFTPHONE", "VOICEMAIL", "VOICEMAIL"]),
                status(
                    "In a meeting",
                    "IN_A_MEETING",
                    ["DESK_PHONE", "VOICEMAIL", "VOICEMAIL", "VOICEMAIL"],
                ),
                status(
                    "Do not disturb",
                    "DO_NOT_DISTURB",
                    ["DESK_PHONE", "VOICEMAIL", "VOICEMAIL", "VOICEMAIL"],
                ),
                status(
                    "Out of office",
                    "OUT_OF_OFFICE",
                    ["SOFTPHONE", "VOICEMAIL", "VOICEMAIL", "VOICEMAIL"],
                ),
            ],
        }
    }
}

impl RemoteSettings {
    /// The default statuses with their kinds read, or the setting at fault and why.
    pub fn templates(&self) -> Result<Vec<StatusTemplate>, (String, String)> {
        let mut out: Vec<StatusTemplate> = Vec::new();
        for (i, s) in self.default_statuses.iter().enumerate() {
            let key = |field: &str| format!("remote_extension.default_statuses.{i}.{field}");
            let name = s.name.trim();
            if name.is_empty() || name.chars().count() > 64 {
                return Err((key("name"), "must be 1 to 64 characters".into()));
            }
            if out.iter().any(|t| t.name.to_lowercase() == name.to_lowercase()) {
                return Err((key("name"), "is listed twice".into()));
            }
            let presence =
                Presence::try_from_value(&s.presence).map_err(|_| (key("presence"), "is not a presence".into()))?;
            let mut targets = [TargetKind::PbxDefault; 4];
            for (slot, (field, raw)) in targets.iter_mut().zip([
                ("call_using", &s.call_using),
                ("send_calls_to", &s.send_calls_to),
                ("when_busy", &s.when_busy),
                ("if_no_answer", &s.if_no_answer),
            ]) {
                let kind = TargetKind::try_from_value(raw).map_err(|_| (key(field), "is not a target kind".into()))?;
                if kind == TargetKind::Number {
                    return Err((key(field), "a default status cannot point at a number".into()));
                }
                *slot = kind;
            }
            for (n, field) in ["call_using", "send_calls_to", "when_busy", "if_no_answer"]
                .into_iter()
                .enumerate()
            {
                if !targets[n].fits(n) {
                    return Err((key(field), "does not fit this field".into()));
                }
            }
            out.push(StatusTemplate {
                name: name.to_owned(),
                presence,
                message: s.message.clone().filter(|m| !m.trim().is_empty()),
                targets,
            });
        }
        if out.len() > dynamic_status::MAX_PER_USER {
            return Err((
                "remote_extension.default_statuses".into(),
                format!("may list at most {}", dynamic_status::MAX_PER_USER),
            ));
        }
        Ok(out)
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.admin_label_prefix.chars().count() > 30 {
            return Err((
                "remote_extension.admin_label_prefix".into(),
                "must be at most 30 characters".into(),
            ));
        }
        self.templates().map(|_| ())
    }
}
