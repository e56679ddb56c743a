//! Dynamic statuses (R7–R10): building, changing, deleting and activating them. The active
//! status lives in the user's locked `remote_user` row, so switching it is one atomic update and
//! concurrent activations leave exactly one active status (R9).

use std::collections::HashMap;

use chrono::Utc;
use entity::{Presence, StatusOrigin, TargetKind, client_profile, dynamic_status, user_number};
use sea_orm::{ActiveEnum, ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    Actor, MAX_STATUSES, Opened, RemoteSettings, active_changed, named_or_caller, open_user, reads, set_active,
    status_event,
    targets::{self, Target, TargetInput},
};
use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult,
        directory::scope,
        error::{not_found, unique_violation},
        outbox::{self, Event},
        validate,
    },
};

/// A status to build.
#[derive(Clone, Debug)]
pub struct StatusInput {
    /// Name (1–64 characters, unique per user ignoring case).
    pub name: String,
    /// Presence.
    pub presence: Presence,
    /// Optional message (at most 200 characters).
    pub message: Option<String>,
    /// One of the user's remote extensions (`Some(None)`: an id that could not be read).
    pub remote_extension_id: Option<Option<Uuid>>,
    /// `[callUsing, sendCallsTo, whenBusy, ifNoAnswer]`; `None` takes the default (R8).
    pub targets: [Option<TargetInput>; 4],
    /// `USER` or `ADMIN`; by default `USER` for oneself and `ADMIN` for another user.
    pub origin: Option<StatusOrigin>,
}

/// A change to an optional field: leave it, clear it, or set it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Change<T> {
    /// Leave as it is.
    #[default]
    Keep,
    /// Clear it.
    Clear,
    /// Set it.
    Set(T),
}

/// Changes to a status; `None`/`Keep` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct StatusChanges {
    /// The `version` the change is based on; a mismatch is `STALE_VERSION`.
    pub expected_version: Option<i64>,
    /// New name.
    pub name: Option<String>,
    /// New presence.
    pub presence: Option<Presence>,
    /// New message.
    pub message: Change<String>,
    /// New remote extension (`Set(None)`: an id that could not be read).
    pub remote_extension_id: Change<Option<Uuid>>,
    /// New routing targets.
    pub targets: [Option<TargetInput>; 4],
}

/// The defaults of routing fields a create leaves out (and R8 does not fill).
const DEFAULT_TARGETS: [TargetKind; 4] = [
    TargetKind::DeskPhone,
    TargetKind::DeskPhone,
    TargetKind::Voicemail,
    TargetKind::Voicemail,
];

fn reject(code: ErrorCode, field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::reject(code, &[field], message)
}

fn target_json((kind, number): (TargetKind, Option<Uuid>)) -> Value {
    json!({"kind": kind.to_value(), "numberId": number})
}

fn targets_of(s: &dynamic_status::Model) -> [Target; 4] {
    [
        (s.call_using_kind, s.call_using_number_id),
        (s.send_calls_to_kind, s.send_calls_to_number_id),
        (s.when_busy_kind, s.when_busy_number_id),
        (s.if_no_answer_kind, s.if_no_answer_number_id),
    ]
}

fn set_targets(am: &mut dynamic_status::ActiveModel, t: [Target; 4]) {
    am.call_using_kind = Set(t[0].0);
    am.call_using_number_id = Set(t[0].1);
    am.send_calls_to_kind = Set(t[1].0);
    am.send_calls_to_number_id = Set(t[1].1);
    am.when_busy_kind = Set(t[2].0);
    am.when_busy_number_id = Set(t[2].1);
    am.if_no_answer_kind = Set(t[3].0);
    am.if_no_answer_number_id = Set(t[3].1);
}

/// What a status holds, for the outbox.
pub(crate) fn status_payload(s: &dynamic_status::Model) -> Value {
    let mut routing = Map::new();
    for (name, t) in targets::FIELDS.iter().zip(targets_of(s)) {
        routing.insert((*name).into(), target_json(t));
    }
    json!({
        "userId": s.user_id,
        "name": s.name,
        "presence": s.presence.to_value(),
        "message": s.message,
        "origin": s.origin.to_value(),
        "remoteExtensionId": s.remote_extension_id,
        "routing": Value::Object(routing),
        "version": s.version,
    })
}

fn conflict(err: sea_orm::DbErr) -> ServiceError {
    match unique_violation(&err) {
        Some(_) => reject(
            ErrorCode::ValidationFailed,
            "name",
            "the user has a status of this name",
        ),
        None => err.into(),
    }
}

fn message(raw: &str) -> ServiceResult<Option<String>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    Ok(Some(validate::name(&["message"], value, 200)?))
}

/// R7: the status's remote extension is one of the same user's remote-extension numbers.
fn remote_extension(numbers: &HashMap<Uuid, user_number::Model>, id: Option<Uuid>) -> ServiceResult<Uuid> {
    let number = id
        .and_then(|id| numbers.get(&id))
        .ok_or_else(|| reject(ErrorCode::NotFound, "remoteExtensionId", "no such number of this user"))?;
    if !number.is_remote_extension {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "remoteExtensionId",
            "this number is not a remote extension",
        ));
    }
    Ok(number.id)
}

/// The user's numbers (by id) and statuses, read under the user's lock.
async fn user_rows(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ServiceResult<(HashMap<Uuid, user_number::Model>, Vec<dynamic_status::Model>)> {
    let numbers = reads::numbers_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default()
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let statuses = reads::statuses_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok((numbers, statuses))
}

fn name_taken(statuses: &[dynamic_status::Model], name: &str, except: Option<Uuid>) -> bool {
    let key = name.to_lowercase();
    statuses.iter().any(|s| Some(s.id) != except && s.name_key == key)
}

/// Builds a status for a user: their own (`USER`, where the client profile allows it), or as
/// an admin covering the user (`ADMIN`, R12). The user's first status becomes the active one.
pub async fn create_status(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<Option<Uuid>>,
    input: StatusInput,
) -> ServiceResult<dynamic_status::Model> {
    let user_id = named_or_caller(p, user_id)?;
    let txn = db::begin_write(db).await?;
    let o = open_user(&txn, p, cfg, user_id, &["userId"], Actor::SelfOrAdmin, "user").await?;
    let admin = p.admin_on_user(scope(&o.user)) == Access::Allowed;
    let origin = input.origin.unwrap_or(if o.is_self {
        StatusOrigin::User
    } else {
        StatusOrigin::Admin
    });
    match origin {
        StatusOrigin::Admin if !admin => {
            return Err(reject(
                ErrorCode::Forbidden,
                "origin",
                "only an administrator covering the user provisions statuses",
            ));
        }
        StatusOrigin::User if !o.is_self => {
            return Err(reject(
                ErrorCode::ValidationFailed,
                "origin",
                "a status built for another user is an admin status (origin ADMIN)",
            ));
        }
        StatusOrigin::User if !profile(&txn, &o).await?.allow_users_add_status => {
            return Err(reject(
                ErrorCode::Forbidden,
                "userId",
                "the user's client profile does not allow adding statuses",
            ));
        }
        _ => {}
    }
    let name = validate::name(&["name"], &input.name, 64)?;
    let message = input.message.as_deref().map(message).transpose()?.flatten();
    let (numbers, statuses) = user_rows(&txn, o.user.id).await?;
    if statuses.len() >= MAX_STATUSES {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "name",
            format!("a user has at most {MAX_STATUSES} statuses"),
        ));
    }
    if name_taken(&statuses, &name, None) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "name",
            "the user has a status of this name",
        ));
    }
    let re = input
        .remote_extension_id
        .map(|id| remote_extension(&numbers, id))
        .transpose()?;
    let mut routing = [(TargetKind::PbxDefault, None); 4];
    for (i, slot) in routing.iter_mut().enumerate() {
        *slot = match (input.targets[i], re) {
            (Some(t), _) => targets::check(i, t, &numbers)?,
            // R8: a remote extension set without callUsing/sendCallsTo fills them.
            (None, Some(re)) if i < 2 => (TargetKind::Number, Some(re)),
            (None, _) => (DEFAULT_TARGETS[i], None),
        };
    }
    let now = Utc::now();
    let mut am = dynamic_status::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(o.user.id),
        account_id: Set(o.account.id),
        name_key: Set(name.to_lowercase()),
        name: Set(name),
        presence: Set(input.presence),
        message: Set(message),
        origin: Set(origin),
        remote_extension_id: Set(re),
        version: Set(1),
        created_at: Set(now),
        created_by: Set(p.actor()),
        updated_at: Set(now),
        ..Default::default()
    };
    set_targets(&mut am, routing);
    let model = am.insert(&txn).await.map_err(conflict)?;
    let mut events = vec![status_event("dynamic_status.created", &model, status_payload(&model))];
    if o.remote.active_status_id.is_none() {
        set_active(&txn, o.user.id, Some(model.id)).await?;
        events.push(active_changed(&o.user, Some(&model), None));
    }
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

async fn profile(txn: &impl ConnectionTrait, o: &Opened) -> ServiceResult<client_profile::Model> {
    let id = reads::profile_id(Some(&o.remote), o.account.id);
    client_profile::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::Db(sea_orm::DbErr::RecordNotFound(format!("client profile {id}"))))
}

/// Opens the user a status belongs to, and reads the status again under the user's lock.
async fn open_status(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
) -> ServiceResult<(Opened, dynamic_status::Model)> {
    let owner = match id {
        Some(id) => dynamic_status::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|s| s.user_id),
        None => None,
    };
    let o = open_user(txn, p, cfg, owner, &["id"], Actor::SelfOrAdmin, "status").await?;
    let status = match id {
        Some(id) => dynamic_status::Entity::find_by_id(id).one(txn).await?,
        None => None,
    }
    .filter(|s| s.user_id == o.user.id)
    .ok_or_else(|| not_found(&["id"], "status"))?;
    Ok((o, status))
}

/// R10: users cannot change or delete admin statuses; admins covering the user can.
fn writable(p: &Principal, o: &Opened, status: &dynamic_status::Model) -> ServiceResult<()> {
    if status.origin == StatusOrigin::Admin && p.admin_on_user(scope(&o.user)) != Access::Allowed {
        return Err(reject(
            ErrorCode::StatusReadonly,
            "id",
            "an administrator set up this status; it can be activated but not changed",
        ));
    }
    Ok(())
}

/// Changes a status (R7, R8, R10). Setting a remote extension without `callUsing` or
/// `sendCallsTo` points those at it; the same values again change nothing and record nothing.
pub async fn update_status(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
    changes: StatusChanges,
) -> ServiceResult<dynamic_status::Model> {
    let txn = db::begin_write(db).await?;
    let (o, current) = open_status(&txn, p, cfg, id).await?;
    writable(p, &o, &current)?;
    if let Some(expected) = changes.expected_version
        && expected != current.version
    {
        return Err(reject(
            ErrorCode::StaleVersion,
            "expectedVersion",
            format!("the status is at version {}; read it again", current.version),
        ));
    }
    let (numbers, statuses) = user_rows(&txn, o.user.id).await?;
    let name = match &changes.name {
        Some(raw) => validate::name(&["name"], raw, 64)?,
        None => current.name.clone(),
    };
    if name_taken(&statuses, &name, Some(current.id)) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "name",
            "the user has a status of this name",
        ));
    }
    let message = match &changes.message {
        Change::Keep => current.message.clone(),
        Change::Clear => None,
        Change::Set(raw) => message(raw)?,
    };
    let (re, re_set) = match changes.remote_extension_id {
        Change::Keep => (current.remote_extension_id, None),
        Change::Clear => (None, None),
        Change::Set(id) => {
            let re = remote_extension(&numbers, id)?;
            (Some(re), Some(re))
        }
    };
    let mut routing = targets_of(&current);
    for (i, slot) in routing.iter_mut().enumerate() {
        match (changes.targets[i], re_set) {
            (Some(t), _) => *slot = targets::check(i, t, &numbers)?,
            (None, Some(re)) if i < 2 => *slot = (TargetKind::Number, Some(re)),
            (None, _) => {}
        }
    }

    let mut changed = Map::new();
    if name != current.name {
        changed.insert("name".into(), json!({"old": current.name, "new": name}));
    }
    let presence = changes.presence.unwrap_or(current.presence);
    if presence != current.presence {
        changed.insert(
            "presence".into(),
            json!({"old": current.presence.to_value(), "new": presence.to_value()}),
        );
    }
    if message != current.message {
        changed.insert("message".into(), json!({"old": current.message, "new": message}));
    }
    if re != current.remote_extension_id {
        changed.insert(
            "remoteExtensionId".into(),
            json!({"old": current.remote_extension_id, "new": re}),
        );
    }
    for ((field, old), new) in targets::FIELDS.iter().zip(targets_of(&current)).zip(routing) {
        if old != new {
            changed.insert(
                (*field).into(),
                json!({"old": target_json(old), "new": target_json(new)}),
            );
        }
    }
    if changed.is_empty() {
        return Ok(current);
    }
    let mut am: dynamic_status::ActiveModel = current.clone().into();
    am.name_key = Set(name.to_lowercase());
    am.name = Set(name);
    am.presence = Set(presence);
    am.message = Set(message);
    am.remote_extension_id = Set(re);
    set_targets(&mut am, routing);
    am.version = Set(current.version + 1);
    am.updated_at = Set(Utc::now());
    let model = am.update(&txn).await.map_err(conflict)?;
    let mut events = vec![status_event(
        "dynamic_status.updated",
        &model,
        json!({"userId": model.user_id, "version": model.version, "changes": Value::Object(changed)}),
    )];
    // The active remote extension follows the active status (R9): say so when it moved.
    if o.remote.active_status_id == Some(model.id) && re != current.remote_extension_id {
        events.push(active_changed(&o.user, Some(&model), Some(model.id)));
    }
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Deletes a status (R10): never the active one, and a user never an admin status.
pub async fn delete_status(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
) -> ServiceResult<Uuid> {
    let txn = db::begin_write(db).await?;
    let (o, current) = open_status(&txn, p, cfg, id).await?;
    writable(p, &o, &current)?;
    if o.remote.active_status_id == Some(current.id) {
        return Err(reject(
            ErrorCode::ActiveStatusDelete,
            "id",
            "this is the active status; activate another one first",
        ));
    }
    dynamic_status::Entity::delete_by_id(current.id).exec(&txn).await?;
    let event = Event {
        payload: json!({"userId": current.user_id, "name": current.name}),
        ..status_event("dynamic_status.deleted", &current, Value::Null)
    };
    outbox::record(&txn, p, event).await?;
    crate::service::commit(txn).await?;
    Ok(current.id)
}

/// Makes a status the user's active one (R9): one atomic update of the user's locked record.
/// Activating the active status again changes nothing and records nothing.
pub async fn activate_status(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
) -> ServiceResult<dynamic_status::Model> {
    let txn = db::begin_write(db).await?;
    let (o, status) = open_status(&txn, p, cfg, id).await?;
    if o.remote.active_status_id == Some(status.id) {
        return Ok(status);
    }
    set_active(&txn, o.user.id, Some(status.id)).await?;
    outbox::record(
        &txn,
        p,
        active_changed(&o.user, Some(&status), o.remote.active_status_id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(status)
}
