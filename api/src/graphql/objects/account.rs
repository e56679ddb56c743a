//! `Account`: a customer account of the phone service, assembled from its domains' parts, and
//! its connection.

use std::sync::Arc;

use async_graphql::MergedObject;
use entity::account;

use crate::graphql::{
    audit::AccountAuditFields,
    built,
    connection::connection,
    directory::types::{AccountEntry, AccountPlaces},
    ids::Kind,
    mobility::types::AccountMobilityFields,
    remote::types::AccountRemoteFields,
    sync::types::AccountSyncFields,
    webhooks::types::AccountWebhookFields,
};

// The parts are listed in the order the schema shows their fields: the directory entry and its
// users, the Connect for Mobile add-on, the client profiles of Remote Extension, the platform
// connection and its sync runs, then the account's locations and access numbers, then its
// audit log and webhook endpoints.
/// A customer account of the phone service.
#[derive(MergedObject, Clone, Debug)]
pub struct Account(
    AccountEntry,
    AccountMobilityFields,
    AccountRemoteFields,
    AccountSyncFields,
    AccountPlaces,
    AccountAuditFields,
    AccountWebhookFields,
);

impl Account {
    /// The account a row shows; every part reads the same row.
    pub fn new(model: account::Model) -> Self {
        let row = Arc::new(model);
        Self(
            AccountEntry(row.clone()),
            AccountMobilityFields(row.clone()),
            AccountRemoteFields(row.clone()),
            AccountSyncFields(row.clone()),
            AccountPlaces(row.clone()),
            AccountAuditFields(row.clone()),
            AccountWebhookFields(row),
        )
    }

    /// Its global id: what [`Node`](crate::graphql::node::Node) asks of it.
    pub async fn id(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<async_graphql::ID> {
        self.0.id(ctx).await
    }

    /// The row the account shows.
    pub fn model(&self) -> &account::Model {
        &self.0.0
    }

    /// The fields a page the database builds can show ([`built`]), each as its resolver shows it.
    pub(crate) fn columns() -> [built::Column; 4] {
        use account::Column as A;
        use built::Column;
        [
            Column::id(Kind::Account, A::Id),
            Column::plain("name", A::Name),
            Column::plain("platform", A::Platform),
            Column::plain("extensionLength", A::ExtensionLength),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(crate) const NAMES: built::TypeNames = built::TypeNames {
        connection: "AccountConnection",
        node: "Account",
    };

    /// The page of `accounts` (the accounts `p` sees, matching `search`) that `plan` shows,
    /// built by the database: what the resolver and a direct answer
    /// ([`crate::graphql::direct`]) both run.
    pub(crate) async fn built_page(
        db: &sea_orm::DatabaseConnection,
        p: &crate::policy::Principal,
        search: Option<&str>,
        plan: &built::Plan,
        req: &crate::service::pagination::PageRequest,
    ) -> Result<async_graphql::Value, sea_orm::DbErr> {
        use crate::service::{directory, pagination::Total};
        let shape = directory::accounts_shape(p, search);
        let select = || directory::accounts_select(p, search);
        built::fetch(
            db,
            plan,
            &Self::columns(),
            &Self::NAMES,
            Some(&shape),
            select,
            req,
            Total::of,
        )
        .await
    }
}

impl From<account::Model> for Account {
    fn from(model: account::Model) -> Self {
        Self::new(model)
    }
}

connection!(
    AccountConnection,
    AccountEdge,
    Account,
    "A page of accounts.",
    "An account in a page."
);
