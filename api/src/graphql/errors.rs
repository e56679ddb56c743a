//! How service results reach the client: business failures as `userErrors` with a code;
//! faults as a top-level error with `extensions.code`, never showing their cause.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

use crate::codes::Code;
use crate::service::{ErrorCode, ServiceError, UserError as ServiceUserError};

/// Business error codes (SPEC §6).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::ErrorCode")]
pub enum UserErrorCode {
    /// The object does not exist, or is not visible to the caller.
    NotFound,
    /// The caller may see the object but may not do this.
    Forbidden,
    /// An input value is malformed or out of range.
    ValidationFailed,
    /// `confirmPurchase` was not true.
    PurchaseNotConfirmed,
    /// The add-on is already activated.
    AlreadyActivated,
    /// The add-on is not active.
    AddonNotActive,
    /// The object is not in a state that allows this.
    InvalidState,
    /// `expectedVersion` is not the current version.
    StaleVersion,
    /// The user's phone profile is below Essentials.
    IneligiblePhoneProfile,
    /// The user is already enabled.
    AlreadyEnabled,
    /// The user is not enabled.
    NotEnabled,
    /// The extension is taken in this account.
    ExtensionConflict,
    /// Users are still enabled.
    UsersStillEnabled,
    /// The account's platform does not offer this.
    PlatformNotSupported,
    /// The user has no admin- or platform-provisioned remote extension.
    NoAdminRemoteExtension,
    /// The number exists already.
    DuplicateNumber,
    /// The remote-extension number belongs to another user.
    NumberInUseElsewhere,
    /// The number is locked.
    NumberLocked,
    /// The number is used by a status or is the active remote extension.
    NumberInUse,
    /// The status is read-only for the caller.
    StatusReadonly,
    /// The active status cannot be deleted.
    ActiveStatusDelete,
    /// The client profile does not allow call through.
    CallThroughNotAllowed,
}

/// A business failure of a mutation.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// Path to the input field at fault, relative to `input` (e.g. `["users", "3", "extension"]`).
    pub field: Option<Vec<String>>,
    /// What went wrong, for people.
    pub message: String,
    /// What went wrong, for programs.
    pub code: UserErrorCode,
}

impl From<ServiceUserError> for UserError {
    fn from(e: ServiceUserError) -> Self {
        let code: ErrorCode = e.code;
        Self {
            field: (!e.field.is_empty()).then_some(e.field),
            message: e.message,
            code: code.into(),
        }
    }
}

/// A top-level error carrying `extensions.code`.
pub fn coded(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code.as_str()))
}

/// An internal fault: logged once with its cause, shown to the client as `INTERNAL` only.
pub fn internal(err: &(dyn std::error::Error + 'static)) -> async_graphql::Error {
    let mut chain = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    tracing::error!(cause = %chain.join(": "), "internal error");
    coded(Code::Internal, "internal error")
}

/// Declares a mutation's payload, the one way every payload in the schema is declared: the
/// fields it answers with, then `userErrors`. Their description is "Why nothing changed."
/// unless `errors:` gives another (a bulk mutation's, say, which names the bad rows).
///
/// ```ignore
/// payload_type! {
///     /// Result of `userUpdate`.
///     UserUpdatePayload {
///         /// The user as it is now.
///         user: Option<User>,
///     }
/// }
/// ```
macro_rules! payload_type {
    ($(#[$meta:meta])* $name:ident { $($fields:tt)* }) => {
        $crate::graphql::errors::payload_type! {
            $(#[$meta])* $name { $($fields)* } errors: "Why nothing changed."
        }
    };
    (
        $(#[$meta:meta])* $name:ident {
            $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)?
        } errors: $errors:literal
    ) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            #[doc = $errors]
            pub user_errors: Vec<$crate::graphql::errors::UserError>,
        }
    };
}
pub(crate) use payload_type;

/// Splits a service result into the payload's object and its `userErrors`; faults become a
/// top-level `INTERNAL` error.
pub fn payload<T>(result: Result<T, ServiceError>) -> async_graphql::Result<(Option<T>, Vec<UserError>)> {
    match result {
        Ok(value) => Ok((Some(value), Vec::new())),
        Err(ServiceError::Rejected(errors)) => Ok((None, errors.into_iter().map(Into::into).collect())),
        Err(ServiceError::Timeout) => Err(coded(Code::Timeout, "the request took too long; nothing was changed")),
        Err(ServiceError::Db(e)) if overloaded(&e) => Err(busy()),
        Err(e @ ServiceError::Db(_)) => Err(internal(&e)),
    }
}

/// Any database fault in a query resolver.
pub fn db(err: sea_orm::DbErr) -> async_graphql::Error {
    if overloaded(&err) { busy() } else { internal(&err) }
}

/// A service's fault in a query resolver (reads refuse nothing: any error is a fault).
pub fn service(err: ServiceError) -> async_graphql::Error {
    match err {
        ServiceError::Db(e) => db(e),
        e => internal(&e),
    }
}

/// [`db`] for a fault held by reference (a loader's).
pub fn db_ref(err: &sea_orm::DbErr) -> async_graphql::Error {
    if overloaded(err) { busy() } else { internal(err) }
}

/// Whether the fault is the pool's: no connection came free within its acquire timeout (more
/// requests at once than the database keeps up with), not a fault of the request or the data.
pub fn overloaded(err: &sea_orm::DbErr) -> bool {
    matches!(
        err,
        sea_orm::DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout)
    )
}

/// What an overloaded server answers: `TIMEOUT`, as a request past its deadline (nothing was
/// changed; try again), rather than `INTERNAL`.
pub fn busy() -> async_graphql::Error {
    tracing::warn!("no database connection came free in time; the request was answered TIMEOUT");
    coded(Code::Timeout, "the server is busy; nothing was changed, try again")
}

/// The `extensions.code` of `error`, if it has one.
pub fn code_of(error: &async_graphql::ServerError) -> Option<&str> {
    match error.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(code)) => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbErr, error::ConnAcquireErr};

    use super::*;

    fn code(e: &async_graphql::Error) -> Option<String> {
        match e.extensions.as_ref().and_then(|x| x.get("code")) {
            Some(async_graphql::Value::String(c)) => Some(c.clone()),
            _ => None,
        }
    }

    #[test]
    fn an_exhausted_pool_is_timeout_and_other_faults_internal() {
        let busy = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        assert!(overloaded(&busy));
        assert_eq!(code(&db(busy)).as_deref(), Some("TIMEOUT"));
        let closed = DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed);
        assert!(!overloaded(&closed));
        assert_eq!(code(&db(closed)).as_deref(), Some("INTERNAL"));
        assert_eq!(code(&db(DbErr::Custom("boom".into()))).as_deref(), Some("INTERNAL"));
        let mutation = payload::<()>(Err(ServiceError::Db(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))));
        assert_eq!(mutation.err().and_then(|e| code(&e)).as_deref(), Some("TIMEOUT"));
    }
}
