//! The six settings Support changes after activation (M4), and the notification a change
//! queues when the email flag is on (M6).

use entity::{MobilityState, access_number, mobility_account};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
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
    let (account, current) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "change the mobility settings",
        Principal::support_only,
    )
    .await?;
    changeable(&current, input.expected_version)?;
    let asked = Asked::checked(&txn, account.id, input).await?;
    let changes = asked.changes_from(&txn, &current).await?;
    if changes.is_empty() {
        return Ok(current);
    }
    let model = asked.save(&txn, p, &current).await?;
    record_changes(&txn, p, account.id, &model, changes).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// The settings change only after activation, and only from the version the caller read (M4).
fn changeable(current: &mobility_account::Model, expected_version: i64) -> ServiceResult<()> {
    if current.state == MobilityState::NotActivated {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            &["accountId"],
            "the add-on is not activated; activate it first",
        ));
    }
    if expected_version != current.version {
        return Err(ServiceError::reject(
            ErrorCode::StaleVersion,
            &["expectedVersion"],
            format!(
                "the settings changed since version {} (now {}); read them again",
                expected_version, current.version
            ),
        ));
    }
    Ok(())
}

/// The settings a change asks for, checked; `None` keeps a setting.
struct Asked {
    router: Option<String>,
    group: Option<String>,
    voicemail: Option<String>,
    access: Option<access_number::Model>,
    reverse: Option<String>,
    handover: Option<String>,
}

impl Asked {
    /// Checks every value asked for, reporting every bad one at once; the access number must be
    /// one of the account's.
    async fn checked(txn: &impl ConnectionTrait, account_id: Uuid, input: SettingsChanges) -> ServiceResult<Self> {
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
                account_access_number(txn, account_id, id.key(), &["accessNumberId"]).await?,
            ),
            None => None,
        };
        rejected(errors)?;
        Ok(Self {
            router,
            group,
            voicemail,
            access,
            reverse,
            handover,
        })
    }

    /// The settings whose value this changes, old and new as people read them, in [`SETTINGS`]
    /// order.
    async fn changes_from(
        &self,
        txn: &impl ConnectionTrait,
        current: &mobility_account::Model,
    ) -> ServiceResult<Vec<Change>> {
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
        note("mobilityRouter", &current.mobility_router, self.router.clone());
        note("groupName", &current.group_name, self.group.clone());
        note(
            "voicemailAccessNumber",
            &current.voicemail_access_number,
            self.voicemail.clone(),
        );
        note("reverseDialNumber", &current.reverse_dial_number, self.reverse.clone());
        note("handoverNumber", &current.handover_number, self.handover.clone());
        let old_access = match current.access_number_id {
            Some(id) => access_number::Entity::find_by_id(id).one(txn).await?,
            None => None,
        };
        if let Some(new) = &self.access
            && current.access_number_id != Some(new.id)
        {
            changes.push(Change {
                field: "accessNumber",
                old: old_access.map(|a| a.number),
                new: Some(new.number.clone()),
            });
        }
        changes.sort_by_key(|c| SETTINGS.iter().position(|f| *f == c.field));
        Ok(changes)
    }

    /// Writes the add-on's next version with these settings.
    async fn save(
        self,
        txn: &impl ConnectionTrait,
        p: &Principal,
        current: &mobility_account::Model,
    ) -> ServiceResult<mobility_account::Model> {
        let mut am = next_version(current, p);
        am.mobility_router = Set(self.router.or_else(|| current.mobility_router.clone()));
        am.group_name = Set(self.group.or_else(|| current.group_name.clone()));
        am.voicemail_access_number = Set(self.voicemail.or_else(|| current.voicemail_access_number.clone()));
        am.access_number_id = Set(self.access.map(|a| a.id).or(current.access_number_id));
        am.reverse_dial_number = Set(self.reverse.or_else(|| current.reverse_dial_number.clone()));
        am.handover_number = Set(self.handover.or_else(|| current.handover_number.clone()));
        Ok(am.update(txn).await?)
    }
}

/// Records the settings change and, with the email flag on, queues its notification (M6).
async fn record_changes(
    txn: &impl ConnectionTrait,
    p: &Principal,
    account_id: Uuid,
    model: &mobility_account::Model,
    changes: Vec<Change>,
) -> ServiceResult<()> {
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
        .about(account_id, account_id),
    ];
    if model.send_email_notification {
        events.push(notify::queue(txn, p, account_id, &listed).await?);
    }
    outbox::record_many(txn, p, events).await?;
    Ok(())
}
