//! The subscriptions figures of QUALITY.md — 10,000 concurrent websocket subscribers on one
//! process; time from a committed status change to delivery at every subscriber (p50/p99); memory
//! per idle subscription — beside a bare broadcast to as many sockets, on SQLite and (when
//! `REACH_TEST_POSTGRES_URL` names an admin database) on a fresh PostgreSQL database:
//!
//! - Reach: 100 users of one MX-ONE account, made through the directory services, with tokens
//!   minted against the database's signing secret; then `reach serve` as a process of its own on
//!   that database. 10,000 websockets (`graphql-transport-ws`), 100 per user, each with one
//!   `activeStatusChanged` subscription, opened 200 at a time. Then each user activates its "Busy"
//!   status (`dynamicStatusActivate` over HTTP), one user every 10 ms: 100 changes of 100
//!   subscribers each. Latency is the receive time at the subscriber less the event's `occurredAt`
//!   (the server's clock as it wrote the change, just before the commit; one machine, one clock).
//! - bare broadcast: this binary again as a child (`REACH_BENCH_BARE=1`), a minimal axum websocket
//!   server with the socket buffers Reach gives its sockets, holding the same 10,000 sockets in 100
//!   groups (`/ws?group=N`); `POST /fire?group=N` sends the group's sockets, through a tokio
//!   broadcast channel, a small JSON text stamped with the server's clock. Same clients, same 100
//!   fires 10 ms apart; latency is the receive time less that stamp. It does not depend on the
//!   database: it runs once, first, and each table shows it.
//!
//! Memory per idle subscription: the server's RSS (`VmRSS` of `/proc/PID/status`) with the 10,000
//! sockets open and idle for 2 s, less its RSS after start and a warm-up request, over 10,000 (each
//! subscription has its own socket). The bare server's figure is the floor: a socket with the
//! same buffers and nothing else. After the deliveries the clients drop their sockets; once the
//! server has closed every one (its open files are back where they started) and 2 s more, its RSS
//! is read again, to show whether the memory went back; then a second wave of 10,000 sockets
//! opens, idles and goes the same way, to show whether the first wave's memory is used again. A last table sets PostgreSQL beside
//! SQLite: the time to open the 10,000 and the delivery times. The clients run in this process, one task per socket, and
//! answer the server's pings. The bench asserts that every client got exactly one event, its own
//! user's (group's), and asserts no times. Run (release build; leave the variable out for SQLite
//! only; `ulimit -n` must allow 10,500 files, the server and the clients being two processes):
//! `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench subscriptions`

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

// The load and its measurement, and the bare broadcast server.
#[path = "support/fanout.rs"]
mod fanout;

use support::machine;

use std::process::Command;
use std::sync::Arc;

use api::graphql::ids::{self, Kind};
use api::service::directory::{self, NewAccount, UserFields};
use api::{config::Settings, policy::Principal, startup::Application};
use chrono::{DateTime, Utc};
use entity::{PhoneProfile, Platform, dynamic_status};
use fanout::{Figures, OPENING, PER_USER, SOCKETS, SPACING, Server, Socket, USERS};
use futures::{SinkExt, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

const SUBSCRIPTION: &str = "subscription { activeStatusChanged { occurredAt activeStatus { id name } } }";
const ACTIVATE: &str = "mutation($i: DynamicStatusActivateInput!) { dynamicStatusActivate(input: $i) {
    dynamicStatus { id } userErrors { code } } }";

/// The directory Reach serves: per user, a token and the global id of its "Busy" status; and a
/// Support token (for `/metrics`).
async fn seed(url: &str) -> (Vec<(String, String)>, String) {
    let settings = Settings {
        database_url: SecretString::from(url.to_owned()),
        listen: "127.0.0.1:0".into(),
        log_level: "warn".into(),
        ..Default::default()
    };
    // Built, not run: it migrates and makes the signing secret that `reach serve` will use.
    let app = Application::build(settings, false).await.unwrap();
    let (state, s) = (app.state(), Principal::Support { name: "bench".into() });
    let account = NewAccount {
        name: "Bench Corp".into(),
        platform: Platform::MxOne,
        destination_codes: None,
        extension_length: None,
    };
    let account = directory::create_account(&state.db, &s, account).await.unwrap();
    let rows = (0..USERS)
        .map(|i| UserFields {
            location_id: None,
            name: format!("Bench User {i}"),
            email: None,
            phone_number: None,
            extension: format!("{}", 2000 + i),
            phone_profile: PhoneProfile::Essentials,
        })
        .collect();
    let cfg = &state.settings.remote_extension;
    let users = directory::import_users(&state.db, &s, cfg, Some(account.id), rows)
        .await
        .unwrap();
    let busy = dynamic_status::Entity::find()
        .filter(dynamic_status::Column::AccountId.eq(account.id))
        .filter(dynamic_status::Column::Name.eq("Busy"))
        .all(&state.db)
        .await
        .unwrap();
    let seeded = (users.iter())
        .map(|u| {
            let status = busy.iter().find(|s| s.user_id == u.id).expect("a Busy status per user");
            let token = state.tokens.mint_user(u.id, 3600).unwrap();
            (token, ids::encode(Kind::DynamicStatus, status.id).0)
        })
        .collect();
    let support = state.tokens.mint_support("bench", 3600).unwrap();
    state.db.close_by_ref().await.unwrap();
    (seeded, support)
}

/// A Reach client: connected, admitted and subscribed.
async fn subscriber(url: String, token: String) -> Socket {
    let mut request = url.into_client_request().unwrap();
    let protocol = HeaderValue::from_static("graphql-transport-ws");
    request.headers_mut().insert("Sec-WebSocket-Protocol", protocol);
    let mut socket = fanout::connect(request).await;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    socket.send(Message::text(init.to_string())).await.unwrap();
    match socket.next().await {
        Some(Ok(Message::Text(t))) if t.contains(r#""type":"connection_ack""#) => {}
        other => panic!("expected connection_ack, got {other:?}"),
    }
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}});
    socket.send(Message::text(subscribe.to_string())).await.unwrap();
    socket
}

/// A GraphQL request over HTTP as `token`; the response body.
async fn post(http: &reqwest::Client, address: &str, token: &str, body: Value) -> Value {
    let response = http.post(format!("{address}/graphql")).bearer_auth(token).json(&body);
    response.send().await.unwrap().json().await.unwrap()
}

/// The Reach run on database `url`.
async fn run_reach(url: &str) -> Figures {
    let (users, support) = seed(url).await;
    let users = Arc::new(users);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reach"));
    cmd.arg("serve").current_dir(std::env::temp_dir());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("REACH_")) {
        cmd.env_remove(key);
    }
    cmd.envs([
        ("REACH_DATABASE_URL", url),
        ("REACH_LISTEN", "127.0.0.1:0"),
        ("REACH_LOG_LEVEL", "warn"),
        ("REACH_LIMITS__RATE_LIMIT_PER_SECOND", "100000"),
        ("REACH_LIMITS__RATE_LIMIT_BURST", "100000"),
        ("REACH_PLUGINS__EMAIL__ENABLED", "false"),
    ]);
    let mut server = Server::start(cmd);
    server.heap = Some((format!("{}/metrics", server.address), Some(support)));
    let (http, address) = (reqwest::Client::new(), server.address.clone());
    for (token, _) in users.iter().take(2) {
        let body = post(&http, &address, token, json!({"query": "{ viewer { kind } }"})).await;
        assert_eq!(body["data"]["viewer"]["kind"], "USER", "{body}");
    }
    let ws = server.ws_url("/graphql");
    let open = |i: usize| subscriber(ws.clone(), users[i % USERS].0.clone());
    let fire = |u: usize| {
        let (http, address, users) = (http.clone(), address.clone(), users.clone());
        async move {
            let (token, busy) = &users[u];
            let body = json!({"query": ACTIVATE, "variables": {"i": {"id": busy}}});
            let body = post(&http, &address, token, body).await;
            assert_eq!(body["data"]["dynamicStatusActivate"]["userErrors"], json!([]), "{body}");
        }
    };
    let stamp = |client: usize, text: &str| -> Result<DateTime<Utc>, String> {
        let v: Value = serde_json::from_str(text).map_err(|_| text.to_owned())?;
        let change = &v["payload"]["data"]["activeStatusChanged"];
        let status = &change["activeStatus"];
        let busy = &users[client % USERS].1;
        if v["type"] != "next" || v["id"] != "1" || status["id"] != busy.as_str() || status["name"] != "Busy" {
            return Err(format!("not its user's change to Busy: {text}"));
        }
        change["occurredAt"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| text.to_owned())
    };
    fanout::measure(&mut server, open, fire, stamp).await
}

/// A line of the table: its name, its figure, the decimals shown, and whether Reach / bare means
/// something for it.
type Row = (&'static str, fn(&Figures) -> f64, usize, bool);

/// Memory per idle subscription, KiB: RSS with the sockets open less RSS before, per socket.
fn per_socket(f: &Figures) -> f64 {
    (f.rss_idle - f.rss_before) / SOCKETS as f64
}

/// Live heap per idle subscription, KiB: the allocator's count of allocated bytes with the
/// sockets open less before, per socket (the kernel's socket buffers and the allocator's free
/// pages not included).
fn heap_per_socket(f: &Figures) -> f64 {
    (f.heap_idle - f.heap_before) / SOCKETS as f64
}

/// One database's table, Reach beside the bare broadcast.
fn print_table(label: &str, reach: &Figures, bare: &Figures) {
    println!(
        "\n### {label}: 10,000 websockets ({USERS} users × {PER_USER}), opened {OPENING} at a time; \
         {USERS} changes {} ms apart\n",
        SPACING.as_millis()
    );
    println!("| | Reach | bare broadcast | Reach / bare |");
    println!("|---|---:|---:|---:|");
    let rows: [Row; 16] = [
        ("memory per idle subscription (KiB)", per_socket, 1, true),
        ("of which live heap (KiB)", heap_per_socket, 1, true),
        (
            "server RSS before the sockets (MiB)",
            |f| f.rss_before / 1024.0,
            1,
            true,
        ),
        ("server RSS with 10,000 idle (MiB)", |f| f.rss_idle / 1024.0, 1, true),
        ("server RSS after they closed (MiB)", |f| f.rss_closed / 1024.0, 1, true),
        (
            "after they closed less before (MiB)",
            |f| (f.rss_closed - f.rss_before) / 1024.0,
            1,
            false,
        ),
        (
            "live heap after they closed less before (MiB)",
            |f| (f.heap_closed - f.heap_before) / 1024.0,
            1,
            false,
        ),
        (
            "allocator's resident pages after they closed less before (MiB)",
            |f| (f.resident_closed - f.resident_before) / 1024.0,
            1,
            false,
        ),
        (
            "server RSS with a second 10,000 idle (MiB)",
            |f| f.rss_idle_again / 1024.0,
            1,
            true,
        ),
        (
            "server RSS after the second wave closed (MiB)",
            |f| f.rss_closed_again / 1024.0,
            1,
            true,
        ),
        ("delivery p50 (ms)", |f| f.quantile(0.50), 1, true),
        ("delivery p99 (ms)", |f| f.quantile(0.99), 1, true),
        ("delivery max (ms)", |f| f.quantile(1.0), 1, true),
        ("first change sent → last one answered (ms)", |f| f.fired, 0, true),
        ("first change sent → last delivery (ms)", |f| f.spread, 0, true),
        ("time to open 10,000 subscriptions (s)", |f| f.open, 2, true),
    ];
    for (name, value, digits, ratio) in rows {
        let (r, b) = (value(reach), value(bare));
        let ratio = if ratio { format!("{:.2}×", r / b) } else { "—".into() };
        println!("| {name} | {r:.digits$} | {b:.digits$} | {ratio} |");
    }
    println!(
        "\nDelivery: receive time at the client less the event's `occurredAt` (Reach) or the fire's stamp \
         (bare); 10,000 deliveries each, every one checked. After close: the clients drop their \
         sockets, the server closes its side of each, then {} s more. Second wave: as many sockets \
         opened again once the first had closed (no change is made while they are open).",
        fanout::IDLE.as_secs()
    );
}

/// PostgreSQL beside SQLite, when both ran.
fn print_databases(runs: &[(&str, Figures)]) {
    let [(_, sqlite), (_, pg)] = runs else {
        return;
    };
    println!("\n### PostgreSQL beside SQLite (Reach)\n");
    println!("| | SQLite | PostgreSQL | PostgreSQL / SQLite |");
    println!("|---|---:|---:|---:|");
    let rows: [Row; 4] = [
        ("time to open 10,000 subscriptions (s)", |f| f.open, 2, true),
        ("memory per idle subscription (KiB)", per_socket, 1, true),
        ("delivery p50 (ms)", |f| f.quantile(0.50), 1, true),
        ("delivery p99 (ms)", |f| f.quantile(0.99), 1, true),
    ];
    for (name, value, digits, _) in rows {
        let (s, p) = (value(sqlite), value(pg));
        println!("| {name} | {s:.digits$} | {p:.digits$} | {:.2}× |", p / s);
    }
}

#[tokio::main]
async fn main() {
    if std::env::var_os("REACH_BENCH_BARE").is_some() {
        return fanout::bare::serve().await;
    }
    fanout::check_open_files();
    api::telemetry::init("pretty", "warn");
    println!("## Subscriptions benchmark\n");
    println!(
        "{}; release build; server and clients in two processes, one client task per socket.",
        machine()
    );
    let bare = fanout::run_bare().await;
    let runs = std::cell::RefCell::new(Vec::new());
    support::on_each_database(|label, url| {
        let (bare, runs) = (&bare, &runs);
        async move {
            let reach = run_reach(&url).await;
            print_table(label, &reach, bare);
            runs.borrow_mut().push((label, reach));
        }
    })
    .await;
    print_databases(&runs.into_inner());
    println!("\nAt the end: {}.", machine());
}
