//! The server's surface: HTTP, authentication, request limits, the schema and the command line.

pub mod auth;
pub mod cli;
mod http;
mod limits;
mod schema;
