//! Shared set-up of the email tests: a server whose email plugin sends to an in-process SMTP
//! server (`smtp_sink`, a real SMTP server on a TCP port), an account with Connect for Mobile
//! active, the flag on and users enabled, and readers of the delivery state.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use api::{config::Settings, graphql::ids::Kind};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::harness::{app::*, smtp_sink::SmtpSink};

/// Email settings for tests: plain SMTP to `sink`, fast polls and retries.
pub fn mail_settings(settings: &mut Settings, sink: &SmtpSink) {
    settings.smtp_url = Some(SecretString::from(sink.url()));
    settings.plugins.poll_interval_ms = 50;
    // The tests read every recipient of up to 100 notifications in one query.
    settings.limits.max_complexity = 100_000;
    let email = &mut settings.plugins.email;
    email.tls = "none".into();
    email.from = "Reach Test <reach@mail.test>".into();
    email.timeout_ms = 2_000;
    email.backoff_initial_ms = 100;
    email.backoff_max_ms = 400;
    email.workers = 2;
    email.batch_size = 5;
}

/// A server mailing to `sink`, with `tweak` applied after the test mail settings.
pub async fn spawn_mail_app(backend: Backend, sink: &SmtpSink, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let sink = sink.clone();
    spawn_app_with(backend, move |s| {
        mail_settings(s, &sink);
        tweak(s);
    })
    .await
}

/// Tenant A with Connect for Mobile active, the email flag on and three users enabled: `user1`
/// and `pm` with addresses, `pm_loc1` without (its deliveries are `SKIPPED`).
pub struct MailWorld {
    pub w: World,
    /// The settings version to base the next change on.
    pub version: i64,
    /// `user1`'s address.
    pub user1_email: String,
    /// `pm`'s address.
    pub pm_email: String,
}

impl MailWorld {
    pub async fn build(app: &TestApp) -> MailWorld {
        let w = World::build(app).await;
        let support = app.support();
        activate_mobility(app, &w.a).await;
        enable_mobility(
            app,
            &w.a,
            &[(w.a.user1, "4001"), (w.a.pm_loc1, "4002"), (w.a.pm, "4003")],
        )
        .await;
        let body = app
            .gql(
                &support,
                "mutation($i: UserUpdateInput!) { userUpdate(input: $i) { userErrors { code } } }",
                json!({ "i": { "id": gid(Kind::User, w.a.pm_loc1), "email": null } }),
            )
            .await;
        assert_eq!(codes(&body, "userUpdate"), Vec::<String>::new());
        let flag = app
            .gql(
                &support,
                "mutation($i: MobilityEmailNotificationSetInput!) { mobilityEmailNotificationSet(input: $i) {
                    mobility { settings { version } } userErrors { code } } }",
                json!({ "i": { "accountId": gid(Kind::Account, w.a.account), "enabled": true } }),
            )
            .await;
        let version = flag["data"]["mobilityEmailNotificationSet"]["mobility"]["settings"]["version"]
            .as_i64()
            .unwrap_or_else(|| panic!("{flag}"));
        let email = |id| async move {
            let body = app
                .gql(
                    &app.support(),
                    "query($id: ID!) { node(id: $id) { ... on User { email } } }",
                    json!({ "id": gid(Kind::User, id) }),
                )
                .await;
            body["data"]["node"]["email"].as_str().unwrap().to_owned()
        };
        MailWorld {
            user1_email: email(w.a.user1).await,
            pm_email: email(w.a.pm).await,
            version,
            w,
        }
    }

    /// Support changes the handover number (a change that queues a notification when the flag
    /// is on); returns the payload.
    pub async fn change(&mut self, app: &TestApp, handover: &str) -> Value {
        let body = app
            .gql(
                &app.support(),
                "mutation($i: MobilitySettingsUpdateInput!) { mobilitySettingsUpdate(input: $i) {
                    mobility { settings { version } } userErrors { code } } }",
                json!({ "i": {
                    "accountId": gid(Kind::Account, self.w.a.account),
                    "expectedVersion": self.version,
                    "handoverNumber": handover,
                } }),
            )
            .await;
        if let Some(v) = body["data"]["mobilitySettingsUpdate"]["mobility"]["settings"]["version"].as_i64() {
            self.version = v;
        }
        body
    }
}

/// The account's notifications as Support reads them (newest first), with every recipient.
pub async fn deliveries(app: &TestApp, account: uuid::Uuid) -> Vec<Value> {
    let body = app
        .gql(
            &app.support(),
            "query($a: ID!) { account(id: $a) { mobility { notifications(first: 100) { nodes { id
                recipients { id email status attempts lastError nextAttemptAt sentAt messageId } } } } } }",
            json!({ "a": gid(Kind::Account, account) }),
        )
        .await;
    body["data"]["account"]["mobility"]["notifications"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .flat_map(|n| n["recipients"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// Statuses of `rows` by count, e.g. `{"SENT": 2, "SKIPPED": 1}`.
pub fn by_status(rows: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in rows {
        *out.entry(r["status"].as_str().unwrap_or("?").to_owned()).or_insert(0) += 1;
    }
    out
}

/// Waits until `done` holds for the account's deliveries (at most `limit`), returning them.
pub async fn wait_deliveries(
    app: &TestApp,
    account: uuid::Uuid,
    limit: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let rows = deliveries(app, account).await;
        if done(&rows) {
            return rows;
        }
        assert!(
            started.elapsed() < limit,
            "deliveries did not settle: {:?}",
            by_status(&rows)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The delivery addressed to `email`, from `rows`.
pub fn to<'a>(rows: &'a [Value], email: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("no delivery to {email}"))
}
