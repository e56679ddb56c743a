//! `DynamicStatus`: a presence and where calls go while it is active, and its `CallTarget`s.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::dynamic_status;
use sea_orm::{EntityName, IdenStatic};
use uuid::Uuid;

use super::{Presence, StatusOrigin, TargetKind, UserNumber, load_user, numbers_of, user_remote};
use crate::graphql::{
    built,
    common::actor::Actor,
    ids::{self, Kind},
    objects::User,
};

/// Where one routing field of a status points.
#[derive(Clone, Debug)]
pub struct CallTarget {
    user_id: Uuid,
    kind: entity::TargetKind,
    number_id: Option<Uuid>,
}

impl CallTarget {
    /// A target of user `user_id`'s: `kind`, and the number for `NUMBER`.
    pub(crate) fn new(user_id: Uuid, kind: entity::TargetKind, number_id: Option<Uuid>) -> Self {
        Self {
            user_id,
            kind,
            number_id,
        }
    }
}

/// Where one routing field of a status points.
#[Object]
impl CallTarget {
    /// The kind of target.
    async fn kind(&self) -> TargetKind {
        self.kind.into()
    }

    /// The number, when `kind` is `NUMBER`.
    async fn number(&self, ctx: &Context<'_>) -> Result<Option<UserNumber>> {
        let Some(id) = self.number_id else {
            return Ok(None);
        };
        Ok(numbers_of(ctx, self.user_id)
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .map(UserNumber))
    }
}

/// A dynamic status: a presence and where calls go while it is active.
#[derive(Clone, Debug)]
pub struct DynamicStatus(pub dynamic_status::Model);

impl DynamicStatus {
    /// The fields a built list of statuses shows (`built::Column`): those stored as shown.
    pub(crate) fn columns() -> [built::Column; 5] {
        use built::Column;
        use dynamic_status::Column as S;
        [
            Column::id(Kind::DynamicStatus, S::Id),
            Column::plain("name", S::Name),
            Column::plain("presence", S::Presence),
            Column::plain("message", S::Message),
            Column::plain("origin", S::Origin),
        ]
    }

    /// Its GraphQL name.
    pub(crate) const NAME: &str = "DynamicStatus";

    /// The list of `user`'s statuses that `plan` shows, built by the database, oldest first
    /// (UUIDv7 ids) as they are read for a list of users: what the resolver and a direct answer
    /// ([`crate::graphql::direct`]) both run.
    pub(crate) async fn built_list(
        db: &sea_orm::DatabaseConnection,
        user: Uuid,
        plan: &built::ListPlan,
    ) -> Result<async_graphql::Value, sea_orm::DbErr> {
        let rows = built::Rows {
            table: dynamic_status::Entity.table_name(),
            key: dynamic_status::Column::UserId.as_str(),
            value: user.into(),
            order: dynamic_status::Column::Id.as_str(),
        };
        built::fetch_list(db, plan, &Self::columns(), Self::NAME, rows).await
    }

    fn target(&self, kind: entity::TargetKind, number_id: Option<Uuid>) -> CallTarget {
        CallTarget {
            user_id: self.0.user_id,
            kind,
            number_id,
        }
    }
}

/// A dynamic status: a presence and where calls go while it is active.
#[Object]
impl DynamicStatus {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::DynamicStatus, self.0.id)
    }

    /// The user the status belongs to.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.user_id).await
    }

    /// Name (1–64 characters, unique per user ignoring case).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The presence colleagues see.
    async fn presence(&self) -> Presence {
        self.0.presence.into()
    }

    /// A message shown with the presence.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }

    /// Who built it.
    async fn origin(&self) -> StatusOrigin {
        self.0.origin.into()
    }

    /// The remote extension the status calls and rings with (R7); while the status is active it
    /// is the user's active remote extension.
    async fn remote_extension(&self, ctx: &Context<'_>) -> Result<Option<UserNumber>> {
        self.target(entity::TargetKind::Number, self.0.remote_extension_id)
            .number(ctx)
            .await
    }

    /// The phone that places the user's calls.
    async fn call_using(&self) -> CallTarget {
        self.target(self.0.call_using_kind, self.0.call_using_number_id)
    }

    /// Where the user's calls ring.
    async fn send_calls_to(&self) -> CallTarget {
        self.target(self.0.send_calls_to_kind, self.0.send_calls_to_number_id)
    }

    /// Where calls go when the user is busy.
    async fn when_busy(&self) -> CallTarget {
        self.target(self.0.when_busy_kind, self.0.when_busy_number_id)
    }

    /// Where calls go when the user does not answer.
    async fn if_no_answer(&self) -> CallTarget {
        self.target(self.0.if_no_answer_kind, self.0.if_no_answer_number_id)
    }

    /// When the schedule makes this status the active one; null when it is not scheduled.
    async fn schedule(&self) -> Option<super::StatusSchedule> {
        super::StatusSchedule::of(self.0.schedule.as_deref())
    }

    /// Whether this is the user's active status (R9).
    async fn is_active(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(user_remote(ctx, self.0.user_id).await?.active == Some(self.0.id))
    }

    /// Whether the caller may change or delete it (R10): the user's own statuses, or any for an
    /// administrator covering the user.
    async fn editable(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.0.origin == entity::StatusOrigin::User || user_remote(ctx, self.0.user_id).await?.caller_is_admin)
    }

    /// Changes with every update; give it back as `expectedVersion` to refuse lost updates.
    async fn version(&self) -> i64 {
        self.0.version
    }

    /// When it was built.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who built it.
    async fn created_by(&self) -> Actor {
        Actor(self.0.created_by.clone())
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
