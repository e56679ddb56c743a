//! Reach's SMTP connections: opened by Reach itself with `TCP_NODELAY`, secured as configured
//! (implicit TLS, STARTTLS or none), then handed to lettre's SMTP client; kept in a small pool so
//! consecutive messages share a connection.
//!
//! Why Reach opens the socket: lettre's own connector leaves Nagle's algorithm on and writes a
//! message's closing `.` apart from its body, so every message waited out the server's delayed
//! ACK (about 40 ms on Linux): 1,000 mails took 11 s where the wire needs 0.2 s.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Mutex, PoisonError},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use lettre::{
    Message,
    transport::smtp::{
        Error,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters},
        extension::ClientId,
    },
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt};

use crate::settings::{EmailSettings, TlsMode};

/// A parked connection idle longer than this is closed rather than used (as lettre's pool did).
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A parked connection idle longer than this is checked with `NOOP` before it carries a message;
/// one used a moment ago is not, which saves a round trip per message in a busy batch.
const CHECK_AFTER: Duration = Duration::from_secs(1);

/// Where and how to connect: the parts of an `smtp://` or `smtps://` URL lettre would use. (No
/// `Debug`: it holds the password.)
struct Server {
    host: String,
    port: u16,
    /// `None` for plain text; the mode says whether it is implicit TLS or STARTTLS.
    tls: Option<(TlsMode, TlsParameters)>,
    hello: ClientId,
    credentials: Option<Credentials>,
    /// For the TCP connect to each resolved address.
    connect_timeout: Duration,
}

/// A pool of SMTP connections Reach opened itself (see the module documentation).
pub struct Transport {
    server: Server,
    /// Idle connections, the most recently used last.
    idle: Mutex<Vec<Parked>>,
    /// Most idle connections kept (`pool_size`).
    keep: usize,
}

struct Parked {
    conn: Conn,
    since: Instant,
}

/// One SMTP session.
struct Conn(AsyncSmtpConnection);

/// Why a message was not sent: the server's or lettre's error, or no TCP connection.
#[derive(Debug)]
pub enum SendError {
    /// From lettre: the server's answer, TLS, or the session.
    Smtp(Error),
    /// The TCP connection could not be made.
    Connect(io::Error),
}

impl Transport {
    /// Builds the transport for `url` (`smtp://[user:password@]host[:port][/hello-name]` or
    /// `smtps://…`), with the TLS of `tls`, as lettre's `from_url` reads such a URL.
    pub fn new(url: &str, tls: TlsMode, settings: &EmailSettings) -> Result<Self, String> {
        // lettre's own reading first, so a URL it refuses is refused with its words, as before.
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("not a usable SMTP URL: {e}"))?;
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a usable SMTP URL: {e}"))?;
        let host = parsed.host_str().ok_or("has no host")?.to_owned();
        let tls_query = parsed.query_pairs().any(|(k, _)| k == "tls");
        let port = parsed.port().unwrap_or(match (parsed.scheme(), tls_query) {
            ("smtps", _) => 465,
            (_, true) => 587,
            _ => 25,
        });
        let hello = match parsed.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| format!("not a usable SMTP URL: {e}"))
        };
        let credentials = match parsed.password() {
            Some(password) => Some(Credentials::new(decode(parsed.username())?, decode(password)?)),
            None => None,
        };
        // The certificate is checked against the host as written in the URL.
        let tls_host = url
            .split_once("://")
            .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, h)| h))
            .and_then(|rest| rest.split(['/', '?', ':']).next())
            .filter(|h| !h.is_empty())
            .ok_or("has no host")?
            .to_owned();
        let tls = match tls {
            TlsMode::None => None,
            mode => Some((mode, TlsParameters::new(tls_host).map_err(|e| e.to_string())?)),
        };
        Ok(Self {
            server: Server {
                host,
                port,
                tls,
                hello,
                credentials,
                connect_timeout: Duration::from_millis(settings.timeout_ms),
            },
            idle: Mutex::new(Vec::new()),
            keep: settings.pool_size as usize,
        })
    }

    /// Sends `message` on an idle connection, or a new one. A reused connection that turns out
    /// dead (closed, reset, or the server's 421) is replaced once by a fresh one; a fresh
    /// connection's failure is the answer.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let envelope = message.envelope();
        let body = message.formatted();
        if let Some(mut conn) = self.take().await {
            match conn.0.send(envelope, &body).await {
                Ok(_) => {
                    self.park(conn);
                    return Ok(());
                }
                Err(e) if !dead(&e) => {
                    self.park(conn);
                    return Err(SendError::Smtp(e));
                }
                // Nothing was accepted on a connection the server had already dropped.
                Err(_) => drop(conn),
            }
        }
        let mut conn = self.server.connect().await?;
        let sent = conn.0.send(envelope, &body).await;
        self.park(conn);
        sent.map(|_| ()).map_err(SendError::Smtp)
    }

    /// Closes the idle connections nobody used for a minute (called when a worker finds no work).
    pub async fn close_idle(&self) {
        let stale: Vec<Parked> = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let (stale, fresh) = idle.drain(..).partition(|p| p.since.elapsed() > IDLE_LIMIT);
            *idle = fresh;
            stale
        };
        for mut p in stale {
            p.conn.0.abort().await;
        }
    }

    /// The most recently used idle connection that is still alive, if any.
    async fn take(&self) -> Option<Conn> {
        loop {
            let parked = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
            let Parked { mut conn, since } = parked;
            let idle = since.elapsed();
            if idle > IDLE_LIMIT || (idle > CHECK_AFTER && !conn.0.test_connected().await) {
                conn.0.abort().await;
                continue;
            }
            return Some(conn);
        }
    }

    /// Keeps `conn` for the next message, unless it is broken (lettre closes a connection after
    /// any refused command) or the pool is full.
    fn park(&self, conn: Conn) {
        if conn.0.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.keep {
            idle.push(Parked {
                conn,
                since: Instant::now(),
            });
        }
    }
}

/// Whether an error on a reused connection means the connection, not the message, failed: no
/// SMTP answer at all (closed, reset, garbage), or the server's 421 (closing the session).
fn dead(e: &Error) -> bool {
    match e.status() {
        Some(code) => code.to_string() == "421",
        None => !e.is_client(),
    }
}

impl Server {
    /// Opens a session: TCP with `TCP_NODELAY`, TLS as configured, `EHLO`, `AUTH` if configured.
    async fn connect(&self) -> Result<Conn, SendError> {
        let tcp = open(&self.host, self.port, self.connect_timeout)
            .await
            .map_err(SendError::Connect)?;
        let mut conn = match &self.tls {
            Some((TlsMode::Tls, params)) => {
                let stream = Secured::wrap(tcp, params.clone()).await.map_err(SendError::Smtp)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello).await
            }
            _ => AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await,
        }
        .map_err(SendError::Smtp)?;
        if let Some((TlsMode::StartTls, params)) = &self.tls {
            conn.starttls(params.clone(), &self.hello)
                .await
                .map_err(SendError::Smtp)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(SendError::Smtp)?;
        }
        Ok(Conn(conn))
    }
}

/// Connects to the first address of `host` that answers within `timeout` each, and turns
/// Nagle's algorithm off: SMTP is a dialogue of small writes, each waiting for its answer.
pub async fn open(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("could not resolve to any supported address")))
}

/// A TCP stream wrapped in TLS by lettre (with the same `TlsParameters`, so the same roots and
/// versions as before), seen as a plain stream lettre's client can take.
#[derive(Debug)]
#[allow(deprecated)] // lettre's own TLS stream type; its deprecation says it was not meant to be public.
struct Secured(Compat<lettre::transport::smtp::client::AsyncNetworkStream>);

impl Secured {
    #[allow(deprecated)]
    async fn wrap(tcp: TcpStream, params: TlsParameters) -> Result<Self, Error> {
        use lettre::transport::smtp::client::AsyncNetworkStream;
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream.upgrade_tls(params).await?;
        Ok(Self(stream.compat()))
    }
}

impl AsyncTokioStream for Secured {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().peer_addr()
    }
}

impl AsyncRead for Secured {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Secured {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_reach_opens_has_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stream = open("127.0.0.1", port, Duration::from_secs(5)).await.unwrap();
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY set on Reach's SMTP socket");
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(open("127.0.0.1", port, Duration::from_secs(5)).await.is_err());
    }

    #[test]
    fn the_url_gives_host_port_hello_and_credentials_as_lettre_reads_it() {
        let s = EmailSettings::default();
        let t = Transport::new("smtp://u%40x:p%3Aw@Mail.Example.com/relay.example", TlsMode::None, &s).unwrap();
        assert_eq!((t.server.host.as_str(), t.server.port), ("Mail.Example.com", 25));
        assert!(matches!(&t.server.hello, ClientId::Domain(d) if d == "relay.example"));
        assert_eq!(t.server.credentials, Some(Credentials::new("u@x".into(), "p:w".into())));
        let t = Transport::new("smtps://mail.example.com", TlsMode::Tls, &s).unwrap();
        assert_eq!(t.server.port, 465);
        assert!(t.server.credentials.is_none());
        let t = Transport::new("smtp://mail.example.com?tls=required", TlsMode::StartTls, &s).unwrap();
        assert_eq!(t.server.port, 587);
        let t = Transport::new("smtp://mail.example.com:2525", TlsMode::StartTls, &s).unwrap();
        assert_eq!(t.server.port, 2525);
        assert!(Transport::new("http://mail.example.com", TlsMode::None, &s).is_err());
    }
}
