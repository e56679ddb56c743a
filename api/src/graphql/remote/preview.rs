//! `routingPreview` (issue 21 §4): "if someone calls this user at that moment, what rings, in
//! what order, and which number does the user call out with?" — computed from the stored state,
//! writing nothing.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::{ActiveStatusReason, CallTarget, CallThroughInactiveReason, DynamicStatus, UserNumber};
use crate::{
    codes::Code,
    graphql::{
        args::{IdArg, SearchText},
        common::loader::RequestLoader,
        context,
        directory::loaders::UserKey,
        errors::{self, coded},
        ids::{self, Kind},
        objects::User,
        remote::loaders::{NumbersOfUser, RemoteOfUser, StatusesOfUser},
    },
    service::remote::schedule::preview::{self, Preview, Refused},
    state::AppState,
};

/// One step of the ring plan.
#[derive(SimpleObject, Clone, Debug)]
pub struct RingStep {
    /// What rings.
    pub target: CallTarget,
    /// Seconds after the call arrives that it starts ringing (a remote extension's delay).
    pub starts_after_seconds: i32,
    /// An answer sooner than this (ms) is taken for the phone's own voicemail; remote extensions
    /// only.
    pub answer_too_soon_ms: Option<i32>,
    /// Ringing stops after this (ms; 0: never); remote extensions only.
    pub answer_too_late_ms: Option<i32>,
    /// Whoever answers must press a key before the call connects; remote extensions only.
    pub require_keypress: Option<bool>,
}

/// What rings for a call to the user, and where it goes next.
#[derive(SimpleObject, Clone, Debug)]
pub struct IncomingRouting {
    /// The ring plan, in the order its steps start (steps that start together ring together).
    pub ring: Vec<RingStep>,
    /// Where the call goes when the user is busy.
    pub when_busy: Option<CallTarget>,
    /// Where the call goes when nobody answers.
    pub if_no_answer: Option<CallTarget>,
}

/// How the user calls out.
#[derive(SimpleObject, Clone, Debug)]
pub struct OutgoingRouting {
    /// The phone that places the user's calls.
    pub call_using: Option<CallTarget>,
    /// The number a call out goes through with call through (R11): a `NUMBER` `callUsing`,
    /// else the status's remote extension; null when there is none.
    pub call_through_number: Option<UserNumber>,
    /// Whether call through is in effect on it then.
    pub call_through_effective: bool,
    /// Why not; null when it is, or when there is no such number.
    pub call_through_inactive_reason: Option<CallThroughInactiveReason>,
}

/// What would happen to the user's calls at a moment.
pub struct RoutingPreview {
    found: Preview,
    caller_number: Option<String>,
}

/// What would happen to the user's calls at a moment: computed from the stored state (no
/// writes, no events).
#[Object]
impl RoutingPreview {
    /// The user.
    async fn user(&self) -> User {
        User::new(self.found.user.clone())
    }

    /// The moment previewed (now, when the question named an earlier one).
    async fn at(&self) -> DateTime<Utc> {
        self.found.at
    }

    /// The status active then: the user's schedule's at that moment, or the one active now when
    /// no boundary lies between now and then. Null for a user without statuses.
    async fn status(&self) -> Option<DynamicStatus> {
        self.found.status.clone().map(DynamicStatus)
    }

    /// Why that status: `SCHEDULE` (a rule covers the moment), `DEFAULT` (the schedule's
    /// fallback, or the status a user starts with) or `MANUAL` (chosen by hand and held, since no
    /// boundary comes before the moment).
    async fn reason(&self) -> Option<ActiveStatusReason> {
        self.found.reason.map(Into::into)
    }

    /// Calls to the user.
    async fn incoming(&self) -> IncomingRouting {
        let f = &self.found;
        let user_id = f.user.id;
        let ring = (f.ring.iter())
            .map(|step| {
                let re = step.number.as_ref().filter(|n| n.is_remote_extension);
                RingStep {
                    target: CallTarget::new(user_id, step.kind, step.number.as_ref().map(|n| n.id)),
                    starts_after_seconds: step.starts_after_seconds,
                    answer_too_soon_ms: re.map(|n| n.answer_too_soon_ms),
                    answer_too_late_ms: re.map(|n| n.answer_too_late_ms),
                    require_keypress: re.map(|n| n.require_keypress),
                }
            })
            .collect();
        IncomingRouting {
            ring,
            when_busy: (f.status.as_ref()).map(|s| CallTarget::new(user_id, s.when_busy_kind, s.when_busy_number_id)),
            if_no_answer: (f.status.as_ref())
                .map(|s| CallTarget::new(user_id, s.if_no_answer_kind, s.if_no_answer_number_id)),
        }
    }

    /// Calls the user makes.
    async fn outgoing(&self) -> OutgoingRouting {
        let f = &self.found;
        OutgoingRouting {
            call_using: (f.status.as_ref())
                .map(|s| CallTarget::new(f.user.id, s.call_using_kind, s.call_using_number_id)),
            call_through_number: f.call_through_number.clone().map(UserNumber),
            call_through_effective: f.call_through_number.is_some() && f.call_through_inactive.is_none(),
            call_through_inactive_reason: f.call_through_inactive.map(Into::into),
        }
    }

    /// The caller's number the question named, if any.
    async fn caller_number(&self) -> Option<&str> {
        self.caller_number.as_deref()
    }

    /// Whether anything of the plan depends on who calls. Nothing does today: every caller gets
    /// the same plan. The field is here so that caller rules can come without breaking clients.
    async fn depends_on_caller(&self) -> bool {
        false
    }
}

/// The preview query.
#[derive(Default)]
pub struct PreviewQuery;

#[Object]
impl PreviewQuery {
    /// What would happen to a user's calls at a moment (issue 21 §4): the status then and why,
    /// what rings in what order with each step's timers, the diversions, and how the user calls
    /// out. Readable by the user and by administrators covering them (others: `FORBIDDEN`;
    /// unknown or another tenant's user: `NOT_FOUND`). Three SQL statements, no writes.
    async fn routing_preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user (a `User` id); left out, the caller.")] user_id: Option<IdArg>,
        #[graphql(desc = "The moment; left out (or earlier than now), now.")] at: Option<DateTime<Utc>>,
        #[graphql(desc = "Who calls (up to 32 characters). Nothing depends on it today.")] caller_number: Option<
            SearchText,
        >,
    ) -> Result<RoutingPreview> {
        let p = context::principal(ctx)?;
        let not_found = || coded(Code::NotFound, "no such user");
        let user_id = match &user_id {
            Some(id) => ids::decode_as(id, Kind::User).ok_or_else(not_found)?,
            None => (p.user().map(|u| u.user_id))
                .ok_or_else(|| coded(Code::BadRequest, "a Support token must name the user (`userId`)"))?,
        };
        let caller_number = caller_number.map(|c| c.as_str().to_owned());
        if caller_number.as_ref().is_some_and(|c| c.chars().count() > 32) {
            return Err(coded(Code::BadRequest, "callerNumber is at most 32 characters"));
        }
        let now = ctx.data::<AppState>()?.clock.now();
        let found = preview::preview(context::db(ctx)?, p, user_id, at.unwrap_or(now), now)
            .await
            .map_err(errors::service)?;
        match found {
            Ok(found) => {
                // What the preview read, for the fields under it (a target's number, a status's
                // flags) to find without another statement.
                let loader = ctx.data::<RequestLoader>()?;
                let user = found.user.id;
                loader.feed_one(NumbersOfUser(user), found.numbers.clone()).await;
                loader.feed_one(StatusesOfUser(user), found.statuses.clone()).await;
                if let Some(remote) = &found.remote {
                    loader.feed_one(RemoteOfUser(user), remote.clone()).await;
                }
                loader.feed_one(UserKey(user), found.user.clone()).await;
                Ok(RoutingPreview { found, caller_number })
            }
            Err(Refused::NotFound) => Err(not_found()),
            Err(Refused::Forbidden) => Err(coded(
                Code::Forbidden,
                "only the user themself or an administrator covering them may preview their routing",
            )),
        }
    }
}
