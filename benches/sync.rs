//! Platform sync figures of QUALITY.md "Performance" ("Sync: time and peak memory to import
//! 100,000 platform numbers; a second run's time"), on SQLite and (when `REACH_TEST_POSTGRES_URL`
//! names an admin database) on a fresh PostgreSQL database.
//!
//! Two MX-ONE accounts of 10 platform numbers per user: 1,000 users (10,000 numbers) and 10,000
//! users (100,000 numbers). Each gets a first run, which imports every number, then a second
//! run, which must change nothing. The platform is an axum server in this process speaking the
//! adapter contract of docs/platform.md; it makes each page from its cursor (an offset), so it holds no list.
//!
//! Each run happens in a child process (this binary again, with `REACH_BENCH_SYNC_CHILD` set)
//! that does only the run, as the runner does: request, claim, execute. Its memory is the run's
//! alone, not the seeding's, the platform's or an earlier run's (whose freed memory the allocator
//! would keep and hand out again). The child reads its resident set before the run and its
//! high-water mark (`VmHWM`, reset through `/proc/self/clear_refs` just before the run; sampled
//! every 10 ms where that reset is not allowed) after it. The PostgreSQL server's own memory is
//! not in these figures.
//!
//! Run: `REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench sync`
//! (release build; leave the variable out for SQLite only). It prints one Markdown table per
//! database and asserts the counts (the first run creates every number, the second changes
//! nothing), no times: these move with whatever else the machine is doing (its load is printed).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::machine;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use api::{
    config::Settings,
    db,
    policy::Principal,
    service::{
        directory::{self, NewAccount, UserFields},
        sync::{
            self,
            connection::{self, ConnectionInput},
            runner::Runner,
            seal::TokenKey,
        },
    },
};
use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use entity::{PhoneProfile, Platform, SyncRunState};
use integrations::platform::{Page, PlatformNumber};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Platform numbers per user (at most 100, R4).
const PER_USER: usize = 10;
/// The two platform sizes: memory should not follow them.
const SIZES: [usize; 2] = [10_000, 100_000];
/// Users per `import_users` call (its maximum).
const BATCH: usize = 1_000;
const TOKEN: &str = "bench-platform-token";
/// Set in the child process that does one run.
const CHILD: &str = "REACH_BENCH_SYNC_CHILD";

/// One account's numbers on the fake platform: item `i` is user `i / PER_USER`'s.
#[derive(Clone, Copy)]
struct Dataset {
    numbers: usize,
    /// The first user's extension.
    extension_base: usize,
    /// The numbers' first digits after the destination code `0`, keeping them unique across the
    /// database (R4).
    series: usize,
}

impl Dataset {
    fn of(numbers: usize) -> Self {
        let index = SIZES.iter().position(|s| *s == numbers).unwrap();
        Self {
            numbers,
            extension_base: 100_000 * (index + 1),
            series: 7 + index,
        }
    }

    fn users(&self) -> usize {
        self.numbers.div_ceil(PER_USER)
    }

    fn account_name(&self) -> String {
        format!("bench-{}", self.numbers)
    }

    fn item(&self, i: usize) -> PlatformNumber {
        PlatformNumber {
            id: format!("rx-{}-{i}", self.numbers),
            user_ref: (self.extension_base + i / PER_USER).to_string(),
            number: format!("0{}{i:09}", self.series),
            label: Some(format!("Remote {i}")),
            ringing: Default::default(),
        }
    }
}

/// The fake platform: the datasets by platform account name, and the pages served.
#[derive(Clone)]
struct FakePlatform {
    datasets: Arc<HashMap<String, Dataset>>,
    pages: Arc<AtomicU64>,
}

#[derive(Deserialize)]
struct ListQuery {
    account: String,
    cursor: Option<String>,
    limit: usize,
}

/// `GET /v1/remote-extensions`: the page at the cursor's offset, made on the spot.
async fn list(
    State(platform): State<FakePlatform>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page>, StatusCode> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
    if bearer != Some(&format!("Bearer {TOKEN}")) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let data = platform.datasets.get(&q.account).ok_or(StatusCode::NOT_FOUND)?;
    let start = match q.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| StatusCode::BAD_REQUEST)?,
    };
    let end = (start + q.limit.clamp(1, 1_000)).min(data.numbers);
    platform.pages.fetch_add(1, Ordering::Relaxed);
    Ok(Json(Page {
        items: (start..end).map(|i| data.item(i)).collect(),
        next_cursor: (end < data.numbers).then(|| end.to_string()),
    }))
}

/// Serves the platform on a port of its own until the process ends; returns its base URL.
async fn serve_platform(platform: FakePlatform) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/v1/remote-extensions", get(list))
        .with_state(platform);
    tokio::spawn(async { axum::serve(listener, router).await.unwrap() });
    url
}

/// An MX-ONE account with the dataset's users and a connection to the platform at `base_url`.
async fn seed(db: &DatabaseConnection, settings: &Settings, key: &TokenKey, data: Dataset, base_url: &str) -> Uuid {
    let s = Principal::Support { name: "bench".into() };
    let account = directory::create_account(
        db,
        &s,
        NewAccount {
            name: format!("Bench {}", data.numbers),
            platform: Platform::MxOne,
            destination_codes: None,
            extension_length: None,
        },
    )
    .await
    .unwrap();
    // Every platform number must pass R3 for the counts to mean anything.
    assert!(
        account
            .destination_codes()
            .iter()
            .any(|c| data.item(0).number.starts_with(c))
    );
    for first in (0..data.users()).step_by(BATCH) {
        let rows = (first..(first + BATCH).min(data.users()))
            .map(|u| UserFields {
                location_id: None,
                name: format!("Remote Worker {u}"),
                email: None,
                phone_number: None,
                extension: (data.extension_base + u).to_string(),
                phone_profile: PhoneProfile::Essentials,
            })
            .collect();
        directory::import_users(db, &s, &settings.remote_extension, Some(account.id), rows)
            .await
            .unwrap();
    }
    let input = ConnectionInput {
        base_url: base_url.to_owned(),
        token: TOKEN.into(),
        platform_account: data.account_name(),
    };
    let policy = settings.plugins.platform.outbound();
    connection::set_connection(db, &s, key, &policy, Some(account.id), input)
        .await
        .unwrap();
    account.id
}

/// What a child reports of its run.
#[derive(Serialize, Deserialize)]
struct RunFigures {
    state: String,
    created: i32,
    updated: i32,
    removed: i32,
    kept: i32,
    exported: i32,
    errors: serde_json::Value,
    seconds: f64,
    statements: u64,
    rss_before_kib: u64,
    /// The peak once half the platform's numbers were applied.
    peak_at_half_kib: u64,
    peak_kib: u64,
    /// How the peak was read: `VmHWM` after a reset, or sampled.
    peak_by: String,
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The resident set's high-water mark from now on: the kernel's (`VmHWM` reset to the present
/// size) where allowed, else a thread sampling `VmRSS` every 10 ms.
struct PeakRss {
    reset: bool,
    stop: Arc<AtomicBool>,
    sampled: Arc<AtomicU64>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl PeakRss {
    fn start() -> Self {
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok() && status_kib("VmHWM") <= status_kib("VmRSS");
        let stop = Arc::new(AtomicBool::new(false));
        let sampled = Arc::new(AtomicU64::new(status_kib("VmRSS")));
        let sampler = (!reset).then(|| {
            let (stop, sampled) = (stop.clone(), sampled.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sampled.fetch_max(status_kib("VmRSS"), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        });
        Self {
            reset,
            stop,
            sampled,
            sampler,
        }
    }

    /// The peak so far, in KiB.
    fn so_far(&self) -> u64 {
        if self.reset {
            status_kib("VmHWM")
        } else {
            self.sampled.load(Ordering::Relaxed).max(status_kib("VmRSS"))
        }
    }

    /// The peak in KiB, and how it was read.
    fn finish(mut self) -> (u64, &'static str) {
        if self.reset {
            return (status_kib("VmHWM"), "VmHWM");
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.sampler.take() {
            t.join().unwrap();
        }
        (
            self.sampled.load(Ordering::Relaxed).max(status_kib("VmRSS")),
            "VmRSS sampled every 10 ms",
        )
    }
}

/// The child: one run of the account, as a worker does it, measured; prints its figures.
async fn child(url: String, account: Uuid) {
    let settings = settings(url);
    let statements = Arc::new(AtomicU64::new(0));
    let db = db::connect_counted(&settings, statements.clone()).await.unwrap();
    let key = TokenKey::load(&db, &settings).await.unwrap();
    let runner = Runner::new(
        db.clone(),
        settings.plugins.platform.clone(),
        settings.remote_extension.clone(),
        key,
        format!("bench-sync:{}", std::process::id()),
    );
    let p = Principal::Support { name: "bench".into() };
    let rss_before_kib = status_kib("VmRSS");
    let peak = PeakRss::start();
    let counted = statements.load(Ordering::SeqCst);
    let started = Instant::now();
    let (run, created) = sync::request_run(&db, &p, Some(account)).await.unwrap();
    assert!(created, "no other run is under way");
    let claimed = runner.claim(Some(run.id)).await.unwrap().expect("the run is ours");
    // The peak so far after each page, by numbers read.
    let after_page = std::sync::Mutex::new(Vec::new());
    let follow = |_: &entity::platform_sync_run::Model, read: u64| {
        if read > 0 {
            after_page.lock().unwrap().push((read, peak.so_far()));
        }
    };
    let ended = runner.execute(claimed, &follow).await.unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let statements = statements.load(Ordering::SeqCst) - counted;
    let after_page = after_page.into_inner().unwrap();
    let read = after_page.iter().map(|(r, _)| *r).max().unwrap_or(0);
    let peak_at_half_kib = after_page
        .iter()
        .find(|(r, _)| r * 2 >= read)
        .map_or(0, |(_, kib)| *kib);
    let (peak_kib, peak_by) = peak.finish();
    // The kernel's counters are approximate by a page or so; the peak is the highest seen.
    let peak_kib = after_page.iter().map(|(_, kib)| *kib).fold(peak_kib, u64::max);
    db.close().await.unwrap();
    let figures = RunFigures {
        state: format!("{:?}", ended.state),
        created: ended.created,
        updated: ended.updated,
        removed: ended.removed,
        kept: ended.kept,
        exported: ended.exported,
        errors: ended.errors,
        seconds,
        statements,
        rss_before_kib,
        peak_at_half_kib,
        peak_kib,
        peak_by: peak_by.into(),
    };
    assert_eq!(ended.state, SyncRunState::Succeeded, "{}", figures.errors);
    println!("{}", serde_json::to_string(&figures).unwrap());
}

/// One run of the account in a child process; answers its figures.
async fn run_in_child(url: &str, account: Uuid) -> RunFigures {
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, format!("{account} {url}"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "the run's process failed: {}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// On PostgreSQL, gathers the statistics a maintained database has after a bulk load (autovacuum
/// may be off, as on this machine's test server; autoanalyze would come at a moment the run
/// cannot predict).
async fn analyze(db: &DatabaseConnection) {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

/// The figures of one account: its first and second run, and the pages each read.
struct SizeFigures {
    data: Dataset,
    first: RunFigures,
    first_pages: u64,
    second: RunFigures,
    second_pages: u64,
}

impl SizeFigures {
    /// The first or the second run's figures, with its pages.
    fn run(&self, second: bool) -> (&RunFigures, u64) {
        if second {
            (&self.second, self.second_pages)
        } else {
            (&self.first, self.first_pages)
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn run(label: &str, url: String) {
    let started = Instant::now();
    let settings = settings(url.clone());
    let db = db::connect(&settings).await.unwrap();
    db::migrate(&db).await.unwrap();
    let key = TokenKey::load(&db, &settings).await.unwrap();
    let datasets: Vec<Dataset> = SIZES.iter().map(|n| Dataset::of(*n)).collect();
    let platform = FakePlatform {
        datasets: Arc::new(datasets.iter().map(|d| (d.account_name(), *d)).collect()),
        pages: Arc::new(AtomicU64::new(0)),
    };
    let base_url = serve_platform(platform.clone()).await;
    let mut accounts = Vec::new();
    for data in &datasets {
        accounts.push((seed(&db, &settings, &key, *data, &base_url).await, *data));
    }
    analyze(&db).await;
    let seeded = started.elapsed();

    let mut figures = Vec::new();
    for (account, data) in accounts {
        let pages = platform.pages.load(Ordering::SeqCst);
        let first = run_in_child(&url, account).await;
        let first_pages = platform.pages.load(Ordering::SeqCst) - pages;
        assert_eq!(
            (first.created, first.updated, first.removed, first.kept, first.exported),
            (data.numbers as i32, 0, 0, 0, 0),
            "the first run imports every number: {}",
            first.errors
        );
        assert_eq!(first.errors, serde_json::json!([]));
        // As autoanalyze would after the import's inserts, on a maintained database.
        analyze(&db).await;
        let pages = platform.pages.load(Ordering::SeqCst);
        let second = run_in_child(&url, account).await;
        let second_pages = platform.pages.load(Ordering::SeqCst) - pages;
        assert_eq!(
            (
                second.created,
                second.updated,
                second.removed,
                second.kept,
                second.exported
            ),
            (0, 0, 0, 0, 0),
            "a second run changes nothing: {}",
            second.errors
        );
        assert_eq!(second.errors, serde_json::json!([]));
        figures.push(SizeFigures {
            data,
            first,
            first_pages,
            second,
            second_pages,
        });
    }
    db.close().await.unwrap();

    let analyzed = if label == "PostgreSQL" {
        "; `ANALYZE` after seeding and after each first run"
    } else {
        ""
    };
    let peak_by = &figures[0].first.peak_by;
    println!(
        "\n### {label} (seeded in {:.1} s; whole run {:.0} s{analyzed}; peak: {peak_by})\n",
        seeded.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let mut header = String::from("| platform numbers |");
    let mut rule = String::from("|---|");
    for a in &figures {
        header.push_str(&format!(" {} |", thousands(a.data.numbers as u64)));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    let row = |name: &str, cell: &dyn Fn(&SizeFigures) -> String| {
        let cells: Vec<String> = figures.iter().map(cell).collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    row(&format!("users ({PER_USER} numbers each)"), &|a| {
        thousands(a.data.users() as u64)
    });
    row(&format!("pages of {}", settings.plugins.platform.page_size), &|a| {
        a.first_pages.to_string()
    });
    // The same rows for each run: the first (imports all), the second (must change nothing).
    let runs = [
        ("**first run** (imports all)", false),
        ("**second run** (no change)", true),
    ];
    for (title, second) in runs {
        row(&format!("{title}: time s"), &|a| {
            format!("{:.1}", a.run(second).0.seconds)
        });
        row("numbers/s", &|a| {
            format!("{:.0}", a.data.numbers as f64 / a.run(second).0.seconds)
        });
        row("created / updated / removed", &|a| {
            let r = a.run(second).0;
            format!("{} / {} / {}", r.created, r.updated, r.removed)
        });
        row("SQL statements (per page)", &|a| {
            let (r, pages) = a.run(second);
            format!(
                "{} ({:.1})",
                thousands(r.statements),
                r.statements as f64 / pages as f64
            )
        });
        row("RSS before MiB", &|a| {
            format!("{:.1}", mib(a.run(second).0.rss_before_kib))
        });
        row("peak RSS after half the pages MiB", &|a| {
            format!("{:.1}", mib(a.run(second).0.peak_at_half_kib))
        });
        row("peak RSS MiB", &|a| format!("{:.1}", mib(a.run(second).0.peak_kib)));
        row("growth MiB", &|a| {
            let r = a.run(second).0;
            format!("{:.1}", mib(r.peak_kib.saturating_sub(r.rss_before_kib)))
        });
    }
}

fn settings(database_url: String) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: SecretString::from(database_url),
        log_level: "warn".into(),
        ..Default::default()
    };
    // The runs are started here, not by the plugin's workers.
    s.plugins.platform.enabled = false;
    s.plugins.webhooks.enabled = false;
    // The stand-in platform listens on http://127.0.0.1.
    s.plugins.platform.allow_http = true;
    s.plugins.platform.allow_destinations = vec!["127.0.0.0/8".into()];
    s.plugins.email.enabled = false;
    s
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    if let Ok(arg) = std::env::var(CHILD) {
        let (account, url) = arg.split_once(' ').unwrap();
        child(url.to_owned(), account.parse().unwrap()).await;
        return;
    }
    println!("## Platform sync benchmark\n");
    println!(
        "{}; release build; each run in a process of its own beside the fake platform's.",
        machine()
    );
    support::on_each_database(run).await;
    println!("\nAt the end: {}.", machine());
}
