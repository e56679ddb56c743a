//! The business rules of SPEC.md over the entities and the event outbox. No GraphQL here:
//! resolvers call these functions with a [`Principal`](crate::policy::Principal) and plain values.

pub mod audit;
pub(crate) mod bulk;
pub mod directory;
pub mod error;
pub mod extension_claims;
pub mod mobility;
pub mod outbox;
pub mod pagination;
pub mod patch;
pub mod remote;
pub(crate) mod sql;
pub mod sync;
pub mod text;
pub mod validate;
pub mod webhooks;

pub use error::{ErrorCode, ServiceError, ServiceResult, UserError};
pub use patch::{Change, GivenId};

/// Commits a write transaction, unless the request ran out of time: then it is rolled back and
/// the caller gets [`ServiceError::Timeout`]. Checking before the commit (rather than cancelling
/// the request future, which could cut a commit in half) keeps the answer and the data in step.
pub async fn commit(txn: sea_orm::DatabaseTransaction) -> ServiceResult<()> {
    if crate::db::past_deadline() {
        txn.rollback().await?;
        return Err(ServiceError::Timeout);
    }
    txn.commit().await?;
    crate::db::note_commit();
    Ok(())
}
