//! What every domain of the schema shares, so that no domain imports another's types.

pub mod actor;
pub mod loader;
