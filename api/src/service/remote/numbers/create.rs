//! Adding a number: for oneself, as an admin covering the user (R12), or from the platform sync
//! (origin `PLATFORM`).

use chrono::Utc;
use entity::{NumberOrigin, user_number};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use super::{
    NumberInput, call_through_allowed, check_number, conflict, held_elsewhere, label_taken, number_created, reject,
    ringing::Ringing, user_rows,
};
use crate::service::GivenId;
use crate::service::remote::{Actor, MAX_NUMBERS, Opened, Owner, RemoteSettings, open_for_create, open_user, reads};
use crate::{
    db,
    policy::Principal,
    service::{ErrorCode, ServiceError, ServiceResult, UserError, outbox, validate},
};

/// Adds a number for a user: for themself (`USER`), or as an admin covering the user (`ADMIN`,
/// R12). `user_id` `None` is the caller.
pub async fn create_number(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<GivenId>,
    input: NumberInput,
) -> ServiceResult<user_number::Model> {
    let Owner { txn, opened, origin } = open_for_create(db, p, cfg, user_id, input.origin).await?;
    if origin == NumberOrigin::Platform {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "origin",
            "platform numbers arrive only through the platform sync",
        ));
    }
    let model = add(&txn, p, cfg, &opened, input, origin).await?;
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
            "only the platform sync (as Support) may provision platform numbers",
        ));
    }
    let txn = db::begin_write(db).await?;
    let o = open_user(
        &txn,
        p,
        cfg,
        Some(user_id),
        &["userId"],
        Actor::Admin,
        ("user", "provision platform numbers"),
    )
    .await?;
    let input = NumberInput {
        label,
        number: number.to_owned(),
        is_remote_extension: true,
        call_through: false,
        origin: Some(NumberOrigin::Platform),
        ringing: Default::default(),
    };
    let model = add(&txn, p, cfg, &o, input, NumberOrigin::Platform).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Adds the number for the opened user with `origin`, recording its event.
async fn add(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    o: &Opened,
    input: NumberInput,
    origin: NumberOrigin,
) -> ServiceResult<user_number::Model> {
    let (number, label) = number_and_label(cfg, o, &input, origin)?;
    let (numbers, _) = user_rows(txn, o.user.id).await?;
    fits_among(&numbers, &input, origin, &number, &label)?;
    if input.call_through {
        call_through_allowed(txn, o, input.is_remote_extension).await?;
    }
    if input.is_remote_extension {
        held_elsewhere(txn, o.user.id, &number).await?;
    }
    // Who may give which origin is settled by now: whoever adds a number sets its ringing.
    let ringing = Ringing::DEFAULT.checked(origin, input.is_remote_extension, input.ringing, true)?;
    let now = Utc::now();
    let mut model = user_number::ActiveModel {
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
    };
    ringing.set(&mut model);
    let model = model.insert(txn).await.map_err(conflict)?;
    outbox::record(txn, p, number_created(&model)).await?;
    Ok(model)
}

/// The number checked against its flag (R3) and its label, both reported at once when bad.
fn number_and_label(
    cfg: &RemoteSettings,
    o: &Opened,
    input: &NumberInput,
    origin: NumberOrigin,
) -> ServiceResult<(String, String)> {
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
    Ok((number, label))
}

/// The new number fits among the user's `numbers`: room for one more, not there already (R4),
/// its label free (R3), and a user's own remote extension only next to a provisioned one (R2).
fn fits_among(
    numbers: &[user_number::Model],
    input: &NumberInput,
    origin: NumberOrigin,
    number: &str,
    label: &str,
) -> ServiceResult<()> {
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
    if label_taken(numbers, label, None) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "label",
            "another of the user's numbers has this label",
        ));
    }
    // R2: users add remote extensions only next to one an admin or the platform provisioned.
    if input.is_remote_extension && origin == NumberOrigin::User && !reads::can_add_remote_extension(numbers) {
        return Err(reject(
            ErrorCode::NoAdminRemoteExtension,
            "isRemoteExtension",
            "you can add a remote extension once an administrator has provisioned one for you",
        ));
    }
    Ok(())
}
