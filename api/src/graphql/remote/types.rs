//! Output types of Remote Extension, built from entity rows. What a number or status shows
//! about the rest of its user (locks, call through, the active status) comes from the user's
//! rows loaded once per request and batched over a page of users.

use async_graphql::{Context, Enum, ID, Object, QueryPathSegment, Result};
use chrono::{DateTime, Utc};
use entity::{Platform, client_profile, dynamic_status, user, user_number};
use uuid::Uuid;

use super::loaders::{NumbersOfUser, ProfileKey, RemoteOfUser, StatusesOfUser};
use crate::{
    graphql::{
        built::{self, Paged},
        connection::{self, connection},
        context,
        directory::{
            loaders::{AccountKey, RequestLoader, UserKey, load_err},
            types::User,
        },
        ids::{self, Kind},
        mobility::types::Actor,
    },
    policy::Access,
    service::{directory, pagination, remote},
};

/// Who put a number on the user's list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::NumberOrigin")]
pub enum NumberOrigin {
    /// The user added it.
    User,
    /// An administrator provisioned it.
    Admin,
    /// The phone platform's sync provisioned it.
    Platform,
}

/// Who built a status.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::StatusOrigin")]
pub enum StatusOrigin {
    /// The user built it; they may change and delete it.
    User,
    /// An administrator built it (the defaults among them); read-only for the user.
    Admin,
}

/// The presence a status shows to colleagues.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::Presence")]
pub enum Presence {
    /// Available.
    Available,
    /// Busy.
    Busy,
    /// Away.
    Away,
    /// Do not disturb.
    DoNotDisturb,
    /// In a meeting.
    InAMeeting,
    /// Out of office.
    OutOfOffice,
}

/// Where a routing field points. Which kinds fit which field is in the README (Behaviour).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::TargetKind")]
pub enum TargetKind {
    /// The user's desk phone.
    DeskPhone,
    /// The softphone (the mobile or desktop app).
    Softphone,
    /// Every device of the user at once (`sendCallsTo` only).
    AllDevices,
    /// Voicemail.
    Voicemail,
    /// Whatever the PBX does by default.
    PbxDefault,
    /// No diversion: calls keep ringing or get busy tone (`whenBusy`, `ifNoAnswer`).
    NoDiversion,
    /// One of the user's own numbers (`callUsing`: a remote extension).
    Number,
}

/// Why a number's `number` and `isRemoteExtension` cannot change (R5).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::remote::LockReason")]
pub enum LockReason {
    /// An administrator or the platform provisioned it.
    Provisioned,
    /// One of the user's statuses uses it.
    UsedByStatus,
    /// It is the active remote extension.
    ActiveRemoteExtension,
}

/// Why call through is not in effect on a number (R11); the first that applies is given.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "crate::service::remote::CallThroughInactive")]
pub enum CallThroughInactiveReason {
    /// The number is not a remote extension.
    NotRemoteExtension,
    /// Call through is switched off on the number.
    Disabled,
    /// The user's client profile does not allow call through.
    NotAllowedByProfile,
    /// The number is not the active remote extension.
    NotInActiveStatus,
}

fn loader<'a>(ctx: &Context<'a>) -> Result<&'a RequestLoader> {
    ctx.data::<RequestLoader>()
}

/// What the fields of a user's numbers and statuses need to know about the user: their
/// statuses, active status and profile — the same for every row of the user, loaded once.
pub(crate) struct UserRemote {
    /// The user's statuses, oldest first.
    pub statuses: Vec<dynamic_status::Model>,
    /// The active status.
    pub active: Option<Uuid>,
    /// The user's client profile (null when the account is not on MX-ONE).
    pub profile: Option<client_profile::Model>,
    /// Whether the caller administers the user (R12).
    pub caller_is_admin: bool,
}

impl UserRemote {
    /// The active remote extension (R9).
    pub fn active_remote_extension(&self) -> Option<Uuid> {
        remote::active_remote_extension(&self.statuses, self.active)
    }
}

/// Whether the user's account runs on MX-ONE (Remote Extension applies).
async fn on_mx_one(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
    let account = loader(ctx)?
        .load_one(AccountKey(user.account_id))
        .await
        .map_err(load_err)?;
    Ok(account.is_some_and(|a| a.platform == Platform::MxOne))
}

/// Loads what [`UserRemote`] holds for `user_id`.
pub(crate) async fn user_remote(ctx: &Context<'_>, user_id: Uuid) -> Result<UserRemote> {
    let loader = loader(ctx)?;
    let user = loader.load_one(UserKey(user_id)).await.map_err(load_err)?;
    let Some(user) = user else {
        return Ok(UserRemote {
            statuses: Vec::new(),
            active: None,
            profile: None,
            caller_is_admin: false,
        });
    };
    let (statuses, record) = futures::try_join!(
        loader.load_one(StatusesOfUser(user_id)),
        loader.load_one(RemoteOfUser(user_id)),
    )
    .map_err(load_err)?;
    let profile = if on_mx_one(ctx, &user).await? {
        let id = remote::profile_id(record.as_ref(), user.account_id);
        loader.load_one(ProfileKey(id)).await.map_err(load_err)?
    } else {
        None
    };
    let p = context::principal(ctx)?;
    Ok(UserRemote {
        statuses: statuses.unwrap_or_default(),
        active: record.and_then(|r| r.active_status_id),
        profile,
        caller_is_admin: p.admin_on_user(directory::scope(&user)) == Access::Allowed,
    })
}

/// A user's numbers, oldest first.
pub(crate) async fn numbers_of(ctx: &Context<'_>, user_id: Uuid) -> Result<Vec<user_number::Model>> {
    Ok(loader(ctx)?
        .load_one(NumbersOfUser(user_id))
        .await
        .map_err(load_err)?
        .unwrap_or_default())
}

async fn load_user(ctx: &Context<'_>, user_id: Uuid) -> Result<Option<User>> {
    Ok(loader(ctx)?
        .load_one(UserKey(user_id))
        .await
        .map_err(load_err)?
        .map(User))
}

connection!(
    UserNumberConnection,
    UserNumberEdge,
    UserNumber,
    "A page of a user's numbers, oldest first.",
    "A number in a page."
);

/// The `User` fields of Remote Extension; `User` delegates to these.
pub(crate) mod user_fields {
    use super::*;

    /// `User.numbers`. For a page of users the whole list is small (at most 100) and loaded in
    /// one batch for the page, then paged in memory. For a user resolved alone (`me`, say) whose
    /// numbers were not loaded already, a selection of what the numbers' columns hold is built
    /// by the database in one statement ([`built`](crate::graphql::built)).
    pub async fn numbers(
        ctx: &Context<'_>,
        user: &user::Model,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Paged<UserNumberConnection>> {
        let req = connection::page_request(first, after, last, before)?;
        if alone(ctx)
            && !loader(ctx)?
                .get_cached_values::<NumbersOfUser>()
                .contains_key(&NumbersOfUser(user.id))
        {
            let select = remote::numbers_select(user.id);
            let built = connection::built(ctx, &UserNumber::columns(), &UserNumber::NAMES, &select, &req).await?;
            if let Some(built) = built {
                return Ok(Paged::Built(built));
            }
        }
        let rows = numbers_of(ctx, user.id).await?;
        let total = rows.len() as u64;
        let page = pagination::page_in_memory(rows, |n| n.id, &req);
        Ok(Paged::Resolved(UserNumberConnection::from_page(
            page,
            Some(total),
            UserNumber,
        )))
    }

    /// Whether the field `ctx` resolves belongs to an object resolved alone, not to an item of a
    /// list (whose numbers are loaded for the whole list at once).
    fn alone(ctx: &Context<'_>) -> bool {
        ctx.path_node
            .is_none_or(|node| node.parents().all(|p| !matches!(p.segment, QueryPathSegment::Index(_))))
    }

    /// `User.dynamicStatuses`: the list alone (its items read the rest of [`UserRemote`] when
    /// they ask whether they are active or editable).
    pub async fn dynamic_statuses(ctx: &Context<'_>, user: &user::Model) -> Result<Vec<DynamicStatus>> {
        let statuses = loader(ctx)?
            .load_one(StatusesOfUser(user.id))
            .await
            .map_err(load_err)?
            .unwrap_or_default();
        Ok(statuses.into_iter().map(DynamicStatus).collect())
    }

    /// `User.activeStatus`.
    pub async fn active_status(ctx: &Context<'_>, user: &user::Model) -> Result<Option<DynamicStatus>> {
        let r = user_remote(ctx, user.id).await?;
        let active = r.active;
        Ok(r.statuses.into_iter().find(|s| Some(s.id) == active).map(DynamicStatus))
    }

    /// `User.activeRemoteExtension`.
    pub async fn active_remote_extension(ctx: &Context<'_>, user: &user::Model) -> Result<Option<UserNumber>> {
        let Some(id) = user_remote(ctx, user.id).await?.active_remote_extension() else {
            return Ok(None);
        };
        Ok(numbers_of(ctx, user.id)
            .await?
            .into_iter()
            .find(|n| n.id == id)
            .map(UserNumber))
    }

    /// `User.canAddRemoteExtension`: for the user themself, R2 (what their own
    /// `userNumberCreate` would answer); for an administrator covering another user, always.
    pub async fn can_add_remote_extension(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
        if !on_mx_one(ctx, user).await? {
            return Ok(false);
        }
        let is_self = context::principal(ctx)?.user().is_some_and(|u| u.user_id == user.id);
        if !is_self {
            return Ok(user_remote(ctx, user.id).await?.caller_is_admin);
        }
        Ok(remote::can_add_remote_extension(&numbers_of(ctx, user.id).await?))
    }

    /// `User.canAddStatus` (R10): the client profile allows it, or the caller administers the
    /// user.
    pub async fn can_add_status(ctx: &Context<'_>, user: &user::Model) -> Result<bool> {
        let r = user_remote(ctx, user.id).await?;
        Ok(r.profile.is_some_and(|p| p.allow_users_add_status || r.caller_is_admin))
    }

    /// `User.clientProfile`.
    pub async fn client_profile(ctx: &Context<'_>, user: &user::Model) -> Result<Option<ClientProfile>> {
        Ok(user_remote(ctx, user.id).await?.profile.map(ClientProfile))
    }
}

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

/// Where one routing field of a status points.
#[derive(Clone, Debug)]
pub struct CallTarget {
    user_id: Uuid,
    kind: entity::TargetKind,
    number_id: Option<Uuid>,
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

/// What the apps let a user do. Every MX-ONE account has a default profile (both allowed);
/// users without another get it.
#[derive(Clone, Debug)]
pub struct ClientProfile(pub client_profile::Model);

/// What the apps let a user do. Every MX-ONE account has a default profile (both allowed);
/// users without another get it.
#[Object]
impl ClientProfile {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::ClientProfile, self.0.id)
    }

    /// Name (1–64 characters, unique in the account ignoring case).
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether this is the account's default profile.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Users may add statuses of their own (R10).
    async fn allow_users_add_status(&self) -> bool {
        self.0.allow_users_add_status
    }

    /// Users may switch call through on (R11).
    async fn call_through_allowed(&self) -> bool {
        self.0.call_through_allowed
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// `Account.clientProfiles`: the default first, then by name; empty off MX-ONE.
pub(crate) async fn profiles_of_account(
    ctx: &Context<'_>,
    account: &entity::account::Model,
) -> Result<Vec<ClientProfile>> {
    if account.platform != Platform::MxOne {
        return Ok(Vec::new());
    }
    let rows = remote::profiles_of_account(context::db(ctx)?, account.id)
        .await
        .map_err(crate::graphql::errors::db)?;
    Ok(rows.into_iter().map(ClientProfile).collect())
}
