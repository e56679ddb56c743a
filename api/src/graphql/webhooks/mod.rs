//! Webhooks (issue 20): the endpoints an account registers, their recent deliveries, and the
//! mutations that manage them.

pub mod mutation;
pub mod types;
