//! Connect for Mobile (SPEC §3): the account add-on (M1–M6), the users enabled for mobility
//! (M7–M12) and the reads behind the listings.
//!
//! Every write locks the account's `mobility_account` row first (`FOR UPDATE` on PostgreSQL;
//! SQLite's `BEGIN IMMEDIATE` serialises writers anyway). Writes of one account therefore run one
//! after another: a settings update sees exactly the users enabled when it commits (M6), a stale
//! `expectedVersion` is caught (M4), and a deactivation cannot overtake an enable.

mod addon;
mod notify;
mod reads;
mod retry;
mod users;

use chrono::Utc;
use entity::{MobilityState, Platform, account, mobility_account};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set, sea_query::OnConflict};
use uuid::Uuid;

pub use addon::{
    Activation, SettingsChanges, activate, complete_activation, deactivate, set_email_notification, update_settings,
};
pub use reads::*;
pub use retry::{RetryTarget, retry_notification};
pub use users::{EnableRow, Enabled, MAX_BATCH, disable_users, enable_users, mobility_of_users, update_user_extension};

use crate::{
    policy::{Access, Principal},
    service::{ErrorCode, ServiceError, ServiceResult, error::not_found},
};

/// Whether a phone profile may use Connect for Mobile (M7, M12): Essentials, Premier or Elite.
pub fn eligible(profile: entity::PhoneProfile) -> bool {
    use entity::PhoneProfile::*;
    matches!(profile, Essentials | Premier | Elite)
}

/// The add-on row of an account that never touched it.
pub fn untouched(account_id: Uuid) -> mobility_account::Model {
    mobility_account::Model {
        account_id,
        state: MobilityState::NotActivated,
        mobility_router: None,
        group_name: None,
        voicemail_access_number: None,
        access_number_id: None,
        reverse_dial_number: None,
        handover_number: None,
        send_email_notification: false,
        version: 0,
        updated_at: Utc::now(),
        updated_by: None,
    }
}

/// Opens an account for a mobility write inside `txn`: the account must be visible to the caller
/// (T1), the caller must pass `policy` (a refusal names who may `action`), the account must run
/// on MiCloud Connect (R1's twin for §3), and its add-on row is created when missing and locked
/// until the transaction ends.
pub(crate) async fn open_account(
    txn: &impl ConnectionTrait,
    p: &Principal,
    account_id: Option<Uuid>,
    field: &[&str],
    action: &str,
    policy: impl FnOnce(&Principal, Uuid) -> Access,
) -> ServiceResult<(account::Model, mobility_account::Model)> {
    let account =
        crate::service::directory::accounts::account_for_change(txn, p, account_id, field, "account", action, |id| {
            policy(p, id)
        })
        .await?;
    if account.platform != Platform::MicloudConnect {
        return Err(ServiceError::reject(
            ErrorCode::PlatformNotSupported,
            field,
            "Connect for Mobile needs an account on MiCloud Connect",
        ));
    }
    let row: mobility_account::ActiveModel = untouched(account.id).into();
    mobility_account::Entity::insert(row)
        .on_conflict(
            OnConflict::column(mobility_account::Column::AccountId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let state = mobility_account::Entity::find_by_id(account.id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| not_found(field, "account"))?;
    Ok((account, state))
}

/// The add-on row as an update of `current`: a new version, stamped with who and when.
fn next_version(current: &mobility_account::Model, p: &Principal) -> mobility_account::ActiveModel {
    let mut am: mobility_account::ActiveModel = current.clone().into();
    am.version = Set(current.version + 1);
    am.updated_at = Set(Utc::now());
    am.updated_by = Set(Some(p.actor()));
    am
}
