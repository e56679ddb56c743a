//! Changing and deleting a number (R3–R6, R11).

use chrono::Utc;
use entity::{NumberOrigin, dynamic_status, user_number};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{
    NumberChanges, call_through_allowed, check_number, conflict, held_elsewhere, label_taken, number_deleted,
    number_updated, reject, ringing::Ringing, user_rows,
};
use crate::service::remote::{Actor, Opened, RemoteSettings, open_user, reads};
use crate::{
    db,
    policy::{Access, Only, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult,
        directory::scope,
        error::not_found,
        outbox::{self, ev},
        validate,
    },
};

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
    let o = open_user(
        txn,
        p,
        cfg,
        owner,
        &["id"],
        Actor::SelfOrAdmin,
        ("number", "change this number"),
    )
    .await?;
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
    let admin = p.admin_on_user(scope(&o.user)) == Access::Allowed;
    let next = NextNumber::checked(&txn, &o, &current, changes, (&numbers, &statuses), admin).await?;
    let moves = next.moves(&current);
    let (mut am, changed) = next.into_row(&current);
    // The platform forgets the number it may hold; the new one is sent afresh (SPEC E3).
    if moves {
        crate::service::sync::withdraw::record(&txn, &current, &o.user.extension).await?;
    }
    if changed.is_empty() {
        return Ok(current);
    }
    am.updated_at = Set(Utc::now());
    let model = am.update(&txn).await.map_err(conflict)?;
    outbox::record(&txn, p, number_updated(&model, changed)).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// What a number holds after a change: each field as changed, or as it was.
struct NextNumber {
    label: String,
    number: String,
    is_re: bool,
    call_through: bool,
    ringing: Ringing,
}

impl NextNumber {
    /// Checks `changes` against the number and the user's other numbers and statuses, in the
    /// order a change reports its first error; `admin`: the caller covers the user (R12).
    async fn checked(
        txn: &impl ConnectionTrait,
        o: &Opened,
        current: &user_number::Model,
        changes: NumberChanges,
        (numbers, statuses): (&[user_number::Model], &[dynamic_status::Model]),
        admin: bool,
    ) -> ServiceResult<Self> {
        let label = changes
            .label
            .as_deref()
            .map(|l| validate::label(&["label"], l))
            .transpose()?
            .unwrap_or_else(|| current.label.clone());
        let is_re = changes.is_remote_extension.unwrap_or(current.is_remote_extension);
        let raw_number = changes.number.unwrap_or_else(|| current.number.clone());
        let number = unlocked_identity(o, current, raw_number, is_re, statuses)?;
        unique_for_user(numbers, current, &number, &label)?;
        remote_extension_allowed(numbers, current, is_re)?;
        let call_through = call_through(txn, o, current, changes.call_through, is_re).await?;
        let ringing = Ringing::changed(current, is_re, changes.ringing, admin)?;
        if is_re && (number != current.number || !current.is_remote_extension) {
            held_elsewhere(txn, o.user.id, &number).await?;
        }
        Ok(Self {
            label,
            number,
            is_re,
            call_through,
            ringing,
        })
    }

    /// Whether the number or its remote-extension flag changes: what the platform knows it by.
    fn moves(&self, current: &user_number::Model) -> bool {
        self.number != current.number || self.is_re != current.is_remote_extension
    }

    /// The number's row with these values, and the fields that differ from `current` as the
    /// event lists them.
    fn into_row(self, current: &user_number::Model) -> (user_number::ActiveModel, ev::Changes) {
        let moves = self.moves(current);
        let mut changed = ev::Changes::new();
        let mut am: user_number::ActiveModel = current.clone().into();
        if self.label != current.label {
            changed.insert("label".into(), ev::FieldChange::new(&current.label, &self.label));
            am.label_key = Set(self.label.to_lowercase());
            am.label = Set(self.label);
        }
        if self.number != current.number {
            changed.insert("number".into(), ev::FieldChange::new(&current.number, &self.number));
            am.number = Set(self.number.clone());
        }
        if self.is_re != current.is_remote_extension {
            changed.insert(
                "isRemoteExtension".into(),
                ev::FieldChange::new(current.is_remote_extension, self.is_re),
            );
            am.is_remote_extension = Set(self.is_re);
        }
        am.remote_number = Set(self.is_re.then(|| self.number.clone()));
        // A moved number is unlinked from the platform, to be exported afresh (SPEC E3).
        if moves {
            am.platform_id = Set(None);
            am.platform_number = Set(None);
            am.platform_linked_at = Set(None);
            am.platform_error = Set(None);
        }
        if self.call_through != current.call_through {
            changed.insert(
                "callThrough".into(),
                ev::FieldChange::new(current.call_through, self.call_through),
            );
            am.call_through = Set(self.call_through);
        }
        self.ringing.apply(current, &mut am, &mut changed);
        (am, changed)
    }
}

/// The number as it will be stored. Its number and remote-extension flag change only while it is
/// not locked (R5), and a changed one is checked against the flag it will carry (R3).
fn unlocked_identity(
    o: &Opened,
    current: &user_number::Model,
    raw_number: String,
    is_re: bool,
    statuses: &[dynamic_status::Model],
) -> ServiceResult<String> {
    if raw_number == current.number && is_re == current.is_remote_extension {
        return Ok(raw_number);
    }
    let active_re = reads::active_remote_extension(statuses, o.remote.active_status_id);
    let reasons = reads::lock_reasons(current, statuses, active_re);
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
    check_number(o, &raw_number, is_re).map_err(ServiceError::from)
}

/// R4: the number appears once among the user's numbers; R3: so does the label, ignoring case.
fn unique_for_user(
    numbers: &[user_number::Model],
    current: &user_number::Model,
    number: &str,
    label: &str,
) -> ServiceResult<()> {
    if number != current.number && numbers.iter().any(|n| n.id != current.id && n.number == number) {
        return Err(reject(
            ErrorCode::DuplicateNumber,
            "number",
            "the user has this number already",
        ));
    }
    if label_taken(numbers, label, Some(current.id)) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ));
    }
    Ok(())
}

/// R2: a user's own number becomes a remote extension only next to one an admin or the platform
/// provisioned.
fn remote_extension_allowed(
    numbers: &[user_number::Model],
    current: &user_number::Model,
    is_re: bool,
) -> ServiceResult<()> {
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
    Ok(())
}

/// The call-through flag after the change. Turning call through on is checked (R11); a number
/// that stops being a remote extension drops it, since it could never take effect.
async fn call_through(
    txn: &impl ConnectionTrait,
    o: &Opened,
    current: &user_number::Model,
    asked: Option<bool>,
    is_re: bool,
) -> ServiceResult<bool> {
    Ok(match asked {
        Some(true) if !current.call_through || !is_re => {
            call_through_allowed(txn, o, is_re).await?;
            true
        }
        Some(on) => on,
        None => current.call_through && is_re,
    })
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
                "only the platform sync may delete a number from the platform: remove it on the communication \
                 platform and the next sync removes it here",
            ));
        }
        NumberOrigin::Admin if !admin => {
            let only = Only::CoveringAdministrators;
            return Err(reject(
                ErrorCode::Forbidden,
                "id",
                format!("an administrator provisioned this number; only {only} may delete it"),
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
    outbox::record(&txn, p, number_deleted(&current)).await?;
    // The platform forgets it too (SPEC E3).
    crate::service::sync::withdraw::record(&txn, &current, &o.user.extension).await?;
    crate::service::commit(txn).await?;
    Ok(current.id)
}
