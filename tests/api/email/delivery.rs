//! The email plugin against a real SMTP server (SPEC M6, E2): what a settings change mails, to
//! whom, and what happens when the server is down, answers 4xx or 5xx, or the change fails.
//! Process kills and several processes are in `email::process`.

#![allow(clippy::unwrap_used)]

use std::{collections::HashSet, time::Duration};

use api::graphql::ids::Kind;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::{
    backend_tests,
    harness::{
        app::*,
        email::*,
        smtp_sink::{Behaviour, SmtpSink},
    },
};

const SETTLE: Duration = Duration::from_secs(30);

fn settled(rows: &[Value], n: usize) -> bool {
    rows.len() == n
        && rows
            .iter()
            .all(|r| matches!(r["status"].as_str(), Some("SENT" | "FAILED" | "SKIPPED")))
}

async fn e2_a_settings_change_mails_every_enabled_user_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |_| {}).await;
    let mut m = MailWorld::build(&app).await;
    let account = m.w.a.account;

    // The same value again is no change (M6): nothing is queued, nothing is sent.
    let same = m.change(&app, "6465697333").await;
    assert_eq!(codes(&same, "mobilitySettingsUpdate"), Vec::<String>::new());
    // With the flag off a change queues nothing either.
    app.gql(
        &app.support(),
        "mutation($i: MobilityEmailNotificationSetInput!) { mobilityEmailNotificationSet(input: $i) { userErrors { code } } }",
        json!({ "i": { "accountId": gid(Kind::Account, account), "enabled": false } }),
    )
    .await;
    m.version += 1;
    m.change(&app, "5550000001").await;
    assert!(deliveries(&app, account).await.is_empty());
    app.gql(
        &app.support(),
        "mutation($i: MobilityEmailNotificationSetInput!) { mobilityEmailNotificationSet(input: $i) { userErrors { code } } }",
        json!({ "i": { "accountId": gid(Kind::Account, account), "enabled": true } }),
    )
    .await;
    m.version += 1;

    // The flag on and a change: one mail per enabled user with an address.
    let body = m.change(&app, "5550000002").await;
    assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    let rows = wait_deliveries(&app, account, SETTLE, |r| settled(r, 3)).await;
    assert_eq!(
        by_status(&rows),
        [("SENT".to_owned(), 2), ("SKIPPED".to_owned(), 1)].into()
    );
    sink.wait_for(2, SETTLE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 2, "exactly one message per recipient");
    let recipients: HashSet<_> = mail.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients, HashSet::from([m.user1_email.clone(), m.pm_email.clone()]));
    for message in &mail {
        let row = to(&rows, &message.to[0]);
        assert_eq!(row["status"], "SENT");
        assert_eq!(row["attempts"], 1);
        assert!(row["sentAt"].is_string());
        assert_eq!(
            message.message_id().as_deref(),
            row["messageId"].as_str(),
            "stable Message-ID"
        );
        assert!(message.message_id().unwrap().ends_with("@mail.test"));
        assert_eq!(message.from, "reach@mail.test");
        assert_eq!(
            message.subject().unwrap(),
            "Reach: Connect for Mobile settings changed for Alpha Corp"
        );
        let (text, html) = (message.text().unwrap(), message.html().unwrap());
        for part in [&text, &html] {
            assert!(part.contains("Alpha Corp"), "{part}");
            assert!(part.contains("Handover number"), "{part}");
            assert!(
                part.contains("5550000001") && part.contains("5550000002"),
                "old and new: {part}"
            );
            assert!(part.contains("Support (tester)"), "who: {part}");
            assert!(!part.contains("Voicemail"), "only the changed field: {part}");
        }
        assert!(text.contains("Handover number: 5550000001 -> 5550000002"), "{text}");
        assert!(html.contains("<td>Handover number</td>"), "{html}");
    }
}

async fn e2_smtp_down_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let sink = SmtpSink::reserve().await;
    let app = spawn_mail_app(backend, &sink, |_| {}).await;
    let mut m = MailWorld::build(&app).await;
    let account = m.w.a.account;
    for i in 0..50 {
        let body = m.change(&app, &format!("55500001{i:02}")).await;
        assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    }
    // The server is down: tries fail and are retried, nothing is given up on.
    let rows = wait_deliveries(&app, account, SETTLE, |r| r.iter().any(|d| d["status"] == "RETRYING")).await;
    assert_eq!(rows.len(), 150);
    assert!(rows.iter().all(|d| d["status"] != "SENT" && d["status"] != "FAILED"));
    let retrying = rows.iter().find(|d| d["status"] == "RETRYING").unwrap();
    assert!(retrying["lastError"].is_string() && retrying["nextAttemptAt"].is_string());
    assert!(rows.iter().all(|d| d["attempts"] == 0), "an outage spends no tries");

    sink.resume().await;
    let rows = wait_deliveries(&app, account, Duration::from_secs(60), |r| settled(r, 150)).await;
    assert_eq!(
        by_status(&rows),
        [("SENT".to_owned(), 100), ("SKIPPED".to_owned(), 50)].into()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = sink.messages();
    let ids: HashSet<_> = mail.iter().map(|m| m.message_id().unwrap()).collect();
    assert_eq!((mail.len(), ids.len()), (100, 100), "every mail once");
    let expected: HashSet<_> = rows
        .iter()
        .filter_map(|r| r["messageId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, expected);
}

async fn e2_temporary_failures_are_retried_and_permanent_ones_fail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |_| {}).await;
    let mut m = MailWorld::build(&app).await;
    let account = m.w.a.account;
    sink.set_behaviour(Behaviour {
        transient_failures: 3,
        reject: vec![m.pm_email.clone()],
        ..Default::default()
    });
    m.change(&app, "5550000003").await;
    let rows = wait_deliveries(&app, account, SETTLE, |r| settled(r, 3)).await;
    let (user1, pm) = (to(&rows, &m.user1_email), to(&rows, &m.pm_email));
    assert_eq!(user1["status"], "SENT", "delivered after the 4xx answers");
    assert_eq!(user1["attempts"], sink.rcpt_attempts_for(&m.user1_email));
    assert_eq!(pm["status"], "FAILED", "a 5xx fails that recipient at once");
    assert_eq!(pm["attempts"], sink.rcpt_attempts_for(&m.pm_email));
    assert!(pm["lastError"].as_str().unwrap().contains("550"), "{pm}");
    assert_eq!(
        user1["attempts"].as_u64().unwrap() + pm["attempts"].as_u64().unwrap(),
        5,
        "three 4xx tries, one 5xx, one success"
    );
    assert_eq!(sink.messages().len(), 1);

    // Support sends the failed one again once the mailbox works.
    sink.set_behaviour(Behaviour::default());
    let support = app.support();
    let body = retry(&app, &support, pm["id"].as_str().unwrap()).await;
    assert_eq!(codes(&body, "notificationRetry"), Vec::<String>::new());
    let rows = wait_deliveries(&app, account, SETTLE, |r| {
        settled(r, 3) && to(r, &m.pm_email)["status"] == "SENT"
    })
    .await;
    assert_eq!(to(&rows, &m.pm_email)["attempts"], 1, "tries counted afresh");
    let mail = sink.wait_for(2, SETTLE).await;
    assert_eq!(mail[1].to, vec![m.pm_email.clone()]);
    // A sent delivery has nothing to retry.
    let body = retry(&app, &support, to(&rows, &m.user1_email)["id"].as_str().unwrap()).await;
    assert_eq!(codes(&body, "notificationRetry"), ["INVALID_STATE"]);
}

async fn retry(app: &TestApp, token: &str, id: &str) -> Value {
    app.gql(
        token,
        "mutation($i: NotificationRetryInput!) { notificationRetry(input: $i) {
            notification { id recipients { email status } } userErrors { code field } } }",
        json!({ "i": { "id": id } }),
    )
    .await
}

async fn e2_too_many_temporary_failures_fail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.plugins.email.max_attempts = 2).await;
    let mut m = MailWorld::build(&app).await;
    sink.set_behaviour(Behaviour {
        transient_failures: 1_000,
        ..Default::default()
    });
    m.change(&app, "5550000004").await;
    let rows = wait_deliveries(&app, m.w.a.account, SETTLE, |r| settled(r, 3)).await;
    for email in [&m.user1_email, &m.pm_email] {
        let row = to(&rows, email);
        assert_eq!(
            (row["status"].as_str(), row["attempts"].as_u64()),
            (Some("FAILED"), Some(2))
        );
        assert!(
            row["lastError"].as_str().unwrap().starts_with("gave up after 2 tries"),
            "{row}"
        );
    }
    assert!(sink.messages().is_empty());

    // notificationRetry: Support only (T1: another tenant's id is unknown).
    let notification = deliveries_notification(&app, m.w.a.account).await;
    let other = app.token(m.w.b.dm);
    let unknown = gid(Kind::MobilityNotification, uuid::Uuid::new_v4());
    let forbidden = retry(&app, &app.token(m.w.a.dm), &notification).await;
    assert_eq!(codes(&forbidden, "notificationRetry"), ["FORBIDDEN"]);
    let hidden = retry(&app, &other, &notification).await;
    let none = retry(&app, &other, &unknown).await;
    assert_eq!(hidden, none, "another tenant's id answers like an unknown one");
    assert_eq!(codes(&none, "notificationRetry"), ["NOT_FOUND"]);
    assert_eq!(
        codes(
            &retry(&app, &app.token(m.w.a.user1), &notification).await,
            "notificationRetry"
        ),
        ["NOT_FOUND"]
    );
    let before = app.outbox_count().await;
    sink.set_behaviour(Behaviour::default());
    let body = retry(&app, &app.support(), &notification).await;
    assert_eq!(codes(&body, "notificationRetry"), Vec::<String>::new());
    assert_eq!(
        app.outbox_types().await[before as usize..],
        ["notification.retry_requested"]
    );
    let rows = wait_deliveries(&app, m.w.a.account, SETTLE, |r| {
        r.iter().filter(|d| d["status"] == "SENT").count() == 2
    })
    .await;
    assert_eq!(by_status(&rows)["SENT"], 2);
}

async fn deliveries_notification(app: &TestApp, account: uuid::Uuid) -> String {
    let body = app
        .gql(
            &app.support(),
            "query($a: ID!) { account(id: $a) { mobility { notifications(first: 1) { nodes { id } } } } }",
            json!({ "a": gid(Kind::Account, account) }),
        )
        .await;
    body["data"]["account"]["mobility"]["notifications"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn e2_a_failed_change_queues_and_sends_nothing(backend: Backend) {
    let sink = SmtpSink::start().await;
    let postgres = matches!(backend, Backend::Postgres(_));
    let app = spawn_mail_app(backend, &sink, |_| {}).await;
    let mut m = MailWorld::build(&app).await;
    // The change's transaction fails after its notification was queued (a trigger refuses the
    // event recorded last).
    let db = &app.state.db;
    if postgres {
        db.execute_unprepared(
            "CREATE FUNCTION reach_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
             CREATE TRIGGER refuse_queue BEFORE INSERT ON outbox_event FOR EACH ROW
             WHEN (NEW.event_type = 'mobility.notification_queued') EXECUTE FUNCTION reach_test_refuse();",
        )
        .await
        .unwrap();
    } else {
        db.execute_unprepared(
            "CREATE TRIGGER refuse_queue BEFORE INSERT ON outbox_event
             WHEN NEW.event_type = 'mobility.notification_queued'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .await
        .unwrap();
    }
    let events = app.outbox_count().await;
    let body = m.change(&app, "5550000005").await;
    assert_eq!(top_codes(&body), ["INTERNAL"], "{body}");
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM mobility_notification").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM notification_delivery").await, 0);
    assert_eq!(app.outbox_count().await, events, "no event of the failed change");
    let drop = if postgres {
        "DROP TRIGGER refuse_queue ON outbox_event"
    } else {
        "DROP TRIGGER refuse_queue"
    };
    db.execute_unprepared(drop).await.unwrap();

    // The next change goes through; its mail is the only mail.
    let body = m.change(&app, "5550000006").await;
    assert_eq!(codes(&body, "mobilitySettingsUpdate"), Vec::<String>::new());
    sink.wait_for(2, SETTLE).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 2);
    assert!(mail.iter().all(|m| !m.text().unwrap().contains("5550000005")));
}

async fn e2_a_hung_server_times_out_and_loses_nothing(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.plugins.email.timeout_ms = 300).await;
    let mut m = MailWorld::build(&app).await;
    sink.set_behaviour(Behaviour {
        data_delay: Duration::from_secs(3),
        ..Default::default()
    });
    m.change(&app, "5550000008").await;
    let rows = wait_deliveries(&app, m.w.a.account, SETTLE, |r| {
        r.iter()
            .any(|d| d["lastError"].as_str().is_some_and(|e| e.starts_with("timed out")))
    })
    .await;
    assert!(
        rows.iter().all(|d| d["status"] != "SENT" && d["attempts"] == 0),
        "{rows:?}"
    );
    sink.set_behaviour(Behaviour::default());
    let rows = wait_deliveries(&app, m.w.a.account, SETTLE, |r| settled(r, 3)).await;
    assert_eq!(by_status(&rows)["SENT"], 2);
    // A server that took a message after the client gave up holds a copy with the same id.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ids: HashSet<_> = sink.messages().iter().map(|m| m.message_id().unwrap()).collect();
    let expected: HashSet<_> = rows
        .iter()
        .filter_map(|r| r["messageId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, expected);
}

async fn e2_without_an_smtp_url_mail_stays_pending(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.smtp_url = None).await;
    let mut m = MailWorld::build(&app).await;
    m.change(&app, "5550000007").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let rows = deliveries(&app, m.w.a.account).await;
    assert_eq!(
        by_status(&rows),
        [("PENDING".to_owned(), 2), ("SKIPPED".to_owned(), 1)].into()
    );
    assert!(rows.iter().all(|r| r["attempts"] == 0));
    assert!(sink.messages().is_empty());
}

/// A batch's sends are recorded in one statement, and only by the worker still holding them: a
/// row whose lease another worker holds is left as that worker has it.
async fn e2_a_batch_of_sends_is_recorded_only_by_its_holder(backend: Backend) {
    use integrations::email::queue;
    let sink = SmtpSink::start().await;
    let app = spawn_mail_app(backend, &sink, |s| s.smtp_url = None).await;
    let mut m = MailWorld::build(&app).await;
    m.change(&app, "5550000008").await;
    let db = &app.state.db;
    let claimed = queue::claim(db, "w1", 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 2, "the two deliveries with an address");
    let sent: Vec<(uuid::Uuid, String)> = (claimed.iter().enumerate())
        .map(|(i, r)| (r.id, format!("m{i}@mail.test")))
        .collect();
    assert!(
        queue::settle_sent(db, "w2", &sent).await.unwrap().is_empty(),
        "not w2's to record"
    );
    assert!(
        queue::claim(db, "w2", 10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "still leased"
    );
    let mut done = queue::settle_sent(db, "w1", &sent).await.unwrap();
    done.sort();
    let mut ids: Vec<uuid::Uuid> = claimed.iter().map(|r| r.id).collect();
    ids.sort();
    assert_eq!(done, ids);
    let rows = deliveries(&app, m.w.a.account).await;
    assert_eq!(
        by_status(&rows),
        [("SENT".to_owned(), 2), ("SKIPPED".to_owned(), 1)].into()
    );
    for (i, r) in claimed.iter().enumerate() {
        let row = rows.iter().find(|x| x["email"] == r.email.as_deref().unwrap()).unwrap();
        assert_eq!(
            row["messageId"],
            format!("m{i}@mail.test"),
            "each row keeps its own Message-ID"
        );
        assert_eq!(row["attempts"], 1);
        assert!(row["sentAt"].is_string());
    }
    assert!(
        queue::claim(db, "w2", 10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "sent rows are not due"
    );
    assert!(queue::settle_sent(db, "w1", &[]).await.unwrap().is_empty());
}

backend_tests!(
    e2_a_batch_of_sends_is_recorded_only_by_its_holder,
    e2_a_settings_change_mails_every_enabled_user_once,
    e2_smtp_down_loses_nothing_and_sends_nothing_twice,
    e2_temporary_failures_are_retried_and_permanent_ones_fail,
    e2_too_many_temporary_failures_fail,
    e2_a_failed_change_queues_and_sends_nothing,
    e2_a_hung_server_times_out_and_loses_nothing,
    e2_without_an_smtp_url_mail_stays_pending,
);
