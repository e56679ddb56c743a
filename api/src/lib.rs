//! Reach: the GraphQL service that provisions fixed-mobile convergence (Connect for Mobile and
//! Remote Extension) for a hosted business phone service.

/// mimalloc for every binary linking Reach (the server, its tests and benches): a GraphQL
/// request makes thousands of small short-lived allocations, which it serves faster than glibc's
/// malloc, and it returns freed memory to the system where glibc keeps it (issue 17: memory
/// after a wave of websockets closes).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
