//! Building a status (R7, R8, R10, R12); the user's first status becomes the active one.

use chrono::Utc;
use entity::{StatusOrigin, TargetKind, client_profile, dynamic_status};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{
    StatusInput, conflict, message, name_taken, reject, remote_extension, set_targets, status_created, user_rows,
};
use crate::service::GivenId;
use crate::service::remote::{
    Actor, MAX_STATUSES, Opened, RemoteSettings, active_changed, named_or_caller, open_user, reads, set_active, targets,
};
use crate::{
    db,
    policy::{Access, Principal},
    service::{ErrorCode, ServiceError, ServiceResult, directory::scope, outbox, validate},
};

/// The defaults of routing fields a create leaves out (and R8 does not fill).
const DEFAULT_TARGETS: [TargetKind; 4] = [
    TargetKind::DeskPhone,
    TargetKind::DeskPhone,
    TargetKind::Voicemail,
    TargetKind::Voicemail,
];

/// Builds a status for a user: their own (`USER`, where the client profile allows it), or as
/// an admin covering the user (`ADMIN`, R12). The user's first status becomes the active one.
pub async fn create_status(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<GivenId>,
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
        .map(|id| remote_extension(&numbers, id.key()))
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
    let mut events = vec![status_created(&model)];
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
