//! The websocket fan-out the subscriptions bench measures: a server process, 10,000 clients (one
//! task per socket, answering pings), the timed run with its checks, and the bare broadcast server
//! Reach is compared with.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, protocol::WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const USERS: usize = 100;
pub const PER_USER: usize = 100;
pub const SOCKETS: usize = USERS * PER_USER;
/// Sockets being opened at once.
pub const OPENING: usize = 200;
/// Between two changes.
pub const SPACING: Duration = Duration::from_millis(10);
/// How long the sockets sit idle before the memory is read, and how long the server is given
/// after its sockets have closed before it is read again.
pub const IDLE: Duration = Duration::from_secs(2);
/// Open files each process needs: its sockets and some to spare.
const FILES: u64 = SOCKETS as u64 + 500;
/// The bare server's and the clients' socket buffers: Reach's.
const READ_BUFFER: usize = api::ws::READ_BUFFER;
const WRITE_BUFFER: usize = 8 * 1024;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a client received: the client, when, and the text (or how its socket ended).
type Received = (usize, DateTime<Utc>, String);

/// What one run measured.
pub struct Figures {
    /// Server RSS after start and a warm-up request, with every socket idle, and after the
    /// clients have gone and the server has closed every socket, in KiB.
    pub rss_before: f64,
    pub rss_idle: f64,
    pub rss_closed: f64,
    /// The same for a second wave of as many sockets, opened after the first had closed.
    pub rss_idle_again: f64,
    pub rss_closed_again: f64,
    /// The server's live heap (the allocator's count of what is allocated) at the same three
    /// moments as `rss_*`, in KiB: what the process holds, without the pages its allocator keeps.
    pub heap_before: f64,
    pub heap_idle: f64,
    pub heap_closed: f64,
    /// What the allocator held in physical pages before the sockets and after they closed, in
    /// KiB: the live heap, the allocator's own structures and freed pages not yet handed back.
    pub resident_before: f64,
    pub resident_closed: f64,
    /// Delivery latencies, ms, sorted.
    pub latencies: Vec<f64>,
    /// From the first change sent to the last one answered, and to the last delivery, ms.
    pub fired: f64,
    pub spread: f64,
    /// Time to open every socket, s (for Reach: until each got `connection_ack` and sent its
    /// `subscribe`).
    pub open: f64,
}

impl Figures {
    /// The latency at quantile `q` (nearest rank).
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.latencies.len();
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1]
    }
}

/// A server process (`reach serve` or the bare one), killed when dropped.
pub struct Server {
    child: Child,
    pub address: String,
    /// Where its heap figures are read: a URL answering the allocator's count of live bytes and
    /// of its resident bytes, or `/metrics` text holding `reach_process_heap_allocated_bytes`
    /// and `reach_process_heap_resident_bytes`; and the token it asks for.
    pub heap: Option<(String, Option<String>)>,
}

impl Server {
    /// Starts `cmd` and waits for its `listening on http://…` line.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let line = lines.next().expect("the server stopped before listening").unwrap();
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.trim().to_owned();
            }
        };
        // Go on reading, so the server never waits on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server {
            child,
            address,
            heap: None,
        }
    }

    /// Its live heap and what its allocator holds in physical pages, in KiB (0 when it does not
    /// say).
    async fn heap_kib(&mut self) -> (f64, f64) {
        self.check_running();
        let Some((url, token)) = &self.heap else {
            return (0.0, 0.0);
        };
        let mut request = reqwest::Client::new().get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let text = request.send().await.unwrap().text().await.unwrap();
        let figure = |metric: &str, at: usize| -> f64 {
            let value = (text.lines().find_map(|l| l.strip_prefix(metric)))
                .or_else(|| text.split_whitespace().nth(at))
                .unwrap_or_else(|| panic!("{metric} in {text}"));
            value.trim().parse::<f64>().unwrap() / 1024.0
        };
        (
            figure("reach_process_heap_allocated_bytes ", 0),
            figure("reach_process_heap_resident_bytes ", 1),
        )
    }

    /// Waits until the server has closed its side of every socket beyond `files_before` open
    /// files (30 s at most), and `IDLE` more.
    async fn wait_closed(&mut self, files_before: usize) {
        let closing = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.open_files() > files_before + 5 && tokio::time::Instant::now() < closing {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(IDLE).await;
    }

    /// Fails when the server has exited.
    fn check_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the server exited: {status}");
        }
    }

    /// Its resident memory, in KiB.
    fn rss_kib(&mut self) -> f64 {
        self.check_running();
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        (status.lines().find_map(|l| l.strip_prefix("VmRSS:")))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Its open files (sockets included).
    fn open_files(&mut self) -> usize {
        self.check_running();
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, Iterator::count)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.address.replacen("http://", "ws://", 1))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Exits with a message when this process may not open enough files.
pub fn check_open_files() {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = (limits.lines().find(|l| l.starts_with("Max open files")))
        .and_then(|l| l.split_whitespace().nth(3))
        .map_or(0, |v| v.parse().unwrap_or(u64::MAX));
    if soft < FILES {
        eprintln!(
            "`ulimit -n` is {soft}: {SOCKETS} websockets need {FILES} open files in the server and in the \
             clients' process; raise the limit (`ulimit -n 20000`) and run again"
        );
        std::process::exit(2);
    }
}

/// A client's socket, with Reach's small buffers.
pub async fn connect(request: impl IntoClientRequest + Unpin) -> Socket {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER);
    let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .unwrap();
    socket
}

/// A client's life once open: answers pings and passes everything else on, stamped on receipt.
async fn listen(client: usize, mut socket: Socket, tx: mpsc::UnboundedSender<Received>) {
    loop {
        let message = socket.next().await;
        let at = Utc::now();
        let text = match message {
            Some(Ok(Message::Text(text))) if text.contains(r#""type":"ping""#) => {
                let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
                continue;
            }
            Some(Ok(Message::Text(text))) => text.to_string(),
            Some(Ok(Message::Close(frame))) => format!("closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => format!("socket error: {e}"),
            None => "ended".into(),
        };
        let ended = !text.starts_with('{');
        let _ = tx.send((client, at, text));
        if ended {
            return;
        }
    }
}

/// Opens the `SOCKETS` clients, `OPENING` at a time (`open(i)` readies client `i`'s socket); each
/// then listens on a task of its own. The tasks, and the time it took.
async fn open_all<O, OF>(open: O, tx: mpsc::UnboundedSender<Received>) -> (Vec<JoinHandle<()>>, f64)
where
    O: Fn(usize) -> OF,
    OF: Future<Output = Socket>,
{
    let start = Instant::now();
    let tasks = futures::stream::iter(0..SOCKETS)
        .map(|i| {
            let opening = open(i);
            async move { (i, opening.await) }
        })
        .buffer_unordered(OPENING)
        .map(|(i, socket)| tokio::spawn(listen(i, socket, tx.clone())))
        .collect()
        .await;
    (tasks, start.elapsed().as_secs_f64())
}

/// Opens the clients, reads the server's memory before and after, sends the `USERS` changes
/// (`fire(u)` for user or group `u`, `SPACING` apart), and checks what every client received
/// (`stamp(client, text)` gives the time an event was stamped, or what is wrong with it).
pub async fn measure<O, OF, F, FF>(
    server: &mut Server,
    open: O,
    mut fire: F,
    stamp: impl Fn(usize, &str) -> Result<DateTime<Utc>, String>,
) -> Figures
where
    O: Fn(usize) -> OF,
    OF: Future<Output = Socket>,
    F: FnMut(usize) -> FF,
    FF: Future<Output = ()>,
{
    let rss_before = server.rss_kib();
    let (heap_before, resident_before) = server.heap_kib().await;
    let files_before = server.open_files();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (clients, opened) = open_all(&open, tx).await;
    tokio::time::sleep(IDLE).await;
    let rss_idle = server.rss_kib();
    let (heap_idle, _) = server.heap_kib().await;

    let mut ticks = tokio::time::interval(SPACING);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let first = Utc::now();
    for u in 0..USERS {
        ticks.tick().await; // the first tick is at once
        fire(u).await;
    }
    let fired = (Utc::now() - first).as_seconds_f64() * 1000.0;
    let mut got: Vec<Received> = Vec::with_capacity(SOCKETS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < SOCKETS {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => got.push(r),
            _ => break,
        }
    }
    // One more second for anything sent twice.
    while let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        got.push(r);
    }
    server.check_running();
    // The clients go (their sockets close without a word); once the server has closed its side
    // of every one, and a moment more, its memory is read again.
    clients.iter().for_each(JoinHandle::abort);
    server.wait_closed(files_before).await;
    let rss_closed = server.rss_kib();
    let (heap_closed, resident_closed) = server.heap_kib().await;
    // A second wave of as many sockets, idle, then gone: whether the first wave's memory is
    // used again or the server grows with each wave.
    let (again_tx, mut again_rx) = mpsc::unbounded_channel();
    let (again, _) = open_all(&open, again_tx).await;
    tokio::time::sleep(IDLE).await;
    let rss_idle_again = server.rss_kib();
    again.iter().for_each(JoinHandle::abort);
    server.wait_closed(files_before).await;
    let rss_closed_again = server.rss_kib();
    server.check_running();
    let _ = server.child.kill();
    // The second wave received nothing (no change was made while it was open).
    while let Ok((client, _, text)) = again_rx.try_recv() {
        assert!(!text.starts_with('{'), "second wave, client {client}: {text}");
    }

    let mut count = vec![0usize; SOCKETS];
    let (mut latencies, mut wrong) = (Vec::with_capacity(SOCKETS), Vec::new());
    let mut last = first;
    for (client, at, text) in &got {
        count[*client] += 1;
        match stamp(*client, text) {
            Ok(stamped) => latencies.push((*at - stamped).as_seconds_f64() * 1000.0),
            Err(e) => wrong.push(format!("client {client}: {e}")),
        }
        last = last.max(*at);
    }
    let missing = count.iter().filter(|&&n| n == 0).count();
    let repeated = count.iter().filter(|&&n| n > 1).count();
    if missing + repeated + wrong.len() > 0 {
        eprintln!("{} wrong messages; the first ones:", wrong.len());
        wrong.iter().take(10).for_each(|w| eprintln!("  {w}"));
    }
    assert_eq!(
        (missing, repeated, wrong.len()),
        (0, 0, 0),
        "(clients without an event, clients with more than one, wrong messages)"
    );
    latencies.sort_by(f64::total_cmp);
    Figures {
        rss_before,
        rss_idle,
        rss_closed,
        rss_idle_again,
        rss_closed_again,
        heap_before,
        heap_idle,
        heap_closed,
        resident_before,
        resident_closed,
        latencies,
        fired,
        spread: (last - first).as_seconds_f64() * 1000.0,
        open: opened,
    }
}

/// The bare broadcast server: serves until killed (run as this binary with `REACH_BENCH_BARE`).
pub mod bare {
    use std::sync::Arc;

    use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
    use axum::extract::{Query, State};
    use axum::{Router, response::Response, routing::get, routing::post};
    use chrono::Utc;
    use serde::Deserialize;
    use serde_json::json;
    use tokio::sync::broadcast;

    type Groups = Arc<Vec<broadcast::Sender<Utf8Bytes>>>;

    #[derive(Deserialize)]
    struct Group {
        group: usize,
    }

    async fn socket(State(groups): State<Groups>, Query(g): Query<Group>, upgrade: WebSocketUpgrade) -> Response {
        let mut events = groups[g.group].subscribe();
        let upgrade = upgrade.read_buffer_size(super::READ_BUFFER);
        upgrade
            .write_buffer_size(super::WRITE_BUFFER)
            .on_upgrade(move |mut socket| async move {
                loop {
                    tokio::select! {
                        event = events.recv() => {
                            let Ok(text) = event else { return };
                            if socket.send(Message::Text(text)).await.is_err() {
                                return;
                            }
                        }
                        incoming = socket.recv() => {
                            if !matches!(incoming, Some(Ok(_))) {
                                return;
                            }
                        }
                    }
                }
            })
    }

    /// The server's live heap and what its allocator holds in physical pages, bytes.
    async fn heap() -> String {
        let heap = api::metrics::heap();
        let (allocated, resident) = heap.map_or((0, 0), |h| (h.allocated, h.resident));
        format!("{allocated} {resident}")
    }

    /// Sends group `group` its send time; answers how many sockets it went to.
    async fn fire(State(groups): State<Groups>, Query(g): Query<Group>) -> String {
        let text = json!({ "group": g.group, "sent": Utc::now() }).to_string();
        groups[g.group].send(text.into()).unwrap_or(0).to_string()
    }

    pub async fn serve() {
        let groups: Groups = Arc::new((0..super::USERS).map(|_| broadcast::channel(16).0).collect());
        let app = Router::new()
            .route("/ws", get(socket))
            .route("/fire", post(fire))
            .route("/heap", get(heap))
            .with_state(groups);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    }
}

/// The bare broadcast run.
pub async fn run_bare() -> Figures {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("REACH_BENCH_BARE", "1");
    let mut server = Server::start(cmd);
    server.heap = Some((format!("{}/heap", server.address), None));
    let (http, address, ws) = (reqwest::Client::new(), server.address.clone(), server.ws_url("/ws"));
    // Warm-up: a fire to nobody.
    let warm = http.post(format!("{address}/fire?group=0")).send().await.unwrap();
    assert_eq!(warm.text().await.unwrap(), "0");
    let fire = |g: usize| {
        let (http, url) = (http.clone(), format!("{address}/fire?group={g}"));
        async move {
            let sent_to = http.post(url).send().await.unwrap().text().await.unwrap();
            assert_eq!(sent_to, PER_USER.to_string(), "every socket of group {g} is listening");
        }
    };
    let stamp = |client: usize, text: &str| -> Result<DateTime<Utc>, String> {
        let v: Value = serde_json::from_str(text).map_err(|_| text.to_owned())?;
        if v["group"] != client % USERS {
            return Err(format!("another group's message: {text}"));
        }
        v["sent"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| text.to_owned())
    };
    let open = |i: usize| connect(format!("{ws}?group={}", i % USERS));
    measure(&mut server, open, fire, stamp).await
}
