//! My Numbers: adding, changing and deleting a user's numbers (R2–R6, R11, R12), and the entry
//! point the platform sync uses to provision numbers (origin `PLATFORM`).

use chrono::Utc;
use entity::{NumberOrigin, client_profile, dynamic_status, user_number};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Actor, MAX_NUMBERS, Opened, RemoteSettings, named_or_caller, open_user, reads};
use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError,
        directory::scope,
        error::{not_found, unique_violation},
        outbox::{self, Event},
        validate,
    },
};

/// A number to add.
#[derive(Clone, Debug)]
pub struct NumberInput {
    /// Label; admin-provisioned numbers default to the prefix and the number (R5).
    pub label: Option<String>,
    /// The number, exactly as it should be stored.
    pub number: String,
    /// Whether it is a remote extension.
    pub is_remote_extension: bool,
    /// Call through on (R11).
    pub call_through: bool,
    /// `USER` or `ADMIN`; by default `USER` for oneself and `ADMIN` for another user.
    pub origin: Option<NumberOrigin>,
}

/// Changes to a number; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct NumberChanges {
    /// New label.
    pub label: Option<String>,
    /// New number (unlocked numbers only).
    pub number: Option<String>,
    /// New remote-extension flag (unlocked numbers only).
    pub is_remote_extension: Option<bool>,
    /// Call through on or off.
    pub call_through: Option<bool>,
}

fn reject(code: ErrorCode, field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::reject(code, &[field], message)
}

/// An event about a number.
pub(crate) fn number_event(event_type: &'static str, n: &user_number::Model, payload: Value) -> Event {
    Event {
        event_type,
        account_id: Some(n.account_id),
        aggregate_type: "UserNumber",
        aggregate_id: n.id,
        payload,
    }
}

/// What `user_number.created` says of a number.
pub(crate) fn number_payload(n: &user_number::Model) -> Value {
    json!({
        "userId": n.user_id,
        "label": n.label,
        "number": n.number,
        "isRemoteExtension": n.is_remote_extension,
        "origin": sea_orm::ActiveEnum::to_value(&n.origin),
        "callThrough": n.call_through,
    })
}

/// What `user_number.deleted` says of a number; its platform id lets the platform sync delete it
/// there too (SPEC E3).
pub(crate) fn deleted_payload(n: &user_number::Model) -> Value {
    json!({
        "userId": n.user_id,
        "number": n.number,
        "origin": sea_orm::ActiveEnum::to_value(&n.origin),
        "platformId": n.platform_id,
    })
}

/// A unique violation on `user_number` as the business failure it stands for (R3, R4).
fn conflict(err: sea_orm::DbErr) -> ServiceError {
    match unique_violation(&err) {
        Some(msg) if msg.contains("remote_number") => reject(
            ErrorCode::NumberInUseElsewhere,
            "number",
            "this remote extension belongs to another user",
        ),
        Some(msg) if msg.contains("label") => reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ),
        Some(_) => reject(ErrorCode::DuplicateNumber, "number", "the user has this number already"),
        None => err.into(),
    }
}

/// The user's numbers and statuses, read under the user's lock.
async fn user_rows(
    txn: &impl ConnectionTrait,
    user_id: Uuid,
) -> ServiceResult<(Vec<user_number::Model>, Vec<dynamic_status::Model>)> {
    let numbers = reads::numbers_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    let statuses = reads::statuses_of_users(txn, &[user_id])
        .await?
        .remove(&user_id)
        .unwrap_or_default();
    Ok((numbers, statuses))
}

/// Whether the user's client profile allows call through.
async fn profile_allows_call_through(txn: &impl ConnectionTrait, o: &Opened) -> ServiceResult<bool> {
    let id = reads::profile_id(Some(&o.remote), o.account.id);
    Ok(client_profile::Entity::find_by_id(id)
        .one(txn)
        .await?
        .is_some_and(|p| p.call_through_allowed))
}

/// R3: the number checked against the flag it will carry.
fn check_number(o: &Opened, raw: &str, is_remote_extension: bool) -> Result<String, UserError> {
    if is_remote_extension {
        validate::remote_extension_number(&["number"], raw, &o.account.destination_codes())
    } else {
        validate::user_number(&["number"], raw)
    }
}

/// R4: a remote-extension number held by another user.
async fn held_elsewhere(txn: &impl ConnectionTrait, user_id: Uuid, number: &str) -> ServiceResult<()> {
    let other = user_number::Entity::find()
        .filter(user_number::Column::RemoteNumber.eq(number))
        .filter(user_number::Column::UserId.ne(user_id))
        .one(txn)
        .await?;
    match other {
        Some(_) => Err(reject(
            ErrorCode::NumberInUseElsewhere,
            "number",
            "this remote extension belongs to another user",
        )),
        None => Ok(()),
    }
}

fn label_taken(numbers: &[user_number::Model], label: &str, except: Option<Uuid>) -> bool {
    let key = label.to_lowercase();
    numbers.iter().any(|n| Some(n.id) != except && n.label_key == key)
}

/// Adds a number for a user: for themself (`USER`), or as an admin covering the user (`ADMIN`,
/// R12). `user_id` `None` is the caller; `Some(None)` is an id that could not be read.
pub async fn create_number(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<Option<Uuid>>,
    input: NumberInput,
) -> ServiceResult<user_number::Model> {
    let user_id = named_or_caller(p, user_id)?;
    let txn = db::begin_write(db).await?;
    let o = open_user(&txn, p, cfg, user_id, &["userId"], Actor::SelfOrAdmin, "user").await?;
    let admin = p.admin_on_user(scope(&o.user)) == Access::Allowed;
    let origin = input.origin.unwrap_or(if o.is_self {
        NumberOrigin::User
    } else {
        NumberOrigin::Admin
    });
    match origin {
        NumberOrigin::Platform => {
            return Err(reject(
                ErrorCode::ValidationFailed,
                "origin",
                "platform numbers arrive only through the platform sync",
            ));
        }
        NumberOrigin::Admin if !admin => {
            return Err(reject(
                ErrorCode::Forbidden,
                "origin",
                "only an administrator covering the user provisions numbers",
            ));
        }
        NumberOrigin::User if !o.is_self => {
            return Err(reject(
                ErrorCode::ValidationFailed,
                "origin",
                "a number added for another user is admin-provisioned (origin ADMIN)",
            ));
        }
        _ => {}
    }
    let model = add(&txn, p, cfg, &o, input, origin).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Provisions a remote extension from the communication platform (origin `PLATFORM`, R5): the
/// platform sync calls this; `p` is the sync's principal (Support-level).
pub async fn provision_platform_number(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Uuid,
    number: &str,
    label: Option<String>,
) -> ServiceResult<user_number::Model> {
    if !p.is_support() {
        return Err(reject(
            ErrorCode::Forbidden,
            "userId",
            "only the platform sync provisions these",
        ));
    }
    let txn = db::begin_write(db).await?;
    let o = open_user(&txn, p, cfg, Some(user_id), &["userId"], Actor::Admin, "user").await?;
    let input = NumberInput {
        label,
        number: number.to_owned(),
        is_remote_extension: true,
        call_through: false,
        origin: Some(NumberOrigin::Platform),
    };
    let model = add(&txn, p, cfg, &o, input, NumberOrigin::Platform).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

async fn add(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    o: &Opened,
    input: NumberInput,
    origin: NumberOrigin,
) -> ServiceResult<user_number::Model> {
    let mut errors = Vec::new();
    let number = check_number(o, &input.number, input.is_remote_extension).map_err(|e| errors.push(e));
    let label = match (&input.label, origin) {
        (Some(label), _) => validate::label(&["label"], label).map_err(|e| errors.push(e)).ok(),
        // R5: provisioned numbers arrive labelled with the prefix and the number.
        (None, NumberOrigin::Admin | NumberOrigin::Platform) => {
            Some(format!("{}{}", cfg.admin_label_prefix, input.number))
        }
        (None, NumberOrigin::User) => {
            errors.push(UserError::new(ErrorCode::ValidationFailed, &["label"], "is required"));
            None
        }
    };
    let (Ok(number), Some(label), true) = (number, label, errors.is_empty()) else {
        return Err(ServiceError::Rejected(errors));
    };
    let (numbers, _) = user_rows(txn, o.user.id).await?;
    if numbers.len() >= MAX_NUMBERS {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "number",
            format!("a user has at most {MAX_NUMBERS} numbers"),
        ));
    }
    if numbers.iter().any(|n| n.number == number) {
        return Err(reject(
            ErrorCode::DuplicateNumber,
            "number",
            "the user has this number already",
        ));
    }
    if label_taken(&numbers, &label, None) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ));
    }
    // R2: users add remote extensions only next to one an admin or the platform provisioned.
    if input.is_remote_extension && origin == NumberOrigin::User && !reads::can_add_remote_extension(&numbers) {
        return Err(reject(
            ErrorCode::NoAdminRemoteExtension,
            "isRemoteExtension",
            "you can add a remote extension once an administrator has provisioned one for you",
        ));
    }
    if input.call_through {
        call_through_allowed(txn, o, input.is_remote_extension).await?;
    }
    if input.is_remote_extension {
        held_elsewhere(txn, o.user.id, &number).await?;
    }
    let now = Utc::now();
    let model = user_number::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(o.user.id),
        account_id: Set(o.account.id),
        label_key: Set(label.to_lowercase()),
        label: Set(label),
        remote_number: Set(input.is_remote_extension.then(|| number.clone())),
        number: Set(number),
        is_remote_extension: Set(input.is_remote_extension),
        origin: Set(origin),
        call_through: Set(input.call_through),
        created_at: Set(now),
        created_by: Set(p.actor()),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(conflict)?;
    outbox::record(
        txn,
        p,
        number_event("user_number.created", &model, number_payload(&model)),
    )
    .await?;
    Ok(model)
}

/// R11: call through only on a remote extension, and only where the client profile allows it.
async fn call_through_allowed(txn: &impl ConnectionTrait, o: &Opened, is_remote_extension: bool) -> ServiceResult<()> {
    if !is_remote_extension {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "callThrough",
            "call through works only on a remote extension",
        ));
    }
    if !profile_allows_call_through(txn, o).await? {
        return Err(reject(
            ErrorCode::CallThroughNotAllowed,
            "callThrough",
            "the user's client profile does not allow call through",
        ));
    }
    Ok(())
}

/// Opens the user a number belongs to, and reads the number again under the user's lock.
async fn open_number(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
) -> ServiceResult<(Opened, user_number::Model)> {
    let owner = match id {
        Some(id) => user_number::Entity::find_by_id(id).one(txn).await?.map(|n| n.user_id),
        None => None,
    };
    let o = open_user(txn, p, cfg, owner, &["id"], Actor::SelfOrAdmin, "number").await?;
    let number = match id {
        Some(id) => user_number::Entity::find_by_id(id).one(txn).await?,
        None => None,
    }
    .filter(|n| n.user_id == o.user.id)
    .ok_or_else(|| not_found(&["id"], "number"))?;
    Ok((o, number))
}

/// Changes a number (R3–R5, R11): the label always; `number` and `isRemoteExtension` only while
/// the number is not locked. The same values again change nothing and record nothing.
pub async fn update_number(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
    changes: NumberChanges,
) -> ServiceResult<user_number::Model> {
    let txn = db::begin_write(db).await?;
    let (o, current) = open_number(&txn, p, cfg, id).await?;
    let (numbers, statuses) = user_rows(&txn, o.user.id).await?;
    let active_re = reads::active_remote_extension(&statuses, o.remote.active_status_id);

    let label = changes
        .label
        .as_deref()
        .map(|l| validate::label(&["label"], l))
        .transpose()?
        .unwrap_or_else(|| current.label.clone());
    let is_re = changes.is_remote_extension.unwrap_or(current.is_remote_extension);
    let raw_number = changes.number.clone().unwrap_or_else(|| current.number.clone());
    let identity_changes = raw_number != current.number || is_re != current.is_remote_extension;
    if identity_changes {
        let reasons = reads::lock_reasons(&current, &statuses, active_re);
        if !reasons.is_empty() {
            let field = if raw_number != current.number {
                "number"
            } else {
                "isRemoteExtension"
            };
            return Err(reject(
                ErrorCode::NumberLocked,
                field,
                format!("the number is locked ({reasons:?}); only its label and call through can change"),
            ));
        }
    }
    let number = if identity_changes {
        check_number(&o, &raw_number, is_re)?
    } else {
        raw_number
    };
    if number != current.number && numbers.iter().any(|n| n.id != current.id && n.number == number) {
        return Err(reject(
            ErrorCode::DuplicateNumber,
            "number",
            "the user has this number already",
        ));
    }
    if label_taken(&numbers, &label, Some(current.id)) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ));
    }
    if is_re && !current.is_remote_extension && current.origin == NumberOrigin::User {
        let others: Vec<_> = numbers.iter().filter(|n| n.id != current.id).cloned().collect();
        if !reads::can_add_remote_extension(&others) {
            return Err(reject(
                ErrorCode::NoAdminRemoteExtension,
                "isRemoteExtension",
                "you can add a remote extension once an administrator has provisioned one for you",
            ));
        }
    }
    // Turning call through on is checked (R11); a number that stops being a remote extension
    // drops it, since it could never take effect.
    let call_through = match changes.call_through {
        Some(true) if !current.call_through || !is_re => {
            call_through_allowed(&txn, &o, is_re).await?;
            true
        }
        Some(on) => on,
        None => current.call_through && is_re,
    };
    if is_re && (number != current.number || !current.is_remote_extension) {
        held_elsewhere(&txn, o.user.id, &number).await?;
    }

    let mut changed = Map::new();
    let mut am: user_number::ActiveModel = current.clone().into();
    if label != current.label {
        changed.insert("label".into(), json!({"old": current.label, "new": label}));
        am.label_key = Set(label.to_lowercase());
        am.label = Set(label);
    }
    if number != current.number {
        changed.insert("number".into(), json!({"old": current.number, "new": number}));
        am.number = Set(number.clone());
    }
    if is_re != current.is_remote_extension {
        changed.insert(
            "isRemoteExtension".into(),
            json!({"old": current.is_remote_extension, "new": is_re}),
        );
        am.is_remote_extension = Set(is_re);
    }
    am.remote_number = Set(is_re.then(|| number.clone()));
    // The platform forgets the number it may hold; the new one is sent afresh (SPEC E3).
    if number != current.number || is_re != current.is_remote_extension {
        crate::service::sync::withdraw::record(&txn, &current, &o.user.extension).await?;
        am.platform_id = Set(None);
        am.platform_number = Set(None);
        am.platform_linked_at = Set(None);
        am.platform_error = Set(None);
    }
    if call_through != current.call_through {
        changed.insert(
            "callThrough".into(),
            json!({"old": current.call_through, "new": call_through}),
        );
        am.call_through = Set(call_through);
    }
    if changed.is_empty() {
        return Ok(current);
    }
    am.updated_at = Set(Utc::now());
    let model = am.update(&txn).await.map_err(conflict)?;
    let payload = json!({"userId": model.user_id, "changes": Value::Object(changed)});
    outbox::record(&txn, p, number_event("user_number.updated", &model, payload)).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Deletes a number (R6): a user deletes numbers they added; an admin covering the user also
/// admin-provisioned ones; platform numbers leave only through the sync; a number a status uses
/// (the active remote extension among them) stays.
pub async fn delete_number(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
) -> ServiceResult<Uuid> {
    let txn = db::begin_write(db).await?;
    let (o, current) = open_number(&txn, p, cfg, id).await?;
    let (_, statuses) = user_rows(&txn, o.user.id).await?;
    let active_re = reads::active_remote_extension(&statuses, o.remote.active_status_id);
    let admin = p.admin_on_user(scope(&o.user)) == Access::Allowed;
    match current.origin {
        NumberOrigin::Platform => {
            return Err(reject(
                ErrorCode::Forbidden,
                "id",
                "numbers from the platform are removed only by the platform sync",
            ));
        }
        NumberOrigin::Admin if !admin => {
            return Err(reject(
                ErrorCode::Forbidden,
                "id",
                "an administrator provisioned this number; only an administrator can delete it",
            ));
        }
        _ => {}
    }
    let reasons = reads::lock_reasons(&current, &statuses, active_re);
    if !reads::deletable(&current, &reasons, admin) {
        return Err(reject(
            ErrorCode::NumberInUse,
            "id",
            "a status uses this number; change the status first",
        ));
    }
    user_number::Entity::delete_by_id(current.id)
        .exec(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                reject(ErrorCode::NumberInUse, "id", "a status uses this number")
            }
            _ => e.into(),
        })?;
    outbox::record(
        &txn,
        p,
        number_event("user_number.deleted", &current, deleted_payload(&current)),
    )
    .await?;
    // The platform forgets it too (SPEC E3).
    crate::service::sync::withdraw::record(&txn, &current, &o.user.extension).await?;
    crate::service::commit(txn).await?;
    Ok(current.id)
}
