//! The directory domain: accounts, locations, access numbers, users and roles.

pub mod loaders;
pub mod mutation;
pub mod query;
pub mod types;
