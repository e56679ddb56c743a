//! The directory (SPEC §2): accounts, locations, access numbers, users and their roles.

pub(crate) mod accounts;
mod reads;
mod roles;
mod user_import;
mod user_update;
mod users;

pub use accounts::{NewAccount, create_access_number, create_account, create_location};
pub use reads::*;
pub use roles::{assign_role, revoke_role};
pub use user_update::{UserChanges, update_user};
pub use users::{UserFields, create_user, import_users};
