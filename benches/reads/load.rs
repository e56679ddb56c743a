//! The bench's own HTTP client load: `clients` keep-alive connections each sending one request
//! after another for a fixed time, after a warm-up of the same shape.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// One request, sent again and again.
pub struct Request {
    /// Where.
    pub url: String,
    /// A bearer token (Reach), or none (the floor).
    pub token: Option<String>,
    /// A POST body (Reach's GraphQL), or none for a GET (the floor).
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// Sends it once; panics on anything but a 200 answer without GraphQL errors.
    pub async fn send(&self, client: &reqwest::Client) -> Vec<u8> {
        let mut req = match &self.body {
            Some(body) => client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(body.clone()),
            None => client.get(&self.url),
        };
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body = resp.bytes().await.unwrap();
        let errors = body.windows(9).any(|w| w == b"\"errors\":");
        assert!(
            status == 200 && !errors,
            "{} answered {status}: {}",
            self.url,
            String::from_utf8_lossy(&body)
        );
        body.to_vec()
    }
}

/// What one cell measured.
pub struct Figures {
    /// Requests per second.
    pub throughput: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// SQL statements per request, as the pool counts them.
    pub statements: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `clients` tasks sending `req` until `duration` has passed; every request's latency.
async fn phase(client: &reqwest::Client, req: &Arc<Request>, clients: usize, duration: Duration) -> Vec<Duration> {
    let until = Instant::now() + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, req) = (client.clone(), req.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    req.send(&client).await;
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    times
}

/// A warm-up of `warm_up`, then `duration` measured, at `clients` concurrent clients.
pub async fn run(
    client: &reqwest::Client,
    req: Request,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
    statements: &AtomicU64,
) -> Figures {
    let req = Arc::new(req);
    phase(client, &req, clients, warm_up).await;
    let counted = statements.load(Ordering::SeqCst);
    let start = Instant::now();
    let mut times = phase(client, &req, clients, duration).await;
    // Until the last request in flight at the deadline has answered.
    let elapsed = start.elapsed();
    let counted = statements.load(Ordering::SeqCst) - counted;
    times.sort();
    Figures {
        throughput: times.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
        statements: counted as f64 / times.len() as f64,
    }
}
