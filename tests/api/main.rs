//! Reach's integration tests: one binary; each test starts the real server on port 0 against a
//! fresh database, SQLite always and PostgreSQL whenever `REACH_TEST_POSTGRES_URL` is set
//! (required when `CI=true`). The tests are grouped by domain, one folder each; what they share
//! is in `harness`.

mod harness;

mod audit;
mod directory;
mod email;
mod hardening;
mod live;
mod mobility;
mod perf;
mod platform;
mod remote;
mod server;
mod tenancy;
mod webhooks;
