//! The GraphQL schema: one folder per domain, merged into the roots here. [`schema`] builds it
//! with no data (for the SDL and its drift test); the server adds data, limits and extensions.

pub mod args;
pub mod audit;
pub mod built;
pub mod common;
pub mod connection;
pub mod direct;
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
pub mod objects;
pub mod order;
pub mod picked;
pub mod remote;
pub mod sync;
pub mod verbatim;
pub mod webhooks;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

/// Every query field.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    node::NodeQuery,
    directory::query::DirectoryQuery,
    remote::preview::PreviewQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationFields(
    directory::mutation::DirectoryMutation,
    mobility::mutation::MobilityMutation,
    mobility::notifications::NotificationMutation,
    remote::mutation::RemoteMutation,
    sync::mutation::SyncMutation,
    webhooks::mutation::WebhookMutation,
);

/// The mutation root: [`MutationFields`], each field run on an empty loader cache. Mutation
/// fields run one after another and each may change what an earlier one loaded. Done here, at
/// the root, rather than by an extension: async-graphql runs every field of a response (a bulk
/// mutation's thousand users included) through the extension chain as soon as there is one.
#[derive(Default)]
pub struct MutationRoot(MutationFields);

impl async_graphql::ContainerType for MutationRoot {
    async fn resolve_field(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
        if let Some(loader) = ctx.data_opt::<directory::loaders::RequestLoader>() {
            common::loader::forget_all(loader);
        }
        self.0.resolve_field(ctx).await
    }
}

impl async_graphql::OutputType for MutationRoot {
    fn type_name() -> std::borrow::Cow<'static, str> {
        MutationFields::type_name()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        MutationFields::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &async_graphql::ContextSelectionSet<'_>,
        _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
    ) -> async_graphql::ServerResult<async_graphql::Value> {
        async_graphql::resolver_utils::resolve_container_serial(ctx, self).await
    }
}

impl async_graphql::ObjectType for MutationRoot {}

/// Every subscription (SPEC E4), served over websockets on `/graphql`.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
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
