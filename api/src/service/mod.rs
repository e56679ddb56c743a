//! The business rules of SPEC.md over the entities and the event outbox. No GraphQL here:
//! resolvers call these functions with a [`Principal`](crate::policy::Principal) and plain values.

pub mod directory;
pub mod error;
pub mod outbox;
pub mod pagination;
pub mod validate;

pub use error::{ErrorCode, ServiceError, ServiceResult, UserError};
