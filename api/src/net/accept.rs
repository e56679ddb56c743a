//! The accept loop: at most `max_connections` sockets at once (the next wait in the kernel's
//! backlog), HTTP/1.1 with a header-read timeout and an idle keep-alive timeout, accepting
//! again after running out of file descriptors instead of spinning or exiting, and a graceful
//! shutdown that lets in-flight requests finish.

use std::{
    future::Future,
    io,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::ServerSettings;

/// How long accepting pauses after a failure that is not one connection's own (out of file
/// descriptors, memory or buffers): retrying at once would spin on the same error, while a
/// pause lets closing connections free what is missing.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// A source of connections: the TCP listener, or a stand-in in tests.
pub trait Accept {
    /// One accepted connection.
    type Conn;
    /// Waits for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
}

impl Accept for TcpListener {
    type Conn = TcpStream;

    async fn accept(&self) -> io::Result<TcpStream> {
        TcpListener::accept(self).await.map(|(stream, _)| stream)
    }
}

/// Whether an accept error is one connection's own (it went away before it was accepted), so
/// that the next accept may succeed at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// The next connection. No error ends the loop: one connection's own is skipped; any other
/// (`EMFILE` when the file limit is reached) is logged once per run of failures and waited out
/// for `pause` before trying again.
pub async fn next_connection<A: Accept>(listener: &A, pause: Duration) -> A::Conn {
    let mut failing = false;
    loop {
        match listener.accept().await {
            Ok(conn) => {
                if failing {
                    tracing::info!("accepting connections again");
                }
                return conn;
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot accept connections; retrying every {pause:?}");
                    failing = true;
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets each
/// open connection finish the request under way, and returns once they have closed (upgraded
/// websockets are not waited for: the caller closes them).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let stop = CancellationToken::new();
    // Each connection task holds a receiver; `closed()` resolves when the last one is gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let next = async {
            // A free slot first: past the cap, connections wait in the backlog unaccepted.
            let slot = slots.clone().acquire_owned().await;
            (slot, next_connection(&listener, ACCEPT_PAUSE).await)
        };
        tokio::select! {
            (slot, stream) = next => match slot {
                Ok(slot) => spawn_connection(stream, slot, router.clone(), settings, stop.clone(), open_rx.clone()),
                // The semaphore is never closed; were it, serving could not go on.
                Err(e) => return Err(io::Error::other(e)),
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    stop.cancel();
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

fn spawn_connection(
    stream: TcpStream,
    slot: OwnedSemaphorePermit,
    router: Router,
    settings: &ServerSettings,
    stop: CancellationToken,
    open: watch::Receiver<()>,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        service_fn(move |req: hyper::Request<Incoming>| {
            let busy = activity.begin();
            let router = router.clone();
            async move {
                let response = router.oneshot(req.map(Body::new)).await;
                drop(busy);
                response
            }
        })
    };
    let io = TokioIo::new(Capped { stream, _slot: slot });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout());
    let idle = settings.idle_timeout();
    tokio::spawn(async move {
        let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
        let mut closing = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    break;
                }
                () = stop.cancelled(), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = activity.idle_for(idle), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
        drop(open);
    });
}

/// A socket holding one of the cap's slots for as long as it lives, through a websocket
/// upgrade too (hyper hands this same value to the upgraded connection).
struct Capped {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Capped {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Capped {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// How many requests a connection has under way, and when it last finished one.
struct Activity {
    opened: Instant,
    busy: AtomicUsize,
    /// Milliseconds from `opened` to the end of the last request.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Resolves once the connection has had no request under way for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let due = self.opened + Duration::from_millis(self.last_ms.load(Ordering::SeqCst)) + limit;
            let now = Instant::now();
            let busy = self.busy.load(Ordering::SeqCst) > 0;
            if !busy && now >= due {
                return;
            }
            // A request under way has deadlines of its own; look again a limit later.
            tokio::time::sleep_until(if busy { now + limit } else { due }).await;
        }
    }
}

/// A request under way on a connection; its end restarts the idle clock.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.store(ms, Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::VecDeque, sync::Mutex};

    use super::*;

    /// Fails with the queued errors, then accepts.
    struct Scripted {
        errors: Mutex<VecDeque<io::Error>>,
        calls: AtomicUsize,
    }

    impl Scripted {
        fn new(errors: impl IntoIterator<Item = io::Error>) -> Self {
            Self {
                errors: Mutex::new(errors.into_iter().collect()),
                calls: AtomicUsize::new(0),
            }
        }
    }

    impl Accept for Scripted {
        type Conn = &'static str;

        fn accept(&self) -> impl Future<Output = io::Result<&'static str>> + Send {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let next = self.errors.lock().ok().and_then(|mut e| e.pop_front());
            async move { next.map_or(Ok("connection"), Err) }
        }
    }

    // issue 16 item 5: out of file descriptors, accepting pauses and goes on — no spin, no exit.
    #[tokio::test]
    async fn emfile_pauses_then_accepts_again() {
        const EMFILE: i32 = 24;
        let listener = Scripted::new((0..3).map(|_| io::Error::from_raw_os_error(EMFILE)));
        let pause = Duration::from_millis(40);
        let started = std::time::Instant::now();
        let conn = next_connection(&listener, pause).await;
        assert_eq!(conn, "connection");
        // Three failures, three pauses, then the fourth call succeeds: no extra calls.
        assert_eq!(listener.calls.load(Ordering::SeqCst), 4);
        assert!(started.elapsed() >= pause * 3, "paused after each failure");
    }

    #[tokio::test]
    async fn a_connection_that_went_away_is_skipped_without_pausing() {
        let listener = Scripted::new([
            io::Error::from(io::ErrorKind::ConnectionAborted),
            io::Error::from(io::ErrorKind::ConnectionReset),
        ]);
        let started = std::time::Instant::now();
        let conn = next_connection(&listener, Duration::from_secs(5)).await;
        assert_eq!(conn, "connection");
        assert_eq!(listener.calls.load(Ordering::SeqCst), 3);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
