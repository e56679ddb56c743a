//! Reach's database entities: one sea-orm entity per table, no GraphQL here.
//!
//! Enumerations are stored as short upper-case strings so that the database stays readable and
//! portable between SQLite and PostgreSQL.

pub mod access_number;
pub mod account;
pub mod enums;
pub mod location;
pub mod outbox_event;
pub mod role_assignment;
pub mod server_secret;
pub mod user;

pub use enums::{PhoneProfile, Platform, Role};
