//! The add-on of an account: activation (M1, M2), completion by Support (M3), settings changes
//! (M4, M6), the email flag (M5) and deactivation.

mod activation;
mod settings;

use entity::{MobilityState, access_number, mobility_account, mobility_user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

pub use activation::{activate, complete_activation};
pub use settings::update_settings;

use super::{next_version, open_account};
use crate::service::GivenId;
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError,
        outbox::{self, Event, ev},
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
    /// The dialog's "Send email notification" checkbox (M1); `None` keeps the stored value.
    pub send_email_notification: Option<bool>,
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
    /// New access number (`None` keeps it).
    pub access_number_id: Option<GivenId>,
    /// New reverse-dial number.
    pub reverse_dial_number: Option<String>,
    /// New handover number.
    pub handover_number: Option<String>,
}

/// Writes the add-on's new state, records the event `made` of its new version, and commits: the
/// tail every add-on change shares.
async fn save(
    txn: DatabaseTransaction,
    p: &Principal,
    am: mobility_account::ActiveModel,
    made: impl FnOnce(i64) -> Event,
) -> ServiceResult<mobility_account::Model> {
    let model = am.update(&txn).await?;
    let entry = made(model.version).about(model.account_id, model.account_id);
    outbox::record(&txn, p, entry).await?;
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

/// M5: switches the settings-change emails on or off. It changes no other setting and sends
/// nothing by itself; setting the value it already has changes nothing.
pub async fn set_email_notification(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    enabled: bool,
) -> ServiceResult<mobility_account::Model> {
    let txn = db::begin_write(db).await?;
    let (_, current) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "turn the settings-change emails on or off",
        Principal::account_manager,
    )
    .await?;
    if current.send_email_notification == enabled {
        return Ok(current);
    }
    let mut am = next_version(&current, p);
    am.send_email_notification = Set(enabled);
    save(txn, p, am, |version| {
        Event::MobilityEmailNotificationChanged(ev::EmailNotificationChanged { enabled, version })
    })
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
    let (account, current) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "deactivate Connect for Mobile",
        Principal::support_only,
    )
    .await?;
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
    save(txn, p, am, |version| {
        Event::MobilityDeactivated(ev::Versioned { version })
    })
    .await
}
