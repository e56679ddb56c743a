//! Activation: a buyer asks for the add-on (M1, M2) and Support completes it (M3).

use entity::{MobilityState, mobility_account};
use sea_orm::Set;
use uuid::Uuid;

use super::{Activation, account_access_number, keep, rejected, save};
use crate::service::mobility::{next_version, open_account};
use crate::{
    config::MobilityDefaults,
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult,
        outbox::{Event, ev},
        validate,
    },
};

/// M1, M2: a Decision Maker, an account-wide Phone Manager or Support buys the add-on; it waits
/// for Support (`PENDING_SUPPORT`). The dialog's "Send email notification" checkbox is set in the
/// same transaction; left out, the stored value stays.
pub async fn activate(
    db: &impl db::Db,
    p: &Principal,
    defaults: &MobilityDefaults,
    account_id: Option<Uuid>,
    input: Activation,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (account, current) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "activate Connect for Mobile",
        Principal::account_manager,
    )
    .await?;
    if current.state != MobilityState::NotActivated {
        return Err(ServiceError::reject(
            ErrorCode::AlreadyActivated,
            &["accountId"],
            "Connect for Mobile is already activated for this account",
        ));
    }
    if !input.confirm_purchase {
        return Err(ServiceError::reject(
            ErrorCode::PurchaseNotConfirmed,
            &["confirmPurchase"],
            "confirm the purchase of the add-on",
        ));
    }
    let mut errors = Vec::new();
    let voicemail = keep(
        &mut errors,
        validate::digits(&["voicemailAccessNumber"], &input.voicemail_access_number, 3, 15),
    );
    let access = keep(
        &mut errors,
        account_access_number(&txn, account.id, input.access_number_id, &["accessNumberId"]).await?,
    );
    // M2: a stored value stays; otherwise the input, otherwise the configured default.
    let mut fill = |stored: &Option<String>, given: Option<String>, default: &str, field: &str| match stored
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        Some(kept) => Some(kept.to_owned()),
        None => match given {
            Some(given) => keep(&mut errors, validate::digits(&[field], &given, 10, 15)),
            None => Some(default.to_owned()),
        },
    };
    let reverse = fill(
        &current.reverse_dial_number,
        input.reverse_dial_number,
        &defaults.reverse_dial_number,
        "reverseDialNumber",
    );
    let handover = fill(
        &current.handover_number,
        input.handover_number,
        &defaults.handover_number,
        "handoverNumber",
    );
    rejected(errors)?;
    let email = input.send_email_notification.unwrap_or(current.send_email_notification);
    let requested = ev::ActivationRequested {
        voicemail_access_number: voicemail.clone(),
        access_number_id: access.as_ref().map(|a| a.id),
        reverse_dial_number: reverse.clone(),
        handover_number: handover.clone(),
        send_email_notification: Some(email),
        version: 0,
    };
    let mut am = next_version(&current, p);
    am.state = Set(MobilityState::PendingSupport);
    am.voicemail_access_number = Set(voicemail);
    am.access_number_id = Set(access.map(|a| a.id));
    am.reverse_dial_number = Set(reverse);
    am.handover_number = Set(handover);
    am.send_email_notification = Set(email);
    save(txn, p, am, |version| {
        Event::MobilityActivationRequested(ev::ActivationRequested { version, ..requested })
    })
    .await
}

/// M3: Support finishes the set-up on the Mobility Router; the add-on becomes `ACTIVE`.
pub async fn complete_activation(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    mobility_router: &str,
    group_name: &str,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (_, current) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "complete the activation of Connect for Mobile",
        Principal::support_only,
    )
    .await?;
    if current.state != MobilityState::PendingSupport {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            &["accountId"],
            "the add-on is not waiting for Support",
        ));
    }
    let mut errors = Vec::new();
    let router = keep(&mut errors, validate::name(&["mobilityRouter"], mobility_router, 64));
    let group = keep(&mut errors, validate::name(&["groupName"], group_name, 64));
    rejected(errors)?;
    let completed = ev::ActivationCompleted {
        mobility_router: router.clone(),
        group_name: group.clone(),
        version: 0,
    };
    let mut am = next_version(&current, p);
    am.state = Set(MobilityState::Active);
    am.mobility_router = Set(router);
    am.group_name = Set(group);
    save(txn, p, am, |version| {
        Event::MobilityActivationCompleted(ev::ActivationCompleted { version, ..completed })
    })
    .await
}
