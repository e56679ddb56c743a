//! `UserNumber`: one of a user's phone numbers ("My Numbers"), and its connection.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::user_number;

use super::{CallThroughInactiveReason, LockReason, NumberOrigin, load_user, user_remote};
use crate::{
    graphql::{
        built,
        common::actor::Actor,
        connection::connection,
        ids::{self, Kind},
        objects::User,
    },
    service::remote,
};

connection!(
    UserNumberConnection,
    UserNumberEdge,
    UserNumber,
    "A page of a user's numbers, oldest first.",
    "A number in a page."
);
/// One of a user's phone numbers ("My Numbers"); a remote extension when flagged.
#[derive(Clone, Debug)]
pub struct UserNumber(pub user_number::Model);

impl UserNumber {
    /// The fields a built page of numbers shows (`built::Column`).
    pub(crate) fn columns() -> [built::Column; 3] {
        use built::Column;
        use user_number::Column as N;
        [
            Column::id(Kind::UserNumber, N::Id),
            Column::plain("label", N::Label),
            Column::plain("number", N::Number),
        ]
    }

    /// Its connection's and its own GraphQL names.
    pub(crate) const NAMES: built::TypeNames = built::TypeNames {
        connection: "UserNumberConnection",
        node: "UserNumber",
    };

    /// The page of `user`'s numbers that `plan` shows, built by the database: what the
    /// resolver and a direct answer ([`crate::graphql::direct`]) both run.
    pub(crate) async fn built_page(
        db: &sea_orm::DatabaseConnection,
        user: uuid::Uuid,
        plan: &built::Plan,
        req: &crate::service::pagination::PageRequest,
    ) -> Result<async_graphql::Value, sea_orm::DbErr> {
        let shape = remote::numbers_shape(user);
        let select = || remote::numbers_select(user);
        let total = crate::service::pagination::Total::of;
        built::fetch(
            db,
            plan,
            &Self::columns(),
            &Self::NAMES,
            Some(&shape),
            select,
            req,
            total,
        )
        .await
    }
}

/// One of a user's phone numbers ("My Numbers"); a remote extension when flagged.
#[Object]
impl UserNumber {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::UserNumber, self.0.id)
    }

    /// The user the number belongs to.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        load_user(ctx, self.0.user_id).await
    }

    /// The user's name for it (1–64 characters, unique per user ignoring case).
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// The number, exactly as given.
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// Whether the PBX treats it as one of the user's own phones (R3, R4).
    async fn is_remote_extension(&self) -> bool {
        self.0.is_remote_extension
    }

    /// Who put it on the list.
    async fn origin(&self) -> NumberOrigin {
        self.0.origin.into()
    }

    /// Whether call through is switched on (R11); see `callThroughEffective`.
    async fn call_through(&self) -> bool {
        self.0.call_through
    }

    /// Whether call through is in effect now: switched on, allowed by the client profile, and
    /// the number is the active remote extension (R11).
    async fn call_through_effective(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.call_through_inactive_reason(ctx).await?.is_none())
    }

    /// Why call through is not in effect; null when it is.
    async fn call_through_inactive_reason(&self, ctx: &Context<'_>) -> Result<Option<CallThroughInactiveReason>> {
        let r = user_remote(ctx, self.0.user_id).await?;
        let allows = r.profile.as_ref().is_some_and(|p| p.call_through_allowed);
        Ok(remote::call_through_inactive(&self.0, allows, r.active_remote_extension()).map(Into::into))
    }

    /// Whether `number` and `isRemoteExtension` are locked (R5); `lockReasons` says why.
    async fn locked(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(!self.lock_reasons(ctx).await?.is_empty())
    }

    /// Why the number is locked; empty when it is not.
    async fn lock_reasons(&self, ctx: &Context<'_>) -> Result<Vec<LockReason>> {
        let r = user_remote(ctx, self.0.user_id).await?;
        let reasons = remote::lock_reasons(&self.0, &r.statuses, r.active_remote_extension());
        Ok(reasons.into_iter().map(Into::into).collect())
    }

    /// Whether the caller may delete it now (R6).
    async fn deletable(&self, ctx: &Context<'_>) -> Result<bool> {
        let r = user_remote(ctx, self.0.user_id).await?;
        let reasons = remote::lock_reasons(&self.0, &r.statuses, r.active_remote_extension());
        Ok(remote::deletable(&self.0, &reasons, r.caller_is_admin))
    }

    /// Seconds the platform waits before ringing this remote extension, so a desk phone or the
    /// app can answer first (0–30; default 0). Null unless it is a remote extension.
    async fn ring_delay_seconds(&self) -> Option<i32> {
        self.0.is_remote_extension.then_some(self.0.ring_delay_seconds)
    }

    /// An answer sooner than this many milliseconds after it starts ringing is taken for the
    /// mobile's own voicemail, not the user, and the call goes on ringing elsewhere (0–10,000;
    /// default 1,500). Null unless it is a remote extension.
    async fn answer_too_soon_ms(&self) -> Option<i32> {
        self.0.is_remote_extension.then_some(self.0.answer_too_soon_ms)
    }

    /// The platform stops ringing this remote extension after this many milliseconds, before
    /// the mobile's voicemail would answer (0: never; else above `answerTooSoonMs` and at most
    /// 300,000; default 19,000). Null unless it is a remote extension.
    async fn answer_too_late_ms(&self) -> Option<i32> {
        self.0.is_remote_extension.then_some(self.0.answer_too_late_ms)
    }

    /// Whoever answers must press a key before the call connects, which no voicemail does
    /// (default false). Null unless it is a remote extension.
    async fn require_keypress(&self) -> Option<bool> {
        self.0.is_remote_extension.then_some(self.0.require_keypress)
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Who added it.
    async fn created_by(&self) -> Actor {
        Actor(self.0.created_by.clone())
    }

    /// Whether the communication platform holds it (imported from it, or sent to it and taken).
    async fn on_platform(&self) -> bool {
        self.0.platform_id.is_some() && self.0.platform_missing_since.is_none()
    }

    /// Since when a platform number is gone from the platform while a status still uses it: kept
    /// and flagged by the sync (SPEC E3) until no status uses it; null otherwise.
    async fn missing_on_platform_since(&self) -> Option<DateTime<Utc>> {
        self.0.platform_missing_since
    }

    /// Why the platform refused to take this user-created remote extension; null once it has
    /// it (every sync run tries again).
    async fn platform_error(&self) -> Option<&str> {
        self.0.platform_error.as_deref()
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
