//! The audit log (issue 20): `Account.auditLog`, its retention, and `reach audit`.

mod export;
mod log;
mod retention;
