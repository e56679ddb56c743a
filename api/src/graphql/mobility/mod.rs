//! The Connect for Mobile domain (SPEC §3): `Account.mobility`, `User.mobility` and the mobility
//! mutations.

pub mod loaders;
pub mod mutation;
pub mod notifications;
pub mod subscription;
pub mod types;
