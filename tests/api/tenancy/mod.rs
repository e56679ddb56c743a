//! Who may do what in the directory, and the tenant rule T1 (by hand and generated from the
//! schema).

pub mod directory;
mod generated;
