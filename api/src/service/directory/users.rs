//! Users: their directory fields and how a row is validated, shared by create and bulk import
//! (all-or-nothing: `user_import.rs`) and update (`user_update.rs`).

use std::collections::HashSet;

use entity::{PhoneProfile, account, location, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::user_import;
use crate::service::GivenId;
use crate::{
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError, error::unique_violation, remote::RemoteSettings, validate,
    },
};

/// Most rows one `usersImport` may carry.
pub const MAX_IMPORT_ROWS: usize = 1000;

/// A user's directory fields, as given (before validation).
#[derive(Clone, Debug)]
pub struct UserFields {
    /// Location (`None`: no location).
    pub location_id: Option<GivenId>,
    /// Name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Extension.
    pub extension: String,
    /// Phone profile.
    pub phone_profile: PhoneProfile,
}

/// A row that passed validation.
pub(super) struct ValidUser {
    pub(super) location_id: Option<Uuid>,
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) phone_number: Option<String>,
    pub(super) extension: String,
    pub(super) phone_profile: PhoneProfile,
}

pub(super) fn search_text(name: &str, email: Option<&str>, phone: Option<&str>, extension: &str) -> String {
    [Some(name), email, phone, Some(extension)]
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

pub(super) async fn account_locations(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<HashSet<Uuid>, sea_orm::DbErr> {
    Ok(location::Entity::find()
        .filter(location::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect())
}

/// Validates one row, collecting every failure rather than stopping at the first.
pub(super) fn validate_row(
    fields: &UserFields,
    account: &account::Model,
    locations: &HashSet<Uuid>,
) -> Result<ValidUser, Vec<UserError>> {
    let mut errors = Vec::new();
    let mut keep = |r: Result<String, UserError>| r.map_err(|e| errors.push(e)).ok();
    let name = keep(validate::name(&["name"], &fields.name, 200));
    let email = fields
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(|e| keep(validate::email(&["email"], e)));
    let phone = fields
        .phone_number
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| keep(validate::phone_number(&["phoneNumber"], p)));
    let extension = keep(validate::extension(
        &["extension"],
        &fields.extension,
        account.extension_length,
    ));
    let location_id = match fields.location_id {
        Some(GivenId::Key(id)) if locations.contains(&id) => Some(id),
        Some(_) => {
            errors.push(UserError::new(ErrorCode::NotFound, &["locationId"], "no such location"));
            None
        }
        None => None,
    };
    match (name, email, phone, extension) {
        (Some(name), email, phone, Some(extension)) if errors.is_empty() => Ok(ValidUser {
            location_id,
            name,
            email: email.flatten(),
            phone_number: phone.flatten(),
            extension,
            phone_profile: fields.phone_profile,
        }),
        _ => Err(errors),
    }
}

pub(super) fn conflict_from_db(err: sea_orm::DbErr, prefix: &[String]) -> ServiceError {
    match unique_violation(&err) {
        // PostgreSQL names the index, SQLite the columns.
        Some(msg) if msg.contains("idx_app_user_account_email") || msg.contains("app_user.email") => UserError::new(
            ErrorCode::ValidationFailed,
            &["email"],
            "another user of this account has this email address",
        )
        .under(prefix)
        .into(),
        Some(_) => UserError::new(
            ErrorCode::ExtensionConflict,
            &["extension"],
            "another user of this account has this extension",
        )
        .under(prefix)
        .into(),
        None => err.into(),
    }
}

/// Creates one user (Support, or a Decision Maker of the account).
pub async fn create_user(
    db: &impl crate::db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    account_id: Option<Uuid>,
    fields: UserFields,
) -> ServiceResult<user::Model> {
    let mut users = user_import::import(db, p, cfg, account_id, vec![fields], false).await?;
    users.pop().ok_or(ServiceError::Db(sea_orm::DbErr::RecordNotInserted))
}

/// Creates many users at once: all or nothing, every bad row reported with its index.
pub async fn import_users(
    db: &impl crate::db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    account_id: Option<Uuid>,
    rows: Vec<UserFields>,
) -> ServiceResult<Vec<user::Model>> {
    user_import::import(db, p, cfg, account_id, rows, true).await
}
