//! What the tests share: the server on a fresh database and the tenants it is filled with
//! (`app`, with the `backend_tests!` macro), and the stand-ins and clients the tests talk to.

pub mod app;
pub mod email;
pub mod fake_platform;
pub mod node;
pub mod receiver;
pub mod remote;
pub mod remote_props_checks;
pub mod schema_walk;
pub mod smtp_sink;
pub mod tenancy_schema;
pub mod ws_client;
