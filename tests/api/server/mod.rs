//! The server's surface: HTTP, authentication, request limits, the schema and the command line.

pub mod auth;
pub mod cli;
mod conformance;
mod console_browser;
mod graphiql_browser;
mod http;
mod limits;
mod metrics;
mod order;
mod pool;
mod schema;
mod tracing;
