//! Reach: the GraphQL service that provisions fixed-mobile convergence (Connect for Mobile and
//! Remote Extension) for a hosted business phone service.

/// jemalloc for every binary linking Reach (the server, its tests and benches). A GraphQL request
/// makes thousands of small short-lived allocations, which it serves faster than glibc's malloc
/// (as mimalloc, used before, did: the reads bench measured the two alike). It is here for what
/// happens after a wave of websockets closes (issue 17): its background thread hands pages left
/// unused for a second back to the system (`.cargo/config.toml`), even when no request comes
/// after. With mimalloc a server left idle kept most of the wave's memory (113 of 128 MiB, even
/// with its purge delay at 0): it frees and purges a page on the thread that owns it, when that
/// thread next allocates, and tasks move between threads.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod auth;
pub mod by_text;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod live;
pub mod metrics;
pub mod net;
pub mod policy;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ws;
