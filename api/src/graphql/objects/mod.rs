//! The objects more than one domain adds fields to, `User` and `Account`, assembled here from
//! the parts each domain folder owns ([`MergedObject`](async_graphql::MergedObject)). This is
//! the one place below the roots that names several domains: a domain adds a field to a user or
//! an account in its own folder and lists its part here, and no domain imports another's types
//! for it.

mod account;
mod user;

pub use account::{Account, AccountConnection, AccountEdge};
pub use user::{User, UserConnection, UserEdge, prefetch_users, user_with_selection};
