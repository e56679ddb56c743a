//! The bench's own HTTP client load: `clients` keep-alive connections each sending one request
//! after another for a fixed time, after a warm-up of the same shape; two such loads (a floor
//! and Reach) can take turns, a slice at a time.

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
    /// Sends it once; `Err` with the answer unless it is a 200 without GraphQL errors.
    pub async fn try_send(&self, client: &reqwest::Client) -> Result<Vec<u8>, String> {
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
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        let errors = body.windows(9).any(|w| w == b"\"errors\":");
        if status != 200 || errors {
            return Err(format!(
                "{} answered {status}: {}",
                self.url,
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(body.to_vec())
    }

    /// Sends it once; panics unless the answer is a 200 without GraphQL errors.
    pub async fn send(&self, client: &reqwest::Client) -> Vec<u8> {
        self.try_send(client).await.unwrap_or_else(|e| panic!("{e}"))
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
    /// Requests that failed (an error answer, e.g. a pool timeout under load): not counted in
    /// the throughput, and the first one printed.
    pub failed: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `clients` tasks sending `req` until `duration` has passed; every successful request's
/// latency, and the failures.
async fn phase(
    client: &reqwest::Client,
    cycles: &Arc<Vec<Vec<Request>>>,
    clients: usize,
    duration: Duration,
) -> (Vec<Duration>, Vec<String>) {
    let until = Instant::now() + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, cycles) = (client.clone(), cycles.clone());
            tokio::spawn(async move {
                let (mut times, mut failures) = (Vec::new(), Vec::new());
                let cycle = &cycles[i % cycles.len()];
                for req in cycle.iter().cycle() {
                    if Instant::now() >= until {
                        break;
                    }
                    let t = Instant::now();
                    match req.try_send(&client).await {
                        Ok(_) => times.push(t.elapsed()),
                        Err(e) => failures.push(e),
                    }
                }
                (times, failures)
            })
        })
        .collect();
    let (mut times, mut failures) = (Vec::new(), Vec::new());
    for t in tasks {
        let (t, f) = t.await.unwrap();
        times.extend(t);
        failures.extend(f);
    }
    (times, failures)
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
    run_cycles(client, vec![vec![req]], clients, warm_up, duration, statements).await
}

/// `a` and `b` (a floor and Reach) measured side by side: after a warm-up of each, `slices`
/// turns of `duration / slices` for `a` then the same for `b`, so that what the machine does
/// meanwhile (other load, a slower minute) falls on both alike rather than on whichever ran
/// second. Each gets `duration` in all.
#[allow(
    dead_code,
    reason = "the audit bench shares this module and has no floor to take turns with"
)]
pub async fn run_side_by_side(
    client: &reqwest::Client,
    (a, b): (Request, Request),
    clients: usize,
    warm_up: Duration,
    (duration, slices): (Duration, u32),
    statements: &AtomicU64,
) -> (Figures, Figures) {
    let (a, b) = (Arc::new(vec![vec![a]]), Arc::new(vec![vec![b]]));
    phase(client, &a, clients, warm_up).await;
    phase(client, &b, clients, warm_up).await;
    let (mut of_a, mut of_b) = (Measured::default(), Measured::default());
    let slice = duration / slices.max(1);
    for _ in 0..slices.max(1) {
        of_a.add(client, &a, clients, slice, statements).await;
        of_b.add(client, &b, clients, slice, statements).await;
    }
    (of_a.figures(), of_b.figures())
}

/// As [`run`], client `i` sending the requests of `cycles[i % cycles.len()]` in turn, again and
/// again (each client its own user, say).
pub async fn run_cycles(
    client: &reqwest::Client,
    cycles: Vec<Vec<Request>>,
    clients: usize,
    warm_up: Duration,
    duration: Duration,
    statements: &AtomicU64,
) -> Figures {
    let req = Arc::new(cycles);
    phase(client, &req, clients, warm_up).await;
    let mut measured = Measured::default();
    measured.add(client, &req, clients, duration, statements).await;
    measured.figures()
}

/// What the measured phases of one cell gathered.
#[derive(Default)]
struct Measured {
    times: Vec<Duration>,
    failures: Vec<String>,
    elapsed: Duration,
    statements: u64,
}

impl Measured {
    /// One more phase of `duration`.
    async fn add(
        &mut self,
        client: &reqwest::Client,
        req: &Arc<Vec<Vec<Request>>>,
        clients: usize,
        duration: Duration,
        statements: &AtomicU64,
    ) {
        let counted = statements.load(Ordering::SeqCst);
        let start = Instant::now();
        let (times, failures) = phase(client, req, clients, duration).await;
        // Until the last request in flight at the deadline has answered.
        self.elapsed += start.elapsed();
        self.statements += statements.load(Ordering::SeqCst) - counted;
        self.times.extend(times);
        self.failures.extend(failures);
    }

    fn figures(mut self) -> Figures {
        if let Some(first) = self.failures.first() {
            let all = self.failures.len() + self.times.len();
            eprintln!("{} of {all} requests failed; the first: {first}", self.failures.len());
        }
        self.times.sort();
        let times = &self.times;
        let at = |p| {
            if times.is_empty() {
                Duration::ZERO
            } else {
                percentile(times, p)
            }
        };
        Figures {
            throughput: times.len() as f64 / self.elapsed.as_secs_f64(),
            p50: at(0.50),
            p99: at(0.99),
            statements: self.statements as f64 / (times.len() + self.failures.len()).max(1) as f64,
            failed: self.failures.len(),
        }
    }
}
