//! The add-on of an account: activation (M1, M2), completion by Support (M3), settings changes
//! (M4, M6), the email flag (M5) and deactivation.

use entity::{MobilityState, access_number, mobility_account, mobility_user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{next_version, notify, open_account};
use crate::{
    config::MobilityDefaults,
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError,
        outbox::{self, Event},
        validate,
    },
};

/// What `mobilityActivate` takes.
#[derive(Clone, Debug, Default)]
pub struct Activation {
    /// The buyer confirms the purchase (M1).
    pub confirm_purchase: bool,
    /// Voicemail access number (3–15 digits).
    pub voicemail_access_number: String,
    /// One of the account's access numbers (`None`: an id that could not be read).
    pub access_number_id: Option<Uuid>,
    /// Reverse-dial number (10–15 digits); the configured default where left out (M2).
    pub reverse_dial_number: Option<String>,
    /// Handover number (10–15 digits); the configured default where left out (M2).
    pub handover_number: Option<String>,
}

/// What `mobilitySettingsUpdate` takes: `None` keeps a value.
#[derive(Clone, Debug, Default)]
pub struct SettingsChanges {
    /// The version the caller read (M4).
    pub expected_version: i64,
    /// New Mobility Router name.
    pub mobility_router: Option<String>,
    /// New group name.
    pub group_name: Option<String>,
    /// New voicemail access number.
    pub voicemail_access_number: Option<String>,
    /// New access number; `Some(None)` is an id that could not be read.
    pub access_number_id: Option<Option<Uuid>>,
    /// New reverse-dial number.
    pub reverse_dial_number: Option<String>,
    /// New handover number.
    pub handover_number: Option<String>,
}

fn event(account_id: Uuid, event_type: &'static str, payload: Value) -> Event {
    Event {
        event_type,
        account_id: Some(account_id),
        aggregate_type: "Mobility",
        aggregate_id: account_id,
        payload,
    }
}

/// Writes the add-on's new state, records `event_type` with `payload` and the new version, and
/// commits: the tail every add-on change shares.
async fn save(
    txn: DatabaseTransaction,
    p: &Principal,
    am: mobility_account::ActiveModel,
    event_type: &'static str,
    mut payload: Value,
) -> ServiceResult<mobility_account::Model> {
    let model = am.update(&txn).await?;
    payload["version"] = json!(model.version);
    outbox::record(&txn, p, event(model.account_id, event_type, payload)).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Keeps an `Ok` value, or records the failure in `errors`.
fn keep<T>(errors: &mut Vec<UserError>, r: Result<T, UserError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// An access number of `account_id`, or a `VALIDATION_FAILED` on `field` (an unknown id and
/// another account's answer alike, T1).
async fn account_access_number(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    id: Option<Uuid>,
    field: &[&str],
) -> ServiceResult<Result<access_number::Model, UserError>> {
    let found = match id {
        Some(id) => access_number::Entity::find_by_id(id)
            .one(db)
            .await?
            .filter(|a| a.account_id == account_id),
        None => None,
    };
    Ok(found.ok_or_else(|| {
        UserError::new(
            ErrorCode::ValidationFailed,
            field,
            "is not one of this account's access numbers",
        )
    }))
}

fn rejected(errors: Vec<UserError>) -> ServiceResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Rejected(errors))
    }
}

/// M1, M2: a Decision Maker, an account-wide Phone Manager or Support buys the add-on; it waits
/// for Support (`PENDING_SUPPORT`).
pub async fn activate(
    db: &impl db::Db,
    p: &Principal,
    defaults: &MobilityDefaults,
    account_id: Option<Uuid>,
    input: Activation,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (account, current) = open_account(&txn, p, account_id, &["accountId"], Principal::account_manager).await?;
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
    let payload = json!({
        "voicemailAccessNumber": voicemail,
        "accessNumberId": access.as_ref().map(|a| a.id),
        "reverseDialNumber": reverse,
        "handoverNumber": handover,
    });
    let mut am = next_version(&current, p);
    am.state = Set(MobilityState::PendingSupport);
    am.voicemail_access_number = Set(voicemail);
    am.access_number_id = Set(access.map(|a| a.id));
    am.reverse_dial_number = Set(reverse);
    am.handover_number = Set(handover);
    save(txn, p, am, "mobility.activation_requested", payload).await
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
    let (_, current) = open_account(&txn, p, account_id, &["accountId"], Principal::support_only).await?;
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
    let payload = json!({ "mobilityRouter": router, "groupName": group });
    let mut am = next_version(&current, p);
    am.state = Set(MobilityState::Active);
    am.mobility_router = Set(router);
    am.group_name = Set(group);
    save(txn, p, am, "mobility.activation_completed", payload).await
}

/// The six settings Support changes after activation (M4), in the order people read them.
pub const SETTINGS: [&str; 6] = [
    "mobilityRouter",
    "groupName",
    "voicemailAccessNumber",
    "accessNumber",
    "reverseDialNumber",
    "handoverNumber",
];

/// One changed setting: its API name, and its old and new values as people read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The setting's API name, e.g. `handoverNumber`.
    pub field: &'static str,
    /// The value before.
    pub old: Option<String>,
    /// The value after.
    pub new: Option<String>,
}

/// M4, M6: Support changes the six settings after activation, naming the version it read. A
/// change of at least one value with the email flag on queues one notification.
pub async fn update_settings(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    input: SettingsChanges,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (account, current) = open_account(&txn, p, account_id, &["accountId"], Principal::support_only).await?;
    if current.state == MobilityState::NotActivated {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            &["accountId"],
            "the add-on is not activated; activate it first",
        ));
    }
    if input.expected_version != current.version {
        return Err(ServiceError::reject(
            ErrorCode::StaleVersion,
            &["expectedVersion"],
            format!(
                "the settings changed since version {} (now {}); read them again",
                input.expected_version, current.version
            ),
        ));
    }
    let mut errors = Vec::new();
    let router = input
        .mobility_router
        .and_then(|v| keep(&mut errors, validate::name(&["mobilityRouter"], &v, 64)));
    let group = input
        .group_name
        .and_then(|v| keep(&mut errors, validate::name(&["groupName"], &v, 64)));
    let voicemail = input
        .voicemail_access_number
        .and_then(|v| keep(&mut errors, validate::digits(&["voicemailAccessNumber"], &v, 3, 15)));
    let reverse = input
        .reverse_dial_number
        .and_then(|v| keep(&mut errors, validate::digits(&["reverseDialNumber"], &v, 10, 15)));
    let handover = input
        .handover_number
        .and_then(|v| keep(&mut errors, validate::digits(&["handoverNumber"], &v, 10, 15)));
    let access = match input.access_number_id {
        Some(id) => keep(
            &mut errors,
            account_access_number(&txn, account.id, id, &["accessNumberId"]).await?,
        ),
        None => None,
    };
    rejected(errors)?;

    let mut changes = Vec::new();
    let mut note = |field: &'static str, old: &Option<String>, new: Option<String>| {
        if let Some(new) = new
            && old.as_ref() != Some(&new)
        {
            changes.push(Change {
                field,
                old: old.clone(),
                new: Some(new),
            });
        }
    };
    note("mobilityRouter", &current.mobility_router, router.clone());
    note("groupName", &current.group_name, group.clone());
    note(
        "voicemailAccessNumber",
        &current.voicemail_access_number,
        voicemail.clone(),
    );
    note("reverseDialNumber", &current.reverse_dial_number, reverse.clone());
    note("handoverNumber", &current.handover_number, handover.clone());
    let old_access = match current.access_number_id {
        Some(id) => access_number::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    };
    if let Some(new) = &access
        && current.access_number_id != Some(new.id)
    {
        changes.push(Change {
            field: "accessNumber",
            old: old_access.map(|a| a.number),
            new: Some(new.number.clone()),
        });
    }
    changes.sort_by_key(|c| SETTINGS.iter().position(|f| *f == c.field));
    if changes.is_empty() {
        return Ok(current);
    }

    let mut am = next_version(&current, p);
    am.mobility_router = Set(router.or(current.mobility_router));
    am.group_name = Set(group.or(current.group_name));
    am.voicemail_access_number = Set(voicemail.or(current.voicemail_access_number));
    am.access_number_id = Set(access.map(|a| a.id).or(current.access_number_id));
    am.reverse_dial_number = Set(reverse.or(current.reverse_dial_number));
    am.handover_number = Set(handover.or(current.handover_number));
    let model = am.update(&txn).await?;
    let listed: Vec<Value> = changes
        .iter()
        .map(|c| json!({ "field": c.field, "old": c.old, "new": c.new }))
        .collect();
    let mut events = vec![event(
        account.id,
        "mobility.settings_updated",
        json!({ "changes": listed, "version": model.version }),
    )];
    if model.send_email_notification {
        events.push(notify::queue(&txn, p, account.id, &listed).await?);
    }
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// M5: switches the settings-change emails on or off. It changes no other setting and sends
/// nothing by itself; setting the value it already has changes nothing.
pub async fn set_email_notification(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    enabled: bool,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (_, current) = open_account(&txn, p, account_id, &["accountId"], Principal::account_manager).await?;
    if current.send_email_notification == enabled {
        return Ok(current);
    }
    let mut am = next_version(&current, p);
    am.send_email_notification = Set(enabled);
    save(
        txn,
        p,
        am,
        "mobility.email_notification_changed",
        json!({ "enabled": enabled }),
    )
    .await
}

/// Support takes the add-on back to `NOT_ACTIVATED`, once no user is enabled. The settings stay
/// stored, so a later activation keeps them (M2).
pub async fn deactivate(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (account, current) = open_account(&txn, p, account_id, &["accountId"], Principal::support_only).await?;
    if current.state == MobilityState::NotActivated {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            &["accountId"],
            "the add-on is not activated",
        ));
    }
    let enabled = mobility_user::Entity::find()
        .filter(mobility_user::Column::AccountId.eq(account.id))
        .count(&txn)
        .await?;
    if enabled > 0 {
        return Err(ServiceError::reject(
            ErrorCode::UsersStillEnabled,
            &["accountId"],
            format!("{enabled} users are still enabled; disable them first"),
        ));
    }
    let mut am = next_version(&current, p);
    am.state = Set(MobilityState::NotActivated);
    save(txn, p, am, "mobility.deactivated", json!({})).await
}
