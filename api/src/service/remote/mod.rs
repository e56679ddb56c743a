//! Remote Extension (SPEC §4, accounts on MX-ONE): a user's numbers ("My Numbers", R2–R6, R11,
//! R12), dynamic statuses (R7–R10), the active status and client profiles.
//!
//! Every write to a user's numbers or statuses first locks the user's `remote_user` row
//! (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` serialises writers anyway), so the
//! checks that read the user's other rows (in use, locked, active) see what the write commits
//! against. The rules that span users (R4) are unique constraints, and a lost race ends in the
//! same typed error as the pre-check.

mod numbers;
mod owner;
mod profiles;
mod reads;
pub mod schedule;
mod statuses;
pub mod targets;

use chrono::Utc;
use entity::{ActiveReason, Platform, StatusOrigin, account, dynamic_status, remote_user, user};
use sea_orm::{ActiveEnum, ActiveModelTrait, ConnectionTrait, EntityTrait, QuerySelect, Set, sea_query::OnConflict};
use serde_json::json;
use uuid::Uuid;

pub use crate::config::remote::{RemoteSettings, StatusTemplate};
pub use numbers::{
    NumberChanges, NumberInput, RingingChanges, create_number, delete_number, provision_platform_number, update_number,
};
pub(crate) use numbers::{Ringing, number_changed, number_created, number_deleted, number_updated};
pub(crate) use owner::{Owner, open_for_create};
pub use profiles::{ProfileInput, assign_profile, create_default_profile, create_profile, update_profile};
pub use reads::*;
pub use statuses::{StatusChanges, StatusInput, activate_status, create_status, delete_status, update_status};

use crate::{
    policy::{Access, Only, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult, bulk,
        directory::scope,
        error::{forbidden, not_found},
        outbox::{self, Entry, Event, ev},
    },
};

/// Most numbers one user may have.
pub const MAX_NUMBERS: usize = 100;
/// Most statuses one user may have.
pub const MAX_STATUSES: usize = entity::dynamic_status::MAX_PER_USER;

/// Who may act on a user's numbers and statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Actor {
    /// The user themself, or an admin covering them (R12).
    SelfOrAdmin,
    /// Only an admin covering the user.
    Admin,
}

/// A user opened for a Remote Extension write: their account, directory row and locked record.
pub(crate) struct Opened {
    pub(crate) account: account::Model,
    pub(crate) user: user::Model,
    pub(crate) remote: remote_user::Model,
    /// Whether the caller is the user themself.
    pub(crate) is_self: bool,
}

/// Opens a user for a write inside `txn`: the user must be known to the caller (T1, and a plain
/// user knows only themself), the caller must be allowed (`who`), the account must run on MX-ONE
/// (R1), and the user's record is created when missing (with the default statuses) and locked.
/// `what` is the object the caller named (an unknown one is "no such {what}"), and `action` what
/// a refusal says only others may do ("only … may {action}").
pub(crate) async fn open_user(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<Uuid>,
    field: &[&str],
    who: Actor,
    (what, action): (&str, &str),
) -> ServiceResult<Opened> {
    let user = match user_id {
        Some(id) => user::Entity::find_by_id(id).one(txn).await?,
        None => None,
    };
    let Some(user) = user.filter(|u| p.knows_user(scope(u))) else {
        return Err(not_found(field, what));
    };
    let is_self = p.user().is_some_and(|u| u.user_id == user.id);
    let access = match (who, is_self) {
        (Actor::SelfOrAdmin, true) => Access::Allowed,
        // A user the caller sees but may not act on as an admin (a plain user on themself).
        _ => match p.admin_on_user(scope(&user)) {
            Access::NotFound if p.sees_user(scope(&user)) => Access::Forbidden(Only::CoveringAdministrators),
            access => access,
        },
    };
    match access {
        Access::Allowed => {}
        Access::NotFound => return Err(not_found(field, what)),
        // The user themself could have: say so where the rule lets them.
        Access::Forbidden(_) if who == Actor::SelfOrAdmin => {
            return Err(forbidden(field, Only::TheUserOrCoveringAdministrators, action));
        }
        Access::Forbidden(only) => return Err(forbidden(field, only, action)),
    }
    let account = account::Entity::find_by_id(user.account_id)
        .one(txn)
        .await?
        .ok_or_else(|| not_found(field, "user"))?;
    if account.platform != Platform::MxOne {
        return Err(ServiceError::reject(
            ErrorCode::PlatformNotSupported,
            field,
            "Remote Extension needs an account on MX-ONE",
        ));
    }
    ensure_user(txn, p, cfg, &user).await?;
    let remote = remote_user::Entity::find_by_id(user.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| not_found(field, "user"))?;
    Ok(Opened {
        account,
        user,
        remote,
        is_self,
    })
}

/// Creates the user's Remote Extension record where it is missing, with the configured default
/// statuses (admin origin, the first one active — R10). Called when an MX-ONE user is created and
/// before any write (so users from before this feature get theirs too).
pub(crate) async fn ensure_user(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    user: &user::Model,
) -> ServiceResult<()> {
    let now = Utc::now();
    let row = remote_user::ActiveModel {
        user_id: Set(user.id),
        account_id: Set(user.account_id),
        client_profile_id: Set(None),
        active_status_id: Set(None),
        active_reason: Set(ActiveReason::Default),
        time_zone: Set(None),
        next_boundary_at: Set(None),
        schedule_applied_at: Set(None),
        updated_at: Set(now),
    };
    let inserted = remote_user::Entity::insert(row)
        .on_conflict(OnConflict::column(remote_user::Column::UserId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    if inserted == 0 {
        return Ok(());
    }
    // Validated at start-up; a bad list here would be a bug, so it fails loudly as a fault.
    let templates = cfg
        .templates()
        .map_err(|(key, why)| ServiceError::Db(sea_orm::DbErr::Custom(format!("{key} {why}"))))?;
    if templates.is_empty() {
        return Ok(());
    }
    let statuses: Vec<dynamic_status::Model> = templates.into_iter().map(|t| default_status(t, user, p, now)).collect();
    let active = statuses[0].id;
    dynamic_status::Entity::insert_many(statuses.iter().cloned().map(dynamic_status::ActiveModel::from))
        .exec_without_returning(txn)
        .await?;
    remote_user::ActiveModel {
        user_id: sea_orm::Unchanged(user.id),
        active_status_id: Set(Some(active)),
        ..Default::default()
    }
    .update(txn)
    .await?;
    let mut events: Vec<Entry> = statuses.iter().map(statuses::status_created).collect();
    events.push(active_changed(user, Some(&statuses[0]), None, ActiveReason::Default));
    outbox::record_many(txn, p, events).await?;
    Ok(())
}

const STATUSES: bulk::Table = bulk::Table {
    name: "dynamic_status",
    columns: &[
        ("id", bulk::Kind::Uuid),
        ("user_id", bulk::Kind::Uuid),
        ("account_id", bulk::Kind::Uuid),
        ("name", bulk::Kind::Text),
        ("name_key", bulk::Kind::Text),
        ("presence", bulk::Kind::Text),
        ("message", bulk::Kind::Text),
        ("origin", bulk::Kind::Text),
        ("remote_extension_id", bulk::Kind::Uuid),
        ("call_using_kind", bulk::Kind::Text),
        ("call_using_number_id", bulk::Kind::Uuid),
        ("send_calls_to_kind", bulk::Kind::Text),
        ("send_calls_to_number_id", bulk::Kind::Uuid),
        ("when_busy_kind", bulk::Kind::Text),
        ("when_busy_number_id", bulk::Kind::Uuid),
        ("if_no_answer_kind", bulk::Kind::Text),
        ("if_no_answer_number_id", bulk::Kind::Uuid),
        ("version", bulk::Kind::Int),
        ("created_at", bulk::Kind::Time),
        ("created_by", bulk::Kind::Text),
        ("updated_at", bulk::Kind::Time),
    ],
};

const REMOTE_USERS: bulk::Table = bulk::Table {
    name: "remote_user",
    columns: &[
        ("user_id", bulk::Kind::Uuid),
        ("account_id", bulk::Kind::Uuid),
        ("client_profile_id", bulk::Kind::Uuid),
        ("active_status_id", bulk::Kind::Uuid),
        ("active_reason", bulk::Kind::Text),
        ("updated_at", bulk::Kind::Time),
    ],
};

fn status_row(s: &dynamic_status::Model) -> serde_json::Value {
    json!([
        bulk::uuid(s.id),
        bulk::uuid(s.user_id),
        bulk::uuid(s.account_id),
        bulk::text(s.name.as_str()),
        bulk::text(s.name_key.as_str()),
        bulk::text(s.presence.to_value()),
        bulk::opt_text(s.message.as_deref()),
        bulk::text(s.origin.to_value()),
        bulk::opt_uuid(s.remote_extension_id),
        bulk::text(s.call_using_kind.to_value()),
        bulk::opt_uuid(s.call_using_number_id),
        bulk::text(s.send_calls_to_kind.to_value()),
        bulk::opt_uuid(s.send_calls_to_number_id),
        bulk::text(s.when_busy_kind.to_value()),
        bulk::opt_uuid(s.when_busy_number_id),
        bulk::text(s.if_no_answer_kind.to_value()),
        bulk::opt_uuid(s.if_no_answer_number_id),
        s.version,
        bulk::time(s.created_at),
        bulk::text(s.created_by.as_str()),
        bulk::time(s.updated_at),
    ])
}

/// A new user's default status made from a template (SPEC R10): an administrator's, with no
/// numbers yet.
fn default_status(
    t: StatusTemplate,
    user: &user::Model,
    p: &Principal,
    now: chrono::DateTime<chrono::Utc>,
) -> dynamic_status::Model {
    dynamic_status::Model {
        id: Uuid::now_v7(),
        user_id: user.id,
        account_id: user.account_id,
        name_key: t.name.to_lowercase(),
        name: t.name,
        presence: t.presence,
        message: t.message,
        origin: StatusOrigin::Admin,
        remote_extension_id: None,
        call_using_kind: t.targets[0],
        call_using_number_id: None,
        send_calls_to_kind: t.targets[1],
        send_calls_to_number_id: None,
        when_busy_kind: t.targets[2],
        when_busy_number_id: None,
        if_no_answer_kind: t.targets[3],
        if_no_answer_number_id: None,
        schedule: None,
        version: 1,
        created_at: now,
        created_by: p.actor(),
        updated_at: now,
    }
}

/// What [`ensure_user`] writes for each of `users`, new MX-ONE users without a record: their
/// records and default statuses in two statements whatever their number (the statuses first, so
/// each record is written with its active status). Answers each user's events, in `users`' order
/// and in the order [`ensure_user`] records them, for the caller to record with its own.
pub(crate) async fn create_users(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    users: &[user::Model],
) -> ServiceResult<Vec<Vec<Entry>>> {
    // Validated at start-up; a bad list here would be a bug, so it fails loudly as a fault.
    let templates = cfg
        .templates()
        .map_err(|(key, why)| ServiceError::Db(sea_orm::DbErr::Custom(format!("{key} {why}"))))?;
    let now = bulk::now();
    let mut status_rows = Vec::with_capacity(users.len() * templates.len());
    let mut user_rows = Vec::with_capacity(users.len());
    let mut events = Vec::with_capacity(users.len());
    for user in users {
        let statuses: Vec<dynamic_status::Model> = (templates.iter().cloned())
            .map(|t| default_status(t, user, p, now))
            .collect();
        let active = statuses.first();
        user_rows.push(json!([
            bulk::uuid(user.id),
            bulk::uuid(user.account_id),
            serde_json::Value::Null,
            bulk::opt_uuid(active.map(|s| s.id)),
            bulk::text(ActiveReason::Default.to_value()),
            bulk::time(now),
        ]));
        let mut mine: Vec<Entry> = statuses.iter().map(statuses::status_created).collect();
        if let Some(active) = active {
            mine.push(active_changed(user, Some(active), None, ActiveReason::Default));
        }
        status_rows.extend(statuses.iter().map(status_row));
        events.push(mine);
    }
    bulk::insert(txn, &STATUSES, status_rows).await?;
    bulk::insert(txn, &REMOTE_USERS, user_rows).await?;
    Ok(events)
}

/// Gives every MX-ONE user without a Remote Extension record theirs, with the default
/// statuses: users created before the feature existed. Runs at start-up after the migrations;
/// a second run finds nobody. Answers how many users it filled in.
pub async fn backfill_users(db: &impl crate::db::Db, cfg: &RemoteSettings) -> ServiceResult<usize> {
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Query};
    let missing = user::Entity::find()
        .filter(
            user::Column::AccountId.in_subquery(
                Query::select()
                    .column(account::Column::Id)
                    .from(account::Entity)
                    .and_where(account::Column::Platform.eq(Platform::MxOne))
                    .to_owned(),
            ),
        )
        .filter(
            user::Column::Id.not_in_subquery(
                Query::select()
                    .column(remote_user::Column::UserId)
                    .from(remote_user::Entity)
                    .to_owned(),
            ),
        )
        .all(db)
        .await?;
    let system = Principal::Support { name: "reach".into() };
    for chunk in missing.chunks(200) {
        let txn = crate::db::begin_write(db).await?;
        for u in chunk {
            ensure_user(&txn, &system, cfg, u).await?;
        }
        crate::service::commit(txn).await?;
    }
    Ok(missing.len())
}

/// The `active_status.changed` event: the new active status and active remote extension.
pub(crate) fn active_changed(
    user: &user::Model,
    active: Option<&dynamic_status::Model>,
    previous: Option<Uuid>,
    reason: ActiveReason,
) -> Entry {
    Event::ActiveStatusChanged(ev::ActiveStatusChanged {
        active_status_id: active.map(|s| s.id),
        active_remote_extension_id: active.and_then(|s| s.remote_extension_id),
        previous_status_id: previous,
        reason: Some(reason.to_value()),
    })
    .about(user.account_id, user.id)
}

/// Sets the user's active status, and why it is active (under the lock taken by [`open_user`]).
pub(crate) async fn set_active(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
    status: Option<Uuid>,
    reason: ActiveReason,
) -> ServiceResult<()> {
    remote_user::ActiveModel {
        user_id: sea_orm::Unchanged(user_id),
        active_status_id: Set(status),
        active_reason: Set(reason),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(txn)
    .await?;
    Ok(())
}
