//! The platform sync domain (SPEC E3): sync runs and `platformSyncRunUpdated`.

pub mod subscription;
pub mod types;
