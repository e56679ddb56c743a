//! Read figures of QUALITY.md "Performance" (issue 17): every listing the API offers, through
//! Reach's GraphQL over HTTP, beside the **floor** — a bare axum endpoint in the same process
//! running one hand-written SQL statement, the cheapest this schema and Reach's own indexes
//! allow, that returns the same JSON (the page's rows and the total count). The floor takes no
//! token and checks no visibility (its answer is fixed to what the Reach caller may see); its
//! answer is checked equal to Reach's, row for row, before the load.
//!
//! The data (`benches/reads/seed.rs`) is seeded through the service layer, then `ANALYZE`d
//! (SQLite: `ANALYZE` and `PRAGMA optimize`; PostgreSQL: `VACUUM ANALYZE`, as autovacuum would
//! leave it): an account of 10,000 users all enabled for mobility (`READS_USERS=100000` for
//! 100,000), a second account for the wizard's eligible users, an MX-ONE account for a user's own
//! numbers and statuses, and more accounts for Support. Each workload is loaded by the bench's
//! own keep-alive HTTP client at 1 and at 32 concurrent clients: a warm-up of 0.5 s of each, then `READS_SECONDS` (default 2) measured for each, floor and
//! Reach taking turns of a quarter of a second (8 turns each at the default), so that the
//! machine's drift during a cell (other load, a slower minute) falls on both alike. It runs on a fresh SQLite file (opened as Reach opens it), then on
//! a fresh PostgreSQL database when `REACH_TEST_POSTGRES_URL` names an admin database, and
//! prints one Markdown table per database: floor and Reach req/s, their ratio, Reach's p50/p99
//! and the SQL statements per Reach request (the pool's counter; the floor runs 1). Reach runs
//! without plugins and subscriptions, whose background statements would go through the same
//! counted pool. A request that fails under load (a pool timeout, say) is shown as failed beside
//! the req/s, which count answers only; the first failure is printed. No time is asserted: compare the ratios within one run (the machine's load is
//! printed before and after).
//!
//! Then a mixed workload with no floor: each client a Remote Co user of its own, activating one of
//! its statuses (`dynamicStatusActivate`), reading its screen, activating another, reading again;
//! its table gives req/s at 1 and 32 clients and their ratio (SQLite: 32 must not get less).
//!
//! `READS_ONLY=accounts,eligible` runs only the workloads whose names contain one of the parts
//! (`=name` for the name exactly: ``READS_ONLY='=`mobility.users`'`` is the plain page alone;
//! `mixed` for the mixed workload, which runs only when named or when nothing is picked).
//! `READS_PAGE_COST=0` runs Reach with the PostgreSQL server's own `random_page_cost` (setting
//! `database_random_page_cost`; default 1.1), to compare the two in one machine's conditions.
//!
//! Run (release build; about 3 minutes per database at 10,000 users once built):
//!
//! ```text
//! REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench reads
//! ```
//!
//! PostGraphile (optional; the issue's peer for the plain mobility page): install it by hand,
//! once, outside the project, and name its binary in `READS_POSTGRAPHILE`:
//!
//! ```text
//! mkdir -p /tmp/postgraphile && (cd /tmp/postgraphile && npm install postgraphile@4)
//! READS_POSTGRAPHILE=/tmp/postgraphile/node_modules/.bin/postgraphile \
//!   REACH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench reads
//! ```
//!
//! The bench then starts it against the PostgreSQL bench database (`postgraphile -c $URL -s
//! public --host 127.0.0.1 --port <free port> --disable-graphiql --disable-query-log`), sends
//! `allMobilityUsers(first: 50, condition: {accountId}) { totalCount nodes { mobilityExtension
//! appUserByUserId { name phoneNumber extension } } }` and prints its req/s beside Reach's plain
//! page, measured right after it.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "reads/floor.rs"]
mod floor;
#[path = "reads/load.rs"]
mod load;
#[path = "reads/postgraphile.rs"]
mod postgraphile;
#[path = "reads/seed.rs"]
mod seed;
mod support;
#[path = "reads/workloads.rs"]
mod workloads;

use std::{
    sync::atomic::AtomicU64,
    time::{Duration, Instant},
};

use api::startup::Application;
use load::{Figures, Request};
use sea_orm::DbBackend;
use serde_json::Value;
use support::machine;

const CLIENTS: [usize; 2] = [1, 32];
const WARM_UP: Duration = Duration::from_millis(500);
/// Turns a floor and Reach take in one cell, each measured for `READS_SECONDS / SLICES` a turn.
const SLICES: u32 = 8;

/// Knobs from the environment.
struct Knobs {
    users: usize,
    measure: Duration,
    postgraphile: Option<String>,
    /// `READS_ONLY`: comma-separated parts of workload names; only the workloads whose name
    /// contains one run (for a quick look or a profile of one listing).
    only: Vec<String>,
    /// `READS_PAGE_COST`: Reach's `database_random_page_cost` (default: Reach's default), to
    /// compare page costs within one machine's conditions.
    page_cost: Option<f64>,
}

fn knobs() -> Knobs {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Knobs {
        users: var("READS_USERS").map_or(10_000, |v| v.parse().expect("READS_USERS is a number")),
        measure: Duration::from_secs_f64(var("READS_SECONDS").map_or(2.0, |v| v.parse().expect("READS_SECONDS"))),
        postgraphile: var("READS_POSTGRAPHILE"),
        only: var("READS_ONLY").map_or_else(Vec::new, |v| v.split(',').map(str::to_owned).collect()),
        page_cost: var("READS_PAGE_COST").map(|v| v.parse().expect("READS_PAGE_COST is a number")),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One table row: a workload at some number of clients.
struct Row {
    name: String,
    rows: u64,
    clients: usize,
    floor: Figures,
    reach: Figures,
}

async fn run(label: &str, url: String, k: &Knobs) {
    let started = Instant::now();
    let mut settings = support::quiet_settings(url.clone());
    if let Some(cost) = k.page_cost {
        settings.database_random_page_cost = cost;
    }
    let app = Application::build(settings, false).await.expect("the server starts");
    let state = app.state().clone();
    let backend = state.db.get_database_backend();
    let world = seed::seed(&state.db, &state.settings, k.users).await;
    let seeded = started.elapsed();
    let mint = |u| state.tokens.mint_user(u, 3600).unwrap();
    let tokens = workloads::Tokens {
        support: state.tokens.mint_support("bench", 3600).unwrap(),
        dm: mint(world.dm),
        location_pm: mint(world.location_pm),
        eligible_dm: mint(world.eligible_dm),
        screen_user: mint(world.screen_user),
    };
    let reach_url = format!("http://{}/graphql", app.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let workloads: Vec<workloads::Workload> = workloads::all(backend, &world, &tokens)
        .into_iter()
        .filter(|w| {
            let picked = |o: &String| {
                o.strip_prefix('=')
                    .map_or_else(|| w.name.contains(o.as_str()), |n| w.name == n)
            };
            k.only.is_empty() || k.only.iter().any(picked)
        })
        .collect();
    let client = reqwest::Client::new();
    let reach_request = |w: &workloads::Workload| Request {
        url: reach_url.clone(),
        token: Some(w.token.clone()),
        body: Some(w.body.clone()),
    };
    // Reach's answers, and the floor's fastest statement for each, checked to answer the same:
    // the same rows in the same order, the same count.
    // On PostgreSQL the floor may also plan with the server's own settings (a pool of its own,
    // counted with Reach's): the floor is the cheaper of the two.
    let mut pools = vec![state.db.clone()];
    if backend == DbBackend::Postgres {
        let mut own = state.settings.as_ref().clone();
        own.database_random_page_cost = 0.0;
        pools.push(api::db::connect_counted(&own, state.statements.clone()).await.unwrap());
    }
    let (mut chosen, mut statements, mut totals) = (Vec::new(), Vec::new(), Vec::new());
    for w in &workloads {
        let reach: Value = serde_json::from_slice(&reach_request(w).send(&client).await).unwrap();
        let reach = w.reach_answer(&reach);
        let (pool, pick) = floor::fastest(&pools, &w.floor, &reach, &w.name).await;
        chosen.push((pool, pick));
        statements.push((pools[pool].clone(), w.floor[pick].clone()));
        let total = reach["totalCount"].as_u64();
        totals.push(total.unwrap_or(reach["nodes"].as_array().map_or(0, |n| n.len() as u64)));
    }
    let (stop_floor, floor_stopped) = tokio::sync::oneshot::channel::<()>();
    let (floor_url, floor_server) = floor::serve(statements, floor_stopped).await;
    let floor_request = |i: usize| Request {
        url: format!("{floor_url}/{i}"),
        token: None,
        body: None,
    };
    for (i, w) in workloads.iter().enumerate() {
        let bare: Value = serde_json::from_slice(&floor_request(i).send(&client).await).unwrap();
        let reach: Value = serde_json::from_slice(&reach_request(w).send(&client).await).unwrap();
        assert_eq!(w.reach_answer(&reach), bare, "{}: Reach and the floor differ", w.name);
    }

    let plans: Vec<String> = (workloads.iter().zip(&chosen))
        .filter(|(w, (pool, _))| w.floor.len() > 1 || *pool == 1)
        .map(|(w, &(pool, pick))| {
            let shape = if w.floor.len() > 1 {
                ["scan once", "count, then the name index"][pick]
            } else {
                "its one statement"
            };
            let setting = if pool == 1 {
                ", planned with the server's own page cost"
            } else {
                ""
            };
            format!("{}: {shape}{setting}", w.name)
        })
        .collect();

    let counter: &AtomicU64 = &state.statements;
    let mut rows = Vec::new();
    for (i, w) in workloads.iter().enumerate() {
        for clients in CLIENTS {
            let pair = (floor_request(i), reach_request(w));
            let (floor, reach) =
                load::run_side_by_side(&client, pair, clients, WARM_UP, (k.measure, SLICES), counter).await;
            rows.push(Row {
                name: w.name.clone(),
                rows: totals[i],
                clients,
                floor,
                reach,
            });
        }
    }

    // PostGraphile's page beside Reach's plain page, measured one after the other.
    let mut peer = Vec::new();
    if backend == DbBackend::Postgres
        && let Some(binary) = &k.postgraphile
        && workloads.first().is_some_and(|w| w.name == "`mobility.users`")
        && let Some(pg) = postgraphile::start(binary, &url, world.account, totals[0]).await
    {
        for clients in CLIENTS {
            let req = postgraphile::request(&pg.url, world.account);
            let theirs = load::run(&client, req, clients, WARM_UP, k.measure, counter).await;
            let ours = load::run(
                &client,
                reach_request(&workloads[0]),
                clients,
                WARM_UP,
                k.measure,
                counter,
            )
            .await;
            peer.push((clients, theirs, ours));
        }
    }

    // Reads and writes together (QUALITY.md: `dynamicStatusActivate` at 32 concurrent clients;
    // on SQLite 32 clients must not get less than 1): each client is a Remote Co user of its own
    // switching between two of its statuses and reading its screen after each switch.
    let mut mixed = Vec::new();
    if k.only.is_empty() || k.only.iter().any(|o| o == "mixed") {
        let plan = mixed_plan(&state.db, &world.remote_users).await;
        let cycles = || {
            (plan.iter())
                .map(|(user, bodies)| {
                    let token = mint(*user);
                    (bodies.iter())
                        .map(|b| Request {
                            url: reach_url.clone(),
                            token: Some(token.clone()),
                            body: Some(b.clone()),
                        })
                        .collect()
                })
                .collect()
        };
        for clients in CLIENTS {
            mixed.push((
                clients,
                load::run_cycles(&client, cycles(), clients, WARM_UP, k.measure, counter).await,
            ));
        }
    }

    let _ = (stop.send(()), stop_floor.send(()));
    server.await.unwrap().unwrap();
    floor_server.await.unwrap();
    state.db.close_by_ref().await.unwrap();
    print_tables(label, k, seeded, started.elapsed(), &rows, &plans, &peer);
    print_mixed(&mixed);
}

/// For each user, the bodies its client sends in turn: activate one status, read the screen,
/// activate another, read again.
async fn mixed_plan(db: &sea_orm::DatabaseConnection, users: &[uuid::Uuid]) -> Vec<(uuid::Uuid, Vec<Vec<u8>>)> {
    use api::graphql::ids::{Kind, encode};
    use entity::dynamic_status::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let statuses = Entity::find()
        .filter(Column::UserId.is_in(users.iter().copied()))
        .order_by_asc(Column::Id)
        .all(db)
        .await
        .unwrap();
    let read = serde_json::json!({ "query": "{ me { activeStatus { name } dynamicStatuses { name presence } } }" });
    let activate = |id| {
        serde_json::json!({
            "query": "mutation($i: DynamicStatusActivateInput!) { dynamicStatusActivate(input: $i) { userErrors { code } } }",
            "variables": { "i": { "id": encode(Kind::DynamicStatus, id).0 } },
        })
    };
    (users.iter())
        .map(|u| {
            let mine: Vec<uuid::Uuid> = statuses
                .iter()
                .filter(|s| s.user_id == *u)
                .map(|s| s.id)
                .take(2)
                .collect();
            assert_eq!(mine.len(), 2, "two statuses of a Remote Co user");
            let bodies = [activate(mine[0]), read.clone(), activate(mine[1]), read.clone()];
            (*u, bodies.iter().map(|b| serde_json::to_vec(b).unwrap()).collect())
        })
        .collect()
}

/// The mixed workload's table: throughput at 1 and 32 clients and their ratio.
fn print_mixed(mixed: &[(usize, Figures)]) {
    let Some((_, one)) = mixed.first() else {
        return;
    };
    println!(
        "\n| mixed: `dynamicStatusActivate` and the own screen's read, in turn, a user per client | clients | Reach req/s | ÷ 1 client | p50 ms | p99 ms | SQL / request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (clients, f) in mixed {
        let failed = if f.failed > 0 {
            format!(" ({} failed)", f.failed)
        } else {
            String::new()
        };
        println!(
            "| half writes, half reads | {clients} | {:.0}{failed} | **{:.2}** | {:.1} | {:.1} | {:.1} |",
            f.throughput,
            f.throughput / one.throughput,
            ms(f.p50),
            ms(f.p99),
            f.statements,
        );
    }
}

fn print_tables(
    label: &str,
    k: &Knobs,
    seeded: Duration,
    total: Duration,
    rows: &[Row],
    plans: &[String],
    peer: &[(usize, Figures, Figures)],
) {
    println!(
        "\n### {label}: {} users (seeded through the services in {:.0} s, then (VACUUM) ANALYZE; {:.1} s measured per cell after {:.1} s of warm-up; whole run {:.0} s; now {})\n",
        thousands(k.users as u64),
        seeded.as_secs_f64(),
        k.measure.as_secs_f64(),
        WARM_UP.as_secs_f64(),
        total.as_secs_f64(),
        machine(),
    );
    if rows.is_empty() {
        return;
    }
    println!(
        "| workload (first: 50) | rows | clients | floor req/s | Reach req/s | Reach / floor | Reach p50 ms | Reach p99 ms | SQL / Reach request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rate = |f: &Figures| match f.failed {
        0 => format!("{:.0}", f.throughput),
        n => format!("{:.0} ({n} failed)", f.throughput),
    };
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | **{:.2}** | {:.1} | {:.1} | {:.1} |",
            r.name,
            thousands(r.rows),
            r.clients,
            rate(&r.floor),
            rate(&r.reach),
            r.reach.throughput / r.floor.throughput,
            ms(r.reach.p50),
            ms(r.reach.p99),
            r.reach.statements,
        );
    }
    let floor_statements: Vec<f64> = rows.iter().map(|r| r.floor.statements).collect();
    let most = floor_statements.iter().copied().fold(0.0, f64::max);
    println!(
        "\nThe floor ran at most {most:.2} SQL statements per request (1 each, plus any background statement). \
         The floor's choices (filtered lists: the faster of two statements; PostgreSQL: of two page costs, Reach's by default): {}.",
        plans.join("; ")
    );
    if !peer.is_empty() {
        println!(
            "\n| `mobility.users` page (50 + totalCount) | clients | PostGraphile req/s | Reach req/s | Reach / PostGraphile | PostGraphile p50 ms | Reach p50 ms |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (clients, theirs, ours) in peer {
            println!(
                "| PostGraphile 4 `allMobilityUsers` vs Reach | {clients} | {} | {} | **{:.2}** | {:.1} | {:.1} |",
                rate(theirs),
                rate(ours),
                ours.throughput / theirs.throughput,
                ms(theirs.p50),
                ms(ours.p50),
            );
        }
    }
}

#[tokio::main]
async fn main() {
    api::telemetry::init("pretty", "warn");
    let k = knobs();
    println!("## Reads benchmark (issue 17)\n");
    println!("{}; release build; Reach, floor and clients in one process.", machine());
    support::on_each_database(|label, url| run(label, url, &k)).await;
    println!("\nAt the end: {}.", machine());
}
