//! In-process SMTP server ("sink") for integration tests and benchmarks: speaks real SMTP over TCP
//! (protocol handled by `mailin`), records accepted mail and can simulate failures and outages.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::mem::take;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mail_parser::{Message, MessageParser};
use mailin::{Action, Handler, Response, SessionBuilder, response::OK};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An SMTP server on 127.0.0.1 that records every message it accepts.
///
/// Clones share the same server and state. When the last clone is dropped the server stops.
#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
    control: Arc<tokio::sync::Mutex<Port>>,
}

// The sink's port: listening, or held while "down" (bound, not listening: connections are
// refused, and no other socket on this machine can take the port in the meantime).
#[derive(Default)]
enum Port {
    Listening(Running),
    Held(TcpSocket),
    #[default]
    Free,
}

/// How the sink answers; replace it with [`SmtpSink::set_behaviour`].
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// The next `transient_failures` RCPT commands (any recipient) are answered
    /// `451 4.3.0 try again later`; counts down.
    pub transient_failures: usize,
    /// Recipients (lower-case address) answered `550 5.1.1 mailbox unavailable` at RCPT, every time.
    pub reject: Vec<String>,
    /// Delay before answering the final "." of DATA (a slow server).
    pub data_delay: Duration,
}

/// A message the sink accepted (a 250 was sent for the end of its DATA).
#[derive(Clone, Debug)]
pub struct Received {
    /// Envelope sender (MAIL FROM).
    pub from: String,
    /// Envelope recipients (accepted RCPT TO), in command order.
    pub to: Vec<String>,
    /// The message as received: headers and body, dot-unstuffed, CRLF line ends.
    pub raw: String,
}

// A listening server: its accept loop and the signal that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

// State shared by the sink handle and all connection tasks.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    accepted: watch::Sender<usize>,
    connections: AtomicUsize,
}

#[derive(Default)]
struct State {
    behaviour: Behaviour,
    messages: Vec<Received>,
    rcpt_attempts: HashMap<String, usize>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SmtpSink {
    /// Binds 127.0.0.1:0 and starts accepting.
    pub async fn start() -> SmtpSink {
        let (listener, port) = bind_any().await;
        let sink = SmtpSink::new(port);
        *sink.control.lock().await = Port::Listening(sink.spawn(listener));
        sink
    }

    /// Takes a free port but does NOT listen yet (the server is "down": connections are refused).
    /// The port stays bound, so no other test's socket can take it before
    /// [`SmtpSink::resume`] brings the server up.
    pub async fn reserve() -> SmtpSink {
        let (socket, port) = closed_port();
        let sink = SmtpSink::new(port);
        *sink.control.lock().await = Port::Held(socket);
        sink
    }

    /// The TCP port the sink uses (whether or not it is listening right now).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The sink's address as `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops listening and drops every open connection; returns once all are closed. The port
    /// stays held (bound, refusing connections) until [`SmtpSink::resume`].
    pub async fn stop(&self) {
        let mut control = self.control.lock().await;
        if !matches!(*control, Port::Listening(_)) {
            return;
        }
        if let Port::Listening(Running { stop, task }) = std::mem::take(&mut *control) {
            // An error means the accept loop already ended; either way we wait for it.
            let _ = stop.send(());
            let _ = task.await;
            // The listener is closed; held again at once (a failure leaves the port free and
            // `resume` binds it anew).
            if let Ok(socket) = hold((LOCALHOST, self.port).into()) {
                *control = Port::Held(socket);
            }
        }
    }

    /// Listens again on the same port. Does nothing if the sink is already listening.
    ///
    /// # Panics
    /// If the port was not held and cannot be bound within ~5 s.
    pub async fn resume(&self) {
        let mut control = self.control.lock().await;
        let listener = match std::mem::take(&mut *control) {
            Port::Listening(running) => {
                *control = Port::Listening(running);
                return;
            }
            Port::Held(socket) => socket.listen(1024).expect("smtp sink: cannot listen on its held port"),
            Port::Free => {
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    match TcpListener::bind((LOCALHOST, self.port)).await {
                        Ok(listener) => break listener,
                        Err(e) if Instant::now() >= deadline => {
                            panic!("smtp sink: cannot listen on port {} again: {e}", self.port)
                        }
                        Err(_) => sleep(Duration::from_millis(50)).await,
                    }
                }
            }
        };
        *control = Port::Listening(self.spawn(listener));
    }

    /// Replaces the behaviour for following commands.
    pub fn set_behaviour(&self, b: Behaviour) {
        self.shared.lock().behaviour = b;
    }

    /// Messages accepted so far (after a 250 to the end of DATA), in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().messages.clone()
    }

    /// Waits until at least `n` messages have been accepted or `timeout` passes;
    /// returns [`SmtpSink::messages`] either way.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let mut accepted = self.shared.accepted.subscribe();
        // Timing out is not an error here: the caller checks what arrived.
        let _ = tokio::time::timeout(timeout, accepted.wait_for(|&count| count >= n)).await;
        self.messages()
    }

    /// Number of TCP connections accepted so far (while listening, across stops and resumes).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Number of RCPT TO commands seen (accepted or refused); counts delivery attempts.
    pub fn rcpt_attempts(&self) -> usize {
        self.shared.lock().rcpt_attempts.values().sum()
    }

    /// Number of RCPT TO commands seen for one address (compared case-insensitively).
    pub fn rcpt_attempts_for(&self, address: &str) -> usize {
        let key = address.to_lowercase();
        *self.shared.lock().rcpt_attempts.get(&key).unwrap_or(&0)
    }

    fn new(port: u16) -> SmtpSink {
        SmtpSink {
            port,
            shared: Arc::default(),
            control: Arc::default(),
        }
    }

    fn spawn(&self, listener: TcpListener) -> Running {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&self.shared), stopped));
        Running { stop, task }
    }
}

impl fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpSink {{ port: {} }}", self.port)
    }
}

impl Received {
    /// The Message-ID header, without angle brackets.
    pub fn message_id(&self) -> Option<String> {
        self.parsed()?.message_id().map(str::to_owned)
    }

    /// The decoded Subject header.
    pub fn subject(&self) -> Option<String> {
        self.parsed()?.subject().map(str::to_owned)
    }

    /// A top-level header by name (case-insensitive): decoded if it is plain text,
    /// otherwise its raw value unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed()?;
        let text = message.header(name)?.as_text().map(str::to_owned);
        text.or_else(|| {
            let raw = message.header_raw(name)?;
            Some(raw.replace("\r\n", "").trim().to_owned())
        })
    }

    /// The decoded text/plain body part (never converted from HTML).
    pub fn text(&self) -> Option<String> {
        let message = self.parsed()?;
        let part = message.text_bodies().find(|p| p.is_text() && !p.is_text_html())?;
        part.text_contents().map(str::to_owned)
    }

    /// The decoded text/html body part (never converted from plain text).
    pub fn html(&self) -> Option<String> {
        let message = self.parsed()?;
        let part = message.html_bodies().find(|p| p.is_text_html())?;
        part.text_contents().map(str::to_owned)
    }

    fn parsed(&self) -> Option<Message<'_>> {
        MessageParser::default().parse(self.raw.as_bytes())
    }
}

/// A socket bound to `addr` and not listening: the port is taken, connections to it are refused.
/// `SO_REUSEADDR` lets it take a port whose old connections linger in `TIME_WAIT`.
pub fn hold(addr: std::net::SocketAddr) -> io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// A port on 127.0.0.1 where nothing listens, held for as long as the socket lives (a port bound
/// and dropped at once could be taken by another test's server before it is used).
pub fn closed_port() -> (TcpSocket, u16) {
    let socket = hold((LOCALHOST, 0).into()).expect("cannot bind 127.0.0.1:0");
    let port = socket.local_addr().expect("no local address").port();
    (socket, port)
}

async fn bind_any() -> (TcpListener, u16) {
    let listener = TcpListener::bind((LOCALHOST, 0)).await;
    let listener = listener.expect("smtp sink: cannot bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("smtp sink: no local address");
    (listener, addr.port())
}

// Accepts connections until told to stop (or the sink is dropped), then closes them all.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                // A connection's I/O error only means its client went away: ignored.
                Ok((stream, peer)) => {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    connections.spawn(converse(stream, peer.ip(), Arc::clone(&shared)));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

// Feeds the client's lines to a mailin session and writes back its responses.
async fn converse(stream: TcpStream, peer: IpAddr, shared: Arc<Shared>) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let recorder = Recorder {
        shared: Arc::clone(&shared),
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = SessionBuilder::new("smtp-sink").build(peer, recorder);
    writer.write_all(&session.greeting().buffer()?).await?;
    let mut in_data = false;
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        // mailin ends DATA on exactly ".\r\n" (and unstuffs other lines itself). The handler
        // is synchronous, so a slow server is simulated here, before the session sees the dot.
        if in_data && line == b".\r\n" {
            let delay = shared.lock().behaviour.data_delay;
            if !delay.is_zero() {
                sleep(delay).await;
            }
        }
        let response = session.process(&line);
        if response.action == Action::NoReply {
            continue;
        }
        in_data = response.code == 354;
        writer.write_all(&response.buffer()?).await?;
        if response.action == Action::Close {
            return writer.shutdown().await;
        }
    }
}

// Per-connection mailin handler that records into the shared state.
struct Recorder {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, to: &str) -> Response {
        let address = to.to_lowercase();
        let mut state = self.shared.lock();
        *state.rcpt_attempts.entry(address.clone()).or_default() += 1;
        let behaviour = &mut state.behaviour;
        if behaviour.transient_failures > 0 {
            behaviour.transient_failures -= 1;
            Response::custom(451, "4.3.0 try again later".to_owned())
        } else if behaviour.reject.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
            Response::custom(550, "5.1.1 mailbox unavailable".to_owned())
        } else {
            OK
        }
    }

    // mailin passes only the accepted recipients; RSET never reaches the handler,
    // so the transaction is (re)started here.
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let received = Received {
            from: take(&mut self.from),
            to: take(&mut self.to),
            raw: String::from_utf8_lossy(&take(&mut self.data)).into_owned(),
        };
        self.shared.lock().messages.push(received);
        self.shared.accepted.send_modify(|count| *count += 1);
        OK
    }
}
