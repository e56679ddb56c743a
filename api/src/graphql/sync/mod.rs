//! The platform sync domain (SPEC E3): the connection, sync runs, `platformSyncRun` and
//! `platformSyncRunUpdated`.

pub mod mutation;
pub mod subscription;
pub mod types;
