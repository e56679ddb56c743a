//! The Remote Extension domain (SPEC §4): a user's numbers, dynamic statuses, active status and
//! client profile, and their mutations.

pub mod loaders;
pub mod mutation;
pub mod preview;
pub mod subscription;
pub mod types;
