//! How the email plugin uses its SMTP connections (issue 17 item 6): Reach opens them itself
//! (with `TCP_NODELAY`, unit-tested in `integrations::email::smtp`) and keeps them, so a run of
//! messages shares one connection; a connection the server dropped is replaced without costing a
//! message a try; the TLS modes still refuse a server that does not speak TLS.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::Value;

use crate::{
    backend_tests,
    harness::{app::*, email::*, smtp_sink::SmtpSink},
};

const SETTLE: Duration = Duration::from_secs(30);

/// `n` rows, every one `SENT` or `SKIPPED`.
fn all_sent(rows: &[Value], n: usize) -> bool {
    rows.len() == n
        && rows
            .iter()
            .all(|r| matches!(r["status"].as_str(), Some("SENT" | "SKIPPED")))
}

async fn e2_one_connection_carries_many_messages_and_a_dropped_one_is_replaced(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.plugins.email.workers = 1).await;
    let mut m = MailWorld::build(&app).await;
    let account = m.w.a.account;
    for i in 0..10 {
        let body = m.change(&app, &format!("55500003{i:02}")).await;
        assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    }
    wait_deliveries(&app, account, SETTLE, |r| all_sent(r, 30)).await;
    assert_eq!(sink.wait_for(20, SETTLE).await.len(), 20);
    assert_eq!(sink.connections(), 1, "20 messages, one worker: one connection");

    // The server drops every connection (a restart): the next messages go over a new one, at
    // their first try, with no error recorded.
    sink.stop().await;
    sink.resume().await;
    let body = m.change(&app, "5550000399").await;
    assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    let rows = wait_deliveries(&app, account, SETTLE, |r| all_sent(r, 33)).await;
    assert_eq!(sink.wait_for(22, SETTLE).await.len(), 22);
    assert_eq!(sink.connections(), 2, "the dropped connection was replaced once");
    let sent: Vec<&Value> = rows.iter().filter(|r| r["status"] == "SENT").collect();
    assert_eq!(sent.len(), 22);
    assert!(
        sent.iter().all(|r| r["attempts"] == 1 && r["lastError"].is_null()),
        "{sent:?}"
    );
}

async fn e2_implicit_tls_to_a_plain_server_is_unreachable_not_a_failure(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.plugins.email.tls = "tls".into()).await;
    let mut m = MailWorld::build(&app).await;
    m.change(&app, "5550000398").await;
    let rows = wait_deliveries(&app, m.w.a.account, SETTLE, |r| {
        r.iter().any(|d| d["status"] == "RETRYING")
    })
    .await;
    assert!(
        rows.iter()
            .all(|d| d["status"] != "SENT" && d["status"] != "FAILED" && d["attempts"] == 0),
        "{rows:?}"
    );
    let retrying = rows.iter().find(|d| d["status"] == "RETRYING").unwrap();
    assert!(
        retrying["lastError"].as_str().unwrap().starts_with("Connection error"),
        "{retrying}"
    );
    assert!(sink.messages().is_empty());
}

backend_tests!(
    e2_one_connection_carries_many_messages_and_a_dropped_one_is_replaced,
    e2_implicit_tls_to_a_plain_server_is_unreachable_not_a_failure,
);
