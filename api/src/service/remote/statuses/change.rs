//! Changing, deleting and activating a status (R7–R10).

use std::collections::HashMap;

use chrono::Utc;
use entity::{Presence, StatusOrigin, TargetKind, dynamic_status, user_number};
use sea_orm::{ActiveEnum, ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{
    StatusChanges, conflict, message, name_taken, reject, remote_extension, set_targets, target, targets_of, user_rows,
};
use crate::service::Change;
use crate::service::remote::targets::Target;
use crate::service::remote::{Actor, Opened, RemoteSettings, active_changed, open_user, set_active, targets};
use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceResult,
        directory::scope,
        error::not_found,
        outbox::{self, Event, ev},
        validate,
    },
};

/// Opens the user a status belongs to, and reads the status again under the user's lock.
pub(in crate::service::remote) async fn open_status(
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
    let o = open_user(
        txn,
        p,
        cfg,
        owner,
        &["id"],
        Actor::SelfOrAdmin,
        ("status", "change this status"),
    )
    .await?;
    let status = match id {
        Some(id) => dynamic_status::Entity::find_by_id(id).one(txn).await?,
        None => None,
    }
    .filter(|s| s.user_id == o.user.id)
    .ok_or_else(|| not_found(&["id"], "status"))?;
    Ok((o, status))
}

/// R10: users cannot change or delete admin statuses; admins covering the user can.
pub(in crate::service::remote) fn writable(
    p: &Principal,
    o: &Opened,
    status: &dynamic_status::Model,
) -> ServiceResult<()> {
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
    read_at_version(&current, changes.expected_version)?;
    let (numbers, statuses) = user_rows(&txn, o.user.id).await?;
    let next = NextStatus::checked(&current, changes, &numbers, &statuses)?;
    let changed = next.changes_from(&current);
    if changed.is_empty() {
        return Ok(current);
    }
    // The active remote extension follows the active status (R9): say so when it moved.
    let active_re_moved =
        o.remote.active_status_id == Some(current.id) && next.remote_extension_id != current.remote_extension_id;
    let model = next.save(&txn, current).await?;
    let mut events = vec![
        Event::DynamicStatusUpdated(ev::StatusChanged {
            user_id: model.user_id,
            version: model.version,
            changes: changed,
        })
        .about(model.account_id, model.id),
    ];
    if active_re_moved {
        events.push(active_changed(
            &o.user,
            Some(&model),
            Some(model.id),
            o.remote.active_reason,
        ));
    }
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// The change names the version the status is at, if it names one (`STALE_VERSION` otherwise).
fn read_at_version(current: &dynamic_status::Model, expected: Option<i64>) -> ServiceResult<()> {
    if let Some(expected) = expected
        && expected != current.version
    {
        return Err(reject(
            ErrorCode::StaleVersion,
            "expectedVersion",
            format!("the status is at version {}; read it again", current.version),
        ));
    }
    Ok(())
}

/// What a status holds after a change: each field as changed, or as it was.
struct NextStatus {
    name: String,
    presence: Presence,
    message: Option<String>,
    remote_extension_id: Option<Uuid>,
    routing: [Target; 4],
}

impl NextStatus {
    /// Checks `changes` against the user's numbers and other statuses, in the order a change
    /// reports its first error: the name, the message, the remote extension (R7), the routing (R8).
    fn checked(
        current: &dynamic_status::Model,
        changes: StatusChanges,
        numbers: &HashMap<Uuid, user_number::Model>,
        statuses: &[dynamic_status::Model],
    ) -> ServiceResult<Self> {
        let name = match &changes.name {
            Some(raw) => validate::name(&["name"], raw, 64)?,
            None => current.name.clone(),
        };
        if name_taken(statuses, &name, Some(current.id)) {
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
                let re = remote_extension(numbers, id.key())?;
                (Some(re), Some(re))
            }
        };
        let mut routing = targets_of(current);
        for (i, slot) in routing.iter_mut().enumerate() {
            match (changes.targets[i], re_set) {
                (Some(t), _) => *slot = targets::check(i, t, numbers)?,
                (None, Some(re)) if i < 2 => *slot = (TargetKind::Number, Some(re)),
                (None, _) => {}
            }
        }
        Ok(Self {
            name,
            presence: changes.presence.unwrap_or(current.presence),
            message,
            remote_extension_id: re,
            routing,
        })
    }

    /// The fields that differ from `current`, old and new, as the event lists them.
    fn changes_from(&self, current: &dynamic_status::Model) -> ev::Changes {
        let mut changed = ev::Changes::new();
        if self.name != current.name {
            changed.insert("name".into(), ev::FieldChange::new(&current.name, &self.name));
        }
        if self.presence != current.presence {
            changed.insert(
                "presence".into(),
                ev::FieldChange::new(current.presence.to_value(), self.presence.to_value()),
            );
        }
        if self.message != current.message {
            changed.insert("message".into(), ev::FieldChange::new(&current.message, &self.message));
        }
        if self.remote_extension_id != current.remote_extension_id {
            changed.insert(
                "remoteExtensionId".into(),
                ev::FieldChange::new(current.remote_extension_id, self.remote_extension_id),
            );
        }
        for ((field, old), new) in targets::FIELDS.iter().zip(targets_of(current)).zip(self.routing) {
            if old != new {
                changed.insert((*field).into(), ev::FieldChange::new(target(old), target(new)));
            }
        }
        changed
    }

    /// Writes the status as its next version; a name taken meanwhile is the same error as the
    /// check.
    async fn save(
        self,
        txn: &impl ConnectionTrait,
        current: dynamic_status::Model,
    ) -> ServiceResult<dynamic_status::Model> {
        let version = current.version + 1;
        let mut am: dynamic_status::ActiveModel = current.into();
        am.name_key = Set(self.name.to_lowercase());
        am.name = Set(self.name);
        am.presence = Set(self.presence);
        am.message = Set(self.message);
        am.remote_extension_id = Set(self.remote_extension_id);
        set_targets(&mut am, self.routing);
        am.version = Set(version);
        am.updated_at = Set(Utc::now());
        am.update(txn).await.map_err(conflict)
    }
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
    let event = Event::DynamicStatusDeleted(ev::StatusDeleted {
        user_id: current.user_id,
        name: current.name.clone(),
    })
    .about(current.account_id, current.id);
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
    set_active(&txn, o.user.id, Some(status.id), entity::ActiveReason::Manual).await?;
    outbox::record(
        &txn,
        p,
        active_changed(
            &o.user,
            Some(&status),
            o.remote.active_status_id,
            entity::ActiveReason::Manual,
        ),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(status)
}
