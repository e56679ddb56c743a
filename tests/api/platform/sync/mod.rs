//! The platform sync (SPEC E3, R5, R6): the import, the export from users' changes, and the runs.

pub mod common;
mod export;
mod import;
mod runs;
