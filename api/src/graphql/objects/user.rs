//! `User`: a person on an account, assembled from its domains' parts, and its connection.

use std::sync::Arc;

use async_graphql::MergedObject;
use entity::user;

use crate::graphql::{
    built,
    connection::connection,
    directory::types::{UserEntry, UserStanding},
    ids::{self, Kind},
    mobility::types::UserMobilityFields,
    remote::types::UserRemoteFields,
};

mod prefetch;

pub use prefetch::{prefetch_users, user_with_selection};

// The parts are listed in the order the schema shows their fields: the directory entry, the
// user's Connect for Mobile record, the Remote Extension fields, then roles and dates.
/// A person on an account.
#[derive(MergedObject, Clone, Debug)]
pub struct User(UserEntry, UserMobilityFields, UserRemoteFields, UserStanding);

impl User {
    /// The user a row shows; every part reads the same row.
    pub fn new(model: user::Model) -> Self {
        let row = Arc::new(model);
        Self(
            UserEntry(row.clone()),
            UserMobilityFields(row.clone()),
            UserRemoteFields(row.clone()),
            UserStanding(row),
        )
    }

    /// Its global id: what [`Node`](crate::graphql::node::Node) asks of it.
    pub async fn id(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<async_graphql::ID> {
        self.0.id(ctx).await
    }

    /// The row the user shows.
    pub fn model(&self) -> &user::Model {
        &self.0.0
    }

    /// The fields a page the database builds can show ([`built`]), each as its resolver shows it.
    pub(crate) fn columns() -> [built::Column; 6] {
        use built::Column;
        use user::Column as U;
        [
            Column::id(Kind::User, U::Id),
            Column::plain("name", U::Name),
            Column::plain("email", U::Email),
            Column::plain("phoneNumber", U::PhoneNumber),
            Column::plain("extension", U::Extension),
            Column::plain("phoneProfile", U::PhoneProfile),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(crate) const NAMES: built::TypeNames = built::TypeNames {
        connection: "UserConnection",
        node: "User",
    };
}

/// The fields a bulk mutation's list writes straight as JSON ([`built::Listed`]), each as its
/// resolver (`UserEntry`'s) answers.
impl built::Writes for User {
    const FIELDS: &'static [&'static str] = &["id", "name", "email", "phoneNumber", "extension"];

    fn write(&self, field: usize, out: &mut String) {
        let user = self.model();
        match field {
            0 => built::write_text(&ids::encode(Kind::User, user.id), out),
            1 => built::write_text(&user.name, out),
            2 => built::write_opt_text(user.email.as_deref(), out),
            3 => built::write_opt_text(user.phone_number.as_deref(), out),
            _ => built::write_text(&user.extension, out),
        }
    }
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self::new(model)
    }
}

connection!(UserConnection, UserEdge, User, "A page of users.", "A user in a page.");
