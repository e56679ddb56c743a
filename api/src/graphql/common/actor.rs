//! Who did something, as every domain shows it: [`Actor`] (an event's or a record's author)
//! and [`PrincipalKind`].

use async_graphql::{Context, Enum, Object, Result};
use uuid::Uuid;

use crate::{
    graphql::{
        context,
        directory::loaders::{UserKey, load_err},
        objects::User,
    },
    service::directory,
};

/// What kind of principal a token stands for.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// Support staff of the service provider.
    Support,
    /// A user of an account.
    User,
}

/// Who did something: Support staff or a user.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

impl Actor {
    /// The user behind the actor, if a user it is.
    pub(crate) fn user_id(&self) -> Option<Uuid> {
        self.0.strip_prefix("user:").and_then(|id| Uuid::parse_str(id).ok())
    }
}

/// Who did something: Support staff or a user of the account.
#[Object]
impl Actor {
    /// Support or a user.
    async fn kind(&self) -> PrincipalKind {
        if self.0.starts_with("support:") {
            PrincipalKind::Support
        } else {
            PrincipalKind::User
        }
    }

    /// The Support name, or the user's name where the caller may see the user (else
    /// "an administrator").
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        if let Some(name) = self.0.strip_prefix("support:") {
            return Ok(name.to_owned());
        }
        Ok(self
            .user(ctx)
            .await?
            .map_or_else(|| "an administrator".to_owned(), |u| u.model().name.clone()))
    }

    /// The user, where it is one the caller may see.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.user_id() else {
            return Ok(None);
        };
        let p = context::principal(ctx)?;
        Ok(ctx
            .data::<crate::graphql::common::loader::RequestLoader>()?
            .load_one(UserKey(id))
            .await
            .map_err(load_err)?
            .filter(|u| p.sees_user(directory::scope(u)))
            .map(User::new))
    }
}
