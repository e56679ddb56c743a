//! Building a status (R7, R8, R10, R12); the user's first status becomes the active one.

use std::collections::HashMap;

use chrono::Utc;
use entity::{Presence, StatusOrigin, TargetKind, client_profile, dynamic_status, user_number};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{
    StatusInput, conflict, message, name_taken, reject, remote_extension, set_targets, status_created, user_rows,
};
use crate::service::GivenId;
use crate::service::remote::targets::{Target, TargetInput};
use crate::service::remote::{
    MAX_STATUSES, Opened, Owner, RemoteSettings, active_changed, open_for_create, reads, set_active, targets,
};
use crate::{
    db,
    policy::{Only, Principal},
    service::{ErrorCode, ServiceError, ServiceResult, outbox, validate},
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
    let Owner { txn, opened, origin } = open_for_create(db, p, cfg, user_id, input.origin).await?;
    // R10: users add statuses only where their client profile allows it.
    if origin == StatusOrigin::User && !profile(&txn, &opened).await?.allow_users_add_status {
        let only = Only::CoveringAdministrators;
        return Err(reject(
            ErrorCode::Forbidden,
            "userId",
            format!(
                "the user's client profile does not let users add their own statuses; only {only} may add one for \
                 them (origin ADMIN)"
            ),
        ));
    }
    let name = validate::name(&["name"], &input.name, 64)?;
    let message = input.message.as_deref().map(message).transpose()?.flatten();
    let (numbers, statuses) = user_rows(&txn, opened.user.id).await?;
    room_for(&statuses, &name)?;
    let re = input
        .remote_extension_id
        .map(|id| remote_extension(&numbers, id.key()))
        .transpose()?;
    let routing = first_routing(&input.targets, re, &numbers)?;
    let status = NewStatus {
        name,
        presence: input.presence,
        message,
        origin,
        remote_extension_id: re,
        routing,
    };
    let model = status.insert(&txn, p, &opened).await?;
    record_created(&txn, p, &opened, &model).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// The user has room for one more status, and none named `name` (ignoring case).
fn room_for(statuses: &[dynamic_status::Model], name: &str) -> ServiceResult<()> {
    if statuses.len() >= MAX_STATUSES {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "name",
            format!("a user has at most {MAX_STATUSES} statuses"),
        ));
    }
    if name_taken(statuses, name, None) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "name",
            "the user has a status of this name",
        ));
    }
    Ok(())
}

/// The new status's routing: each field as given (checked against the user's numbers), else the
/// default.
fn first_routing(
    given: &[Option<TargetInput>; 4],
    re: Option<Uuid>,
    numbers: &HashMap<Uuid, user_number::Model>,
) -> ServiceResult<[Target; 4]> {
    let mut routing = [(TargetKind::PbxDefault, None); 4];
    for (i, slot) in routing.iter_mut().enumerate() {
        *slot = match (given[i], re) {
            (Some(t), _) => targets::check(i, t, numbers)?,
            // R8: a remote extension set without callUsing/sendCallsTo fills them.
            (None, Some(re)) if i < 2 => (TargetKind::Number, Some(re)),
            (None, _) => (DEFAULT_TARGETS[i], None),
        };
    }
    Ok(routing)
}

/// A status checked and ready to insert.
struct NewStatus {
    name: String,
    presence: Presence,
    message: Option<String>,
    origin: StatusOrigin,
    remote_extension_id: Option<Uuid>,
    routing: [Target; 4],
}

impl NewStatus {
    /// Inserts the status for the opened user at version 1; a name taken meanwhile is the same
    /// error as the check.
    async fn insert(
        self,
        txn: &impl ConnectionTrait,
        p: &Principal,
        o: &Opened,
    ) -> ServiceResult<dynamic_status::Model> {
        let now = Utc::now();
        let mut am = dynamic_status::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(o.user.id),
            account_id: Set(o.account.id),
            name_key: Set(self.name.to_lowercase()),
            name: Set(self.name),
            presence: Set(self.presence),
            message: Set(self.message),
            origin: Set(self.origin),
            remote_extension_id: Set(self.remote_extension_id),
            version: Set(1),
            created_at: Set(now),
            created_by: Set(p.actor()),
            updated_at: Set(now),
            ..Default::default()
        };
        set_targets(&mut am, self.routing);
        am.insert(txn).await.map_err(conflict)
    }
}

/// Records the new status; the user's first status becomes the active one (R9), and that is
/// recorded too.
async fn record_created(
    txn: &impl ConnectionTrait,
    p: &Principal,
    o: &Opened,
    model: &dynamic_status::Model,
) -> ServiceResult<()> {
    let mut events = vec![status_created(model)];
    if o.remote.active_status_id.is_none() {
        set_active(txn, o.user.id, Some(model.id), entity::ActiveReason::Default).await?;
        events.push(active_changed(
            &o.user,
            Some(model),
            None,
            entity::ActiveReason::Default,
        ));
    }
    outbox::record_many(txn, p, events).await?;
    Ok(())
}

pub(in crate::service::remote) async fn profile(
    txn: &impl ConnectionTrait,
    o: &Opened,
) -> ServiceResult<client_profile::Model> {
    let id = reads::profile_id(Some(&o.remote), o.account.id);
    client_profile::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::Db(sea_orm::DbErr::RecordNotFound(format!("client profile {id}"))))
}
