//! `RoleAssignment`: a role held by a user.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::role_assignment;

use super::{Location, Role, load_location, loader};
use crate::codes::Code;
use crate::graphql::objects::User;
use crate::graphql::{
    directory::loaders::{UserKey, load_err},
    errors,
    ids::{self, Kind},
};

/// A role held by a user.
#[derive(Clone, Debug)]
pub struct RoleAssignment(pub role_assignment::Model);

/// A role held by a user.
#[Object]
impl RoleAssignment {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::RoleAssignment, self.0.id)
    }

    /// The role.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// The location the role is limited to; null for account-wide.
    async fn location(&self, ctx: &Context<'_>) -> Result<Option<Location>> {
        load_location(ctx, self.0.location_id).await
    }

    /// The user holding it.
    async fn user(&self, ctx: &Context<'_>) -> Result<User> {
        loader(ctx)?
            .load_one(UserKey(self.0.user_id))
            .await
            .map_err(load_err)?
            .map(User::new)
            .ok_or_else(|| errors::coded(Code::Internal, "internal error"))
    }

    /// When it was granted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
