//! Connect for Mobile: the rules (activation and settings, users, lists, T1) and who may do what.

mod access;
mod activation;
pub mod common;
mod lists;
mod tenancy;
mod users;
