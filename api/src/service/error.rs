//! Service errors: business failures (`userErrors` with a code, SPEC §6) and faults.

use sea_orm::DbErr;

use crate::policy::{Access, Only};

/// The business error codes of SPEC §6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Each code is described once, where clients read it: the GraphQL `UserErrorCode` enum
// (graphql/errors.rs), after SPEC §6.
#[allow(missing_docs)]
pub enum ErrorCode {
    NotFound,
    Forbidden,
    ValidationFailed,
    PurchaseNotConfirmed,
    AlreadyActivated,
    AddonNotActive,
    InvalidState,
    StaleVersion,
    IneligiblePhoneProfile,
    AlreadyEnabled,
    NotEnabled,
    ExtensionConflict,
    UsersStillEnabled,
    PlatformNotSupported,
    NoAdminRemoteExtension,
    DuplicateNumber,
    NumberInUseElsewhere,
    NumberLocked,
    NumberInUse,
    StatusReadonly,
    ActiveStatusDelete,
    CallThroughNotAllowed,
}

/// One business failure: which input field (path relative to the mutation's `input`), why, and
/// its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// Path to the offending input field, e.g. `["users", "3", "extension"]`.
    pub field: Vec<String>,
    /// Human-readable explanation.
    pub message: String,
    /// Machine-readable code.
    pub code: ErrorCode,
}

impl UserError {
    /// A failure on `field`.
    pub fn new(code: ErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        Self {
            field: field.iter().map(|s| (*s).to_owned()).collect(),
            message: message.into(),
            code,
        }
    }

    /// The same failure under a prefix (a batch row): `["users", "3"] + field`.
    pub fn under(mut self, prefix: &[String]) -> Self {
        let mut field = prefix.to_vec();
        field.append(&mut self.field);
        self.field = field;
        self
    }
}

/// What a service call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request was refused for business reasons; nothing changed.
    #[error("request rejected: {0:?}")]
    Rejected(Vec<UserError>),
    /// The database failed.
    #[error("database error")]
    Db(#[from] DbErr),
    /// The request ran out of time before committing; nothing changed.
    #[error("the request took too long")]
    Timeout,
}

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<UserError> for ServiceError {
    fn from(e: UserError) -> Self {
        ServiceError::Rejected(vec![e])
    }
}

impl ServiceError {
    /// A single business failure.
    pub fn reject(code: ErrorCode, field: &[&str], message: impl Into<String>) -> Self {
        UserError::new(code, field, message).into()
    }
}

/// Turns a policy answer into a failure on `field` (T1: another tenant's object is `NOT_FOUND`,
/// "no such {what}"; a refusal names who may `action`: "only Support may {action}").
pub fn check(access: Access, field: &[&str], what: &str, action: &str) -> ServiceResult<()> {
    match access {
        Access::Allowed => Ok(()),
        Access::Forbidden(only) => Err(forbidden(field, only, action)),
        Access::NotFound => Err(not_found(field, what)),
    }
}

/// The refusal (`FORBIDDEN`) of an action the caller may not take, naming who may:
/// "only {only} may {action}".
pub fn forbidden(field: &[&str], only: Only, action: &str) -> ServiceError {
    forbidden_error(field, only, action).into()
}

/// [`forbidden`] as one failure, for a batch's row.
pub fn forbidden_error(field: &[&str], only: Only, action: &str) -> UserError {
    UserError::new(ErrorCode::Forbidden, field, format!("only {only} may {action}"))
}

/// The failure for an id that does not exist (or must look as if it did not).
pub fn not_found(field: &[&str], what: &str) -> ServiceError {
    ServiceError::reject(ErrorCode::NotFound, field, format!("no such {what}"))
}

/// A unique violation becomes the business failure `conflict` stands for (races end as clean
/// conflicts); any other database error stays a fault.
pub fn on_unique(err: DbErr, conflict: impl FnOnce() -> ServiceError) -> ServiceError {
    if unique_violation(&err).is_some() {
        conflict()
    } else {
        err.into()
    }
}

pub use crate::db::unique_violation;
