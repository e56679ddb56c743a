//! The network edge: how connections are accepted and held (`[server]` settings), so that slow
//! or idle clients cannot hold the server; the listener is in [`accept`], the per-request guards
//! (body deadline, request ids) in [`request`].

pub mod accept;
pub mod request;

use std::{io, net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// Binds the server's listener on `addr` (the `listen` setting). When it cannot, the error names
/// the address and the setting to change, e.g. "cannot listen on 127.0.0.1:8080: address already
/// in use; set `listen` (REACH_LISTEN, or `reach serve --listen`) to another port"; its kind stays
/// the operating system's.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| cannot_listen(addr, &e))
}

/// The error of a failed bind on `addr`, saying what to do.
fn cannot_listen(addr: SocketAddr, e: &io::Error) -> io::Error {
    const SETTING: &str = "set `listen` (REACH_LISTEN, or `reach serve --listen`)";
    let message = match e.kind() {
        io::ErrorKind::AddrInUse => {
            format!("cannot listen on {addr}: address already in use; {SETTING} to another port, or stop what holds it")
        }
        _ => format!("cannot listen on {addr}: {e}; {SETTING} to another address"),
    };
    io::Error::new(e.kind(), message)
}

/// Connection limits (`[server]`, `REACH_SERVER__MAX_CONNECTIONS`, …).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Most connections open at once, websockets included; the next ones wait in the kernel's
    /// backlog until one closes. Keep it under the process's file limit (`ulimit -n`) less what
    /// the database pool and the plugins need.
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head (line and headers). The clock starts
    /// when the connection opens or goes idle after a response.
    pub header_read_timeout_seconds: u64,
    /// Seconds a client has to send a whole request body; past it the answer is 408 and the
    /// connection is closed.
    pub body_read_timeout_seconds: u64,
    /// Seconds a keep-alive connection may stay open without a request.
    pub idle_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            // 10,000 websockets on one process (QUALITY.md) with room for HTTP beside them.
            max_connections: 10_240,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            idle_timeout_seconds: 5,
        }
    }
}

impl ServerSettings {
    /// The first bad value, as `(key, reason)`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (key, value) in [
            ("server.max_connections", self.max_connections as u64),
            ("server.header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("server.body_read_timeout_seconds", self.body_read_timeout_seconds),
            ("server.idle_timeout_seconds", self.idle_timeout_seconds),
        ] {
            if value == 0 {
                return Err((key.to_owned(), "must be at least 1".to_owned()));
            }
        }
        // tokio's semaphore holds at most `usize::MAX >> 3` permits.
        if self.max_connections > 1 << 24 {
            return Err((
                "server.max_connections".to_owned(),
                "must be at most 16777216".to_owned(),
            ));
        }
        Ok(())
    }

    /// The header-read timeout.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    /// The body-read timeout.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_seconds)
    }

    /// The idle keep-alive timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_refused_with_the_setting_name() {
        assert!(ServerSettings::default().validate().is_ok());
        let s = ServerSettings {
            header_read_timeout_seconds: 0,
            ..Default::default()
        };
        assert_eq!(
            s.validate().err().map(|(key, _)| key).as_deref(),
            Some("server.header_read_timeout_seconds")
        );
    }
}
