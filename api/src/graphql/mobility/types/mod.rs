//! Output types of Connect for Mobile, built from entity rows.

mod addon;
mod settings;
mod user;

use async_graphql::{Context, Enum, Result};

pub use addon::{AccountMobilityFields, Mobility, MobilityDefaults, MobilityUserFilter};
pub use settings::MobilitySettings;
pub use user::{MobilityUser, MobilityUserConnection, MobilityUserEdge, UserMobilityFields, mobility_of};

pub use crate::graphql::common::actor::Actor;

use crate::graphql::common::loader::RequestLoader;

/// Where an account's Connect for Mobile add-on stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::MobilityState")]
pub enum MobilityState {
    /// Not bought, or deactivated by Support.
    NotActivated,
    /// Bought; Support still has to finish the set-up on the Mobility Router.
    PendingSupport,
    /// Ready: users can be enabled.
    Active,
}

pub(super) fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}
