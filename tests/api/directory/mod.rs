//! The directory: accounts, locations, access numbers, users and roles.

pub mod mutations;
