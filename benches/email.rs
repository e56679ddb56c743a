//! The email figure of QUALITY.md "Performance" — 1,000 notifications to a local SMTP server
//! within 2× of a bare `TCP_NODELAY` socket loop (issue 17 item 6) — on SQLite and (when
//! `REACH_TEST_POSTGRES_URL` names an admin database) on a fresh PostgreSQL database:
//!
//! - the floor: one bare tokio socket with `TCP_NODELAY` speaking the least SMTP there is to the
//!   same server — greeting, `EHLO`, then per mail `MAIL FROM`, `RCPT TO`, `DATA`, the message and
//!   its dot in one write, each command waiting for its reply — for the same 1,000 mails
//!   (rendered beforehand with Reach's templates, built with lettre, dot-stuffed);
//! - Reach: 1,000 `PENDING` `notification_delivery` rows of one notification (users made through
//!   the directory services), the email plugin started as the server starts it (`PluginHost`,
//!   default `[plugins.email]` but `tls = "none"`, 50 ms polls), timed from `start()` until every
//!   row is `SENT` (the table is polled every 10 ms) and until the SMTP sink holds 1,000 messages;
//! - context: lettre's client on one connection over a `TCP_NODELAY` socket (what each of Reach's
//!   connections speaks), and, once per database, lettre's own pooled transport from 4 tasks: its
//!   connector leaves Nagle on and writes a message's closing `.` apart from its body, so each
//!   message waits out the receiver's delayed ACK (40 ms on Linux). That was Reach before.
//!
//! The SMTP server is the tests' in-process sink (`tests/api/harness/smtp_sink.rs`), a fresh one per run.
//! Five rounds, interleaved; median and min of each. Run:
//! `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench email`
//! (release build; leave the variable out for SQLite only). It prints one Markdown table per
//! database, asserts that every mail arrived once with its own Message-ID, and asserts no times:
//! compare the ratios within one run (the machine's load is printed).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::machine;

// The sink allows its own unused items.
#[path = "../tests/api/harness/smtp_sink.rs"]
mod smtp_sink;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use api::{config::Settings, policy::Principal, service::directory};
use chrono::{SecondsFormat, Utc};
use entity::{DeliveryStatus, PhoneProfile, Platform, mobility_notification, notification_delivery, user};
use integrations::email::{EmailPlugin, render};
use integrations::{PluginHost, Wake};
use lettre::message::{Mailbox, MultiPart, header};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, Set};
use sea_orm::{PaginatorTrait, QueryFilter, QuerySelect};
use secrecy::SecretString;
use serde_json::json;
use smtp_sink::SmtpSink;
use uuid::Uuid;

const MAILS: usize = 1_000;
const ROUNDS: usize = 5;
const TASKS: usize = 4;
/// Reach's workers in the second configuration (the default is 4).
const WIDE: usize = 16;
const ACCOUNT: &str = "Bench Corp";

/// One measured run: the time until the last mail was accepted (floor) or every row was `SENT`
/// (Reach), until the sink held every mail, the SQL statements through the plugin's pool, and the
/// mean size of a mail as the sink received it.
struct Run {
    done: Duration,
    sink: Duration,
    statements: u64,
    bytes: usize,
}

/// A line of the table: its name, its runs and the time it reports.
type Row<'a> = (&'a str, &'a [Run], fn(&Run) -> Duration);

/// A duration in ms.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median and min of `runs` by `key`, in ms.
fn median_min(runs: &[Run], key: impl Fn(&Run) -> Duration) -> (f64, f64) {
    let mut v: Vec<Duration> = runs.iter().map(key).collect();
    v.sort();
    (ms(v[v.len() / 2]), ms(v[0]))
}

/// Checks the sink got exactly `MAILS` messages with distinct Message-IDs; returns the IDs and
/// the mean message size.
fn check_sink(sink: &SmtpSink) -> (HashSet<String>, usize) {
    let got = sink.messages();
    assert_eq!(got.len(), MAILS, "the sink holds every message, once");
    let ids: HashSet<String> = got.iter().map(|m| m.message_id().expect("a Message-ID")).collect();
    assert_eq!(ids.len(), MAILS, "every message has its own Message-ID");
    (ids, got.iter().map(|m| m.raw.len()).sum::<usize>() / MAILS)
}

/// Database and plugin settings: the defaults, but plain SMTP, a bench sender and 50 ms polls.
fn settings(database_url: String) -> Settings {
    let mut s = Settings {
        database_url: SecretString::from(database_url),
        log_level: "warn".into(),
        ..Default::default()
    };
    s.plugins.poll_interval_ms = 50;
    s.plugins.email.tls = "none".into();
    s.plugins.email.from = "Reach Bench <bench@mail.test>".into();
    s
}

/// A seeded database: the plugin's pool (counting its statements, as the server's does), a pool
/// of its own for watching the rows, and the account and users.
struct Bench {
    db: DatabaseConnection,
    statements: Arc<AtomicU64>,
    watch: DatabaseConnection,
    settings: Settings,
    account: Uuid,
    users: Vec<user::Model>,
}

/// Connects and migrates as the server does, then makes the account and its `MAILS` users with
/// addresses through the directory services.
async fn seed(settings: Settings) -> Bench {
    let statements = Arc::new(AtomicU64::new(0));
    let db = api::db::connect_counted(&settings, statements.clone()).await.unwrap();
    api::db::migrate(&db).await.unwrap();
    let s = Principal::Support { name: "bench".into() };
    let account = directory::NewAccount {
        name: ACCOUNT.into(),
        platform: Platform::MicloudConnect,
        destination_codes: None,
        extension_length: None,
    };
    let account = directory::create_account(&db, &s, account).await.unwrap();
    let rows = (0..MAILS)
        .map(|i| directory::UserFields {
            location_id: None,
            name: format!("Bench User {i}"),
            email: Some(format!("user{i}@mail.test")),
            phone_number: None,
            extension: format!("{}", 100_000 + i),
            phone_profile: PhoneProfile::Essentials,
        })
        .collect();
    let users = directory::import_users(&db, &s, &settings.remote_extension, Some(account.id), rows)
        .await
        .unwrap();
    let watch = api::db::connect(&settings).await.unwrap();
    let account = account.id;
    Bench {
        db,
        statements,
        watch,
        settings,
        account,
        users,
    }
}

/// Queues one notification with a `PENDING` delivery per user, as a settings change does.
async fn queue(db: &DatabaseConnection, account: Uuid, users: &[user::Model]) -> Uuid {
    let now = Utc::now();
    let notification = mobility_notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account),
        sort_key: Set(now.to_rfc3339_opts(SecondsFormat::Micros, true)),
        changes: Set(json!([{ "field": "handoverNumber", "old": null, "new": "+15550001234" }])),
        created_at: Set(now),
        created_by: Set("support:bench".into()),
        traceparent: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    let rows: Vec<_> = (users.iter())
        .map(|u| notification_delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            notification_id: Set(notification.id),
            user_id: Set(u.id),
            email: Set(u.email.clone()),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(100) {
        notification_delivery::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    notification.id
}

/// One Reach run: queues a notification, starts the email plugin (with `workers` tasks and as
/// many kept connections) against a fresh sink, and times it until every row is `SENT`.
async fn reach(b: &Bench, workers: usize) -> Run {
    use notification_delivery::Column;
    let db = &b.db;
    let mut plugins = b.settings.plugins.clone();
    plugins.email.workers = workers;
    plugins.email.pool_size = u32::try_from(workers).unwrap();
    let notification = queue(db, b.account, &b.users).await;
    let sink = SmtpSink::start().await;
    let plugin = EmailPlugin::build(&plugins.email, Some(&sink.url())).unwrap();
    let mut host = PluginHost::new(db.clone(), plugins, Wake::default());
    host.register(Arc::new(plugin));
    let statements = b.statements.load(Ordering::SeqCst);
    let start = Instant::now();
    let running = host.start();
    let waiting = sink.clone();
    let sink_full = tokio::spawn(async move {
        waiting.wait_for(MAILS, Duration::from_secs(120)).await;
        start.elapsed()
    });
    let rows = notification_delivery::Entity::find().filter(Column::NotificationId.eq(notification));
    let sent = rows.clone().filter(Column::Status.eq(DeliveryStatus::Sent));
    while sent.clone().count(&b.watch).await.unwrap() < MAILS as u64 {
        assert!(start.elapsed() < Duration::from_secs(120), "all SENT within 2 minutes");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let done = start.elapsed();
    let statements = b.statements.load(Ordering::SeqCst) - statements;
    let sink_time = sink_full.await.unwrap();
    running.shutdown(Duration::from_secs(5)).await;
    let (ids, bytes) = check_sink(&sink);
    let stored = (rows.select_only().column(Column::MessageId))
        .into_tuple::<Option<String>>()
        .all(db)
        .await
        .unwrap();
    let stored: HashSet<String> = stored.into_iter().flatten().collect();
    assert_eq!(stored, ids, "the rows keep the Message-IDs the sink received");
    Run {
        done,
        sink: sink_time,
        statements,
        bytes,
    }
}

/// The floor's mails: one per user, rendered with Reach's templates, built with lettre.
fn mails(users: &[user::Model], round: usize) -> Vec<Message> {
    let templates = render::Templates::load(None).unwrap();
    let from = "Reach Bench <bench@mail.test>".parse().unwrap();
    (users.iter().enumerate())
        .map(|(i, u)| {
            let r = (templates.render(&render::SettingsChanged {
                product: "Reach".into(),
                account: ACCOUNT.into(),
                recipient: u.name.clone(),
                changed_by: "Support (bench)".into(),
                changed_at: Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
                changes: vec![render::ChangeLine {
                    label: "Handover number".into(),
                    old: "(none)".into(),
                    new: "+15550001234".into(),
                }],
            }))
            .unwrap();
            let to = Mailbox::new(Some(u.name.clone()), u.email.as_deref().unwrap().parse().unwrap());
            (Message::builder().from(Clone::clone(&from)).to(to).subject(r.subject))
                .message_id(Some(format!("<floor-{round}-{i}@mail.test>")))
                .header(header::MIME_VERSION_1_0)
                .multipart(MultiPart::alternative_plain_html(r.text, r.html))
                .unwrap()
        })
        .collect()
}

/// A floor run that ended now: it checks the sink.
fn floor_run(start: Instant, sink: &SmtpSink) -> Run {
    let done = start.elapsed();
    let (_, bytes) = check_sink(sink);
    Run {
        done,
        sink: done,
        statements: 0,
        bytes,
    }
}

/// lettre's own pooled transport (its connector, Nagle on): `mails` from `tasks` tasks sharing
/// it, each sending its share one after another.
async fn lettre_pooled(mails: Vec<Message>, tasks: usize) -> Run {
    let sink = SmtpSink::start().await;
    let transport = Arc::new(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(sink.port())
            .build(),
    );
    let mut mails = mails;
    let shares: Vec<Vec<Message>> = (0..tasks)
        .map(|_| mails.split_off(mails.len() - MAILS / tasks))
        .collect();
    let start = Instant::now();
    let sending = shares.into_iter().map(|share| {
        let transport = transport.clone();
        tokio::spawn(async move {
            for m in share {
                transport.send(m).await.unwrap();
            }
        })
    });
    for task in futures::future::join_all(sending).await {
        task.unwrap();
    }
    floor_run(start, &sink)
}

/// lettre's client on one connection, sequential, over a socket with `TCP_NODELAY`.
async fn lettre_nodelay(mails: Vec<Message>) -> Run {
    use lettre::transport::smtp::{client::AsyncSmtpConnection, extension::ClientId};
    let sink = SmtpSink::start().await;
    let start = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", sink.port()))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &ClientId::default())
        .await
        .unwrap();
    for m in mails {
        conn.send(m.envelope(), &m.formatted()).await.unwrap();
    }
    floor_run(start, &sink)
}

/// A mail as the floor sends it: envelope sender, recipient, and the DATA bytes (dot-stuffed,
/// ending with the lone dot).
struct Wire {
    from: String,
    to: String,
    data: Vec<u8>,
}

fn wire(mails: Vec<Message>) -> Vec<Wire> {
    (mails.into_iter())
        .map(|m| {
            let e = m.envelope();
            let text = String::from_utf8(m.formatted()).unwrap();
            let mut data = if text.starts_with('.') {
                ".".to_owned()
            } else {
                String::new()
            };
            data.push_str(&text.replace("\n.", "\n.."));
            data.push_str("\r\n.\r\n");
            Wire {
                from: e.from().unwrap().to_string(),
                to: e.to()[0].to_string(),
                data: data.into_bytes(),
            }
        })
        .collect()
}

/// Reads one (possibly multi-line) SMTP reply; returns its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R, line: &mut String) -> u16 {
    use tokio::io::AsyncBufReadExt;
    loop {
        line.clear();
        r.read_line(line).await.unwrap();
        assert!(line.len() >= 4, "an SMTP reply: {line:?}");
        if line.as_bytes()[3] != b'-' {
            return line[..3].parse().unwrap();
        }
    }
}

/// The floor: one bare tokio socket with `TCP_NODELAY`, the least SMTP dialogue, one command
/// and one reply at a time.
async fn floor_wire(mails: Vec<Wire>) -> Run {
    use tokio::io::{AsyncWriteExt, BufReader};
    let sink = SmtpSink::start().await;
    let start = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", sink.port()))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    assert_eq!(reply(&mut r, &mut line).await, 220);
    w.write_all(b"EHLO bench.test\r\n").await.unwrap();
    assert_eq!(reply(&mut r, &mut line).await, 250);
    for m in &mails {
        w.write_all(format!("MAIL FROM:<{}>\r\n", m.from).as_bytes())
            .await
            .unwrap();
        assert_eq!(reply(&mut r, &mut line).await, 250);
        w.write_all(format!("RCPT TO:<{}>\r\n", m.to).as_bytes()).await.unwrap();
        assert_eq!(reply(&mut r, &mut line).await, 250);
        w.write_all(b"DATA\r\n").await.unwrap();
        assert_eq!(reply(&mut r, &mut line).await, 354);
        w.write_all(&m.data).await.unwrap();
        assert_eq!(reply(&mut r, &mut line).await, 250);
    }
    w.write_all(b"QUIT\r\n").await.unwrap();
    reply(&mut r, &mut line).await;
    floor_run(start, &sink)
}

/// Seeds a fresh database, runs the rounds (floor and Reach interleaved) and prints the table.
async fn run(label: &str, s: Settings) {
    let b = seed(s).await;
    let (mut bare, mut ours, mut wide, mut nodelay, mut pooled) = (vec![], vec![], vec![], vec![], vec![]);
    let workers = b.settings.plugins.email.workers;
    for round in 0..ROUNDS {
        bare.push(floor_wire(wire(mails(&b.users, 3 * round))).await);
        ours.push(reach(&b, workers).await);
        wide.push(reach(&b, WIDE).await);
        nodelay.push(lettre_nodelay(mails(&b.users, 3 * round + 1)).await);
        if round == 0 {
            // ~11 s: once is enough to show what Nagle cost.
            pooled.push(lettre_pooled(mails(&b.users, 3 * round + 2), TASKS).await);
        }
    }
    let s = &b.settings;
    let e = &s.plugins.email;
    b.db.close_by_ref().await.unwrap();
    b.watch.close_by_ref().await.unwrap();

    println!(
        "\n### {label}: 1,000 notifications, {ROUNDS} rounds; Reach with workers {}, pool_size {}, batch_size {}, poll_interval_ms {}\n",
        e.workers, e.pool_size, e.batch_size, s.plugins.poll_interval_ms
    );
    println!(
        "| 1,000 mails to a local SMTP server | runs | median ms | min ms | µs/mail (median) | mails/s (median) | ÷ floor (median) | bytes/mail |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let (floor_median, _) = median_min(&bare, |r| r.done);
    let wide_name = format!("Reach email plugin, workers {WIDE} and pool_size {WIDE}: every row `SENT`");
    let rows: [Row; 6] = [
        (
            "**floor**: bare tokio socket, `TCP_NODELAY`, least SMTP dialogue, one connection",
            &bare,
            |r| r.done,
        ),
        ("**Reach** email plugin: every row `SENT`", &ours, |r| r.done),
        ("Reach email plugin: the sink holds all", &ours, |r| r.sink),
        (wide_name.as_str(), &wide, |r| r.done),
        (
            "lettre's client, one connection over a `TCP_NODELAY` socket",
            &nodelay,
            |r| r.done,
        ),
        (
            "lettre's own pooled transport (Nagle on), 4 tasks — Reach before",
            &pooled,
            |r| r.done,
        ),
    ];
    for (name, runs, key) in rows {
        let (median, min) = median_min(runs, key);
        let rate = MAILS as f64 / median * 1000.0;
        let per_mail = median * 1000.0 / MAILS as f64;
        let bytes = runs.iter().map(|r| r.bytes).sum::<usize>() / runs.len();
        let ratio = median / floor_median;
        let n = runs.len();
        println!("| {name} | {n} | {median:.0} | {min:.0} | {per_mail:.0} | {rate:.0} | {ratio:.2}× | {bytes} |");
    }
    let (reach_median, _) = median_min(&ours, |r| r.done);
    println!(
        "\nReach ÷ floor: **{:.2}×** (target ≤ 2×).",
        reach_median / floor_median
    );
    let statements: u64 = ours.iter().map(|r| r.statements).sum();
    let per_mail = statements as f64 / (ROUNDS * MAILS) as f64;
    println!("Reach: {per_mail:.2} SQL statements per mail through the plugin's pool (the watcher's are not counted).");
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    println!("## Email benchmark\n");
    println!("{}; release build; plugin, sink and floor in one process.", machine());

    support::on_each_database(|label, url| run(label, settings(url))).await;
    println!("\nAt the end: {}.", machine());
}
