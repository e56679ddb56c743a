//! The six settings Support changes after activation (M4), and the notification a change
//! queues when the email flag is on (M6).

use entity::{MobilityState, access_number, mobility_account};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use uuid::Uuid;

use super::{SettingsChanges, account_access_number, keep, rejected};
use crate::service::mobility::{next_version, notify, open_account};
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult,
        outbox::{self, Event, ev},
        validate,
    },
};

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
            account_access_number(&txn, account.id, id.key(), &["accessNumberId"]).await?,
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
    let listed: Vec<ev::SettingChange> = changes
        .into_iter()
        .map(|c| ev::SettingChange {
            field: c.field.to_owned(),
            old: c.old,
            new: c.new,
        })
        .collect();
    let mut events = vec![
        Event::MobilitySettingsUpdated(ev::SettingsUpdated {
            changes: listed.clone(),
            version: model.version,
        })
        .about(account.id, account.id),
    ];
    if model.send_email_notification {
        events.push(notify::queue(&txn, p, account.id, &listed).await?);
    }
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}
