//! The notification's words: minijinja templates (built in, or a folder replacing them) rendered
//! into a subject, a plain-text part and an HTML part (HTML-escaped).

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

const SUBJECT: &str = "settings_changed.subject.txt";
const TEXT: &str = "settings_changed.txt";
const HTML: &str = "settings_changed.html";

const BUILT_IN: [(&str, &str); 3] = [
    (
        SUBJECT,
        include_str!("../../templates/email/settings_changed.subject.txt"),
    ),
    (TEXT, include_str!("../../templates/email/settings_changed.txt")),
    (HTML, include_str!("../../templates/email/settings_changed.html")),
];

/// What a settings-changed mail says.
#[derive(Clone, Debug, Serialize)]
pub struct SettingsChanged {
    /// The product's name.
    pub product: String,
    /// The account whose settings changed.
    pub account: String,
    /// The recipient's name.
    pub recipient: String,
    /// Who changed them.
    pub changed_by: String,
    /// When, as `2026-11-23 14:05 UTC`.
    pub changed_at: String,
    /// Each changed setting.
    pub changes: Vec<ChangeLine>,
}

/// One changed setting.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeLine {
    /// Its name for people, e.g. `Handover number`.
    pub label: String,
    /// The value before (`(none)` when unset).
    pub old: String,
    /// The value after.
    pub new: String,
}

/// A rendered mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, or those of `dir` (all three files must be there). Every template
    /// is rendered once with sample data, so a broken one stops the start, not a delivery.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, built_in) in BUILT_IN {
            let source = match dir {
                Some(dir) => std::fs::read_to_string(dir.join(name))
                    .map_err(|e| format!("cannot read {}: {e}", dir.join(name).display()))?,
                None => built_in.to_owned(),
            };
            env.add_template_owned(name, source)
                .map_err(|e| format!("template {name}: {e}"))?;
        }
        let templates = Self { env };
        templates.render(&SettingsChanged::sample())?;
        Ok(templates)
    }

    /// Renders the three parts.
    pub fn render(&self, mail: &SettingsChanged) -> Result<Rendered, String> {
        let part = |name: &str| {
            self.env
                .get_template(name)
                .and_then(|t| t.render(minijinja::value::Serde(mail)))
                .map_err(|e| format!("template {name}: {e}"))
        };
        Ok(Rendered {
            subject: part(SUBJECT)?.lines().next().unwrap_or_default().trim().to_owned(),
            text: part(TEXT)?,
            html: part(HTML)?,
        })
    }
}

impl SettingsChanged {
    fn sample() -> Self {
        Self {
            product: "Reach".into(),
            account: "Sample <Account> & Co".into(),
            recipient: "Sam Sample".into(),
            changed_by: "Support".into(),
            changed_at: "2026-01-01 00:00 UTC".into(),
            changes: vec![ChangeLine {
                label: label("handoverNumber").into(),
                old: "(none)".into(),
                new: "6465697333".into(),
            }],
        }
    }
}

/// A setting's API name as people read it.
pub fn label(field: &str) -> &str {
    match field {
        "mobilityRouter" => "Mobility router",
        "groupName" => "Group name",
        "voicemailAccessNumber" => "Voicemail access number",
        "accessNumber" => "Access number",
        "reverseDialNumber" => "Reverse-dial number",
        "handoverNumber" => "Handover number",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load(None).unwrap();
        let r = t.render(&SettingsChanged::sample()).unwrap();
        assert_eq!(
            r.subject,
            "Reach: Connect for Mobile settings changed for Sample <Account> & Co"
        );
        assert!(r.text.contains("Sample <Account> & Co"), "{}", r.text);
        assert!(r.text.contains("Handover number: (none) -> 6465697333"), "{}", r.text);
        assert!(r.html.contains("Sample &lt;Account&gt; &amp; Co"), "{}", r.html);
        assert!(!r.html.contains("<Account>"), "{}", r.html);
        assert!(
            r.html
                .contains("<td>Handover number</td><td>(none)</td><td>6465697333</td>"),
            "{}",
            r.html
        );
    }

    #[test]
    fn a_folder_replaces_the_templates_and_a_broken_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("reach-tpl-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(SUBJECT), "Changed: {{ account }}").unwrap();
        std::fs::write(dir.join(TEXT), "{{ changes | length }} change(s)").unwrap();
        std::fs::write(dir.join(HTML), "<p>{{ recipient }}</p>").unwrap();
        let r = Templates::load(Some(&dir))
            .unwrap()
            .render(&SettingsChanged::sample())
            .unwrap();
        assert_eq!(
            (r.subject.as_str(), r.text.as_str()),
            ("Changed: Sample <Account> & Co", "1 change(s)")
        );

        std::fs::write(dir.join(HTML), "<p>{{ nobody }}</p>").unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        assert!(err.contains(HTML), "{err}");
        std::fs::remove_file(dir.join(TEXT)).unwrap();
        let err = Templates::load(Some(&dir)).unwrap_err();
        assert!(err.contains("cannot read"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
