//! What every domain of the schema shares: the per-request loader and who did something. (The
//! other domains still build on the directory's `User` and `Account`.)

pub mod actor;
pub mod loader;
