//! What every domain of the schema shares: the per-request loader and who did something. The
//! objects several domains add fields to, `User` and `Account`, are assembled in
//! [`objects`](crate::graphql::objects).

pub mod actor;
pub mod loader;
