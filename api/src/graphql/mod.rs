//! The GraphQL schema: one folder per domain, merged into the roots here. [`schema`] builds it
//! with no data (for the SDL and its drift test); the server adds data, limits and extensions.

pub mod args;
pub mod built;
pub mod connection;
pub mod directory;
pub mod documents;
pub mod errors;
pub mod executed;
pub mod guard;
pub mod ids;
pub mod limits;
pub mod live;
pub mod mobility;
pub mod node;
pub mod remote;
pub mod sync;
pub mod verbatim;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

/// Every query field.
#[derive(MergedObject, Default)]
pub struct QueryRoot(node::NodeQuery, directory::query::DirectoryQuery);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    directory::mutation::DirectoryMutation,
    mobility::mutation::MobilityMutation,
    mobility::notifications::NotificationMutation,
    remote::mutation::RemoteMutation,
    sync::mutation::SyncMutation,
);

/// Every subscription (SPEC E4), served over websockets on `/graphql`.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(
    remote::subscription::RemoteSubscription,
    mobility::subscription::MobilitySubscription,
    sync::subscription::SyncSubscription,
);

/// Reach's schema type.
pub type ReachSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// A schema builder with the roots and no data.
pub fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
}

/// The schema with no data attached: what `schema.graphql` is exported from.
pub fn schema() -> ReachSchema {
    builder().finish()
}

/// The SDL, as checked in at the repository root.
pub fn sdl() -> String {
    schema().sdl()
}

/// Per-request context lookups.
pub mod context {
    use async_graphql::{Context, Result};
    use sea_orm::DatabaseConnection;

    use crate::{policy::Principal, state::AppState};

    /// The database.
    pub fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
        Ok(&ctx.data::<AppState>()?.db)
    }

    /// The authenticated caller.
    pub fn principal<'a>(ctx: &Context<'a>) -> Result<&'a Principal> {
        ctx.data::<Principal>()
    }
}
