//! The email plugin across real `reach serve` processes (SPEC E2): one killed with SIGKILL in the
//! middle of sending, and two sharing one PostgreSQL database. The changes are made through an
//! in-process server that holds its mail (no SMTP URL); the child processes send it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::{
    backend_tests,
    harness::{
        app::*,
        email::*,
        smtp_sink::{Behaviour, Received, SmtpSink},
    },
    server::cli::{Server, listening, start, temp_dir},
};

/// Starts `reach serve` on the test's database, sending to `sink` with short leases.
fn sender(app: &TestApp, sink: &SmtpSink) -> Server {
    let url = app.state.settings.database_url.expose_secret().to_owned();
    let smtp = sink.url();
    let env = [
        ("REACH_DATABASE_URL", url.as_str()),
        ("REACH_SMTP_URL", smtp.as_str()),
        ("REACH_PLUGINS__POLL_INTERVAL_MS", "50"),
        ("REACH_PLUGINS__EMAIL__TLS", "none"),
        ("REACH_PLUGINS__EMAIL__FROM", "Reach Test <reach@mail.test>"),
        ("REACH_PLUGINS__EMAIL__TIMEOUT_MS", "1000"),
        ("REACH_PLUGINS__EMAIL__BATCH_SIZE", "2"),
        ("REACH_PLUGINS__EMAIL__LEASE_SECONDS", "3"),
        ("REACH_PLUGINS__EMAIL__BACKOFF_INITIAL_MS", "100"),
        ("REACH_PLUGINS__EMAIL__BACKOFF_MAX_MS", "400"),
    ];
    let (server, lines, _) = listening(start(&temp_dir(), &[], &env));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("plugin email: sending through smtp://127.0.0.1")),
        "{lines:?}"
    );
    server
}

/// A server that queues mail but sends none, and `changes` settings changes made through it.
async fn queued(backend: Backend, sink: &SmtpSink, changes: usize) -> (TestApp, MailWorld) {
    let app = spawn_mail_app(backend, sink, |s| s.smtp_url = None).await;
    let mut m = MailWorld::build(&app).await;
    for i in 0..changes {
        let body = m.change(&app, &format!("55500002{i:02}")).await;
        assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    }
    (app, m)
}

/// Every delivery was sent, each Message-ID went to one recipient only, and every message the
/// server took is one of the deliveries; returns how many arrived more than once.
fn each_delivered(rows: &[Value], mail: &[Received]) -> usize {
    let expected: HashMap<String, String> = rows
        .iter()
        .filter(|r| r["status"] == "SENT")
        .map(|r| {
            (
                r["messageId"].as_str().unwrap().to_owned(),
                r["email"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut seen = HashSet::new();
    for m in mail {
        let id = m.message_id().unwrap();
        assert_eq!(
            expected.get(&id),
            Some(&m.to[0]),
            "a copy carries its delivery's Message-ID"
        );
        seen.insert(id);
    }
    assert_eq!(seen.len(), expected.len(), "every delivery arrived");
    mail.len() - seen.len()
}

async fn e2_a_process_killed_while_sending_loses_no_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let (app, m) = queued(backend, &sink, 20).await;
    sink.set_behaviour(Behaviour {
        data_delay: Duration::from_millis(150),
        ..Default::default()
    });
    let mut first = sender(&app, &sink);
    sink.wait_for(4, Duration::from_secs(30)).await;
    first.0.kill().unwrap(); // SIGKILL: no shutdown, leases left behind
    first.0.wait().unwrap();
    let before = sink.messages().len();
    assert!(before < 40, "killed in the middle of sending ({before} of 40 sent)");

    sink.set_behaviour(Behaviour::default());
    let _second = sender(&app, &sink);
    let rows = wait_deliveries(&app, m.w.a.account, Duration::from_secs(60), |r| {
        r.iter().filter(|d| d["status"] == "SENT").count() == 40
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let twice = each_delivered(&rows, &sink.messages());
    eprintln!("killed after {before} mails; {twice} delivered twice (same Message-ID)");
}

async fn e2_two_processes_send_each_mail_once(backend: Backend) {
    if matches!(backend, Backend::Sqlite) {
        return; // several processes on one database: the PostgreSQL set-up
    }
    let sink = SmtpSink::start().await;
    let (app, mut m) = queued(backend, &sink, 0).await;
    let (_a, _b) = (sender(&app, &sink), sender(&app, &sink));
    for i in 0..50 {
        let body = m.change(&app, &format!("55500003{i:02}")).await;
        assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    }
    let rows = wait_deliveries(&app, m.w.a.account, Duration::from_secs(60), |r| {
        r.iter().filter(|d| d["status"] == "SENT").count() == 100
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = sink.messages();
    assert_eq!(each_delivered(&rows, &mail), 0, "no mail sent twice");
    assert_eq!(mail.len(), 100);
}

backend_tests!(
    e2_a_process_killed_while_sending_loses_no_mail,
    e2_two_processes_send_each_mail_once
);
