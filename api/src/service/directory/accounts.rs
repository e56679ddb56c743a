//! Accounts, locations and access numbers.

use chrono::Utc;
use entity::{Platform, access_number, account, location};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    db,
    policy::{Only, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult,
        error::{check, forbidden, not_found, on_unique},
        outbox::{self, Event, ev},
        validate,
    },
};

/// What `accountCreate` takes.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Display name.
    pub name: String,
    /// Platform.
    pub platform: Platform,
    /// Destination codes (default `["0"]`).
    pub destination_codes: Option<Vec<String>>,
    /// Fixed extension length.
    pub extension_length: Option<i32>,
}

/// Creates an account (Support only).
pub async fn create_account(
    db: &impl crate::db::Db,
    p: &Principal,
    input: NewAccount,
) -> ServiceResult<account::Model> {
    if !p.is_support() {
        return Err(forbidden(&[], Only::Support, "create accounts"));
    }
    let name = validate::name(&["name"], &input.name, 200)?;
    let codes = validate::destination_codes(&["destinationCodes"], input.destination_codes)?;
    let extension_length = validate::extension_length(&["extensionLength"], input.extension_length)?;
    let now = Utc::now();
    let txn = db::begin_write(db).await?;
    let model = account::ActiveModel {
        id: Set(Uuid::now_v7()),
        sort_name: Set(name.to_lowercase()),
        name: Set(name),
        platform: Set(input.platform),
        destination_codes: Set(codes.join(",")),
        extension_length: Set(extension_length),
        time_zone: Set("UTC".into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    crate::service::remote::create_default_profile(&txn, &model).await?;
    outbox::record(
        &txn,
        p,
        Event::AccountCreated(ev::AccountCreated {
            name: model.name.clone(),
            platform: input.platform.to_value(),
            destination_codes: model.destination_codes(),
            extension_length: model.extension_length,
        })
        .about(model.id, model.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Loads an account the principal may administer the directory of, to `action` (what a refusal
/// says the caller may not do: "only … may {action}").
pub(super) async fn admin_account(
    db: &impl sea_orm::ConnectionTrait,
    p: &Principal,
    account_id: Option<Uuid>,
    field: &[&str],
    action: &str,
) -> ServiceResult<account::Model> {
    account_for_change(db, p, account_id, field, "account", action, |id| p.directory_admin(id)).await
}

/// The account a change names, checked by `policy`. Every service that changes something of an
/// account opens it here, so that another tenant's account (T1) and an unknown id get one and
/// the same answer, word for word: `NOT_FOUND`, "no such {what}", with `what` the object the
/// caller named (the account, or a client profile of it). A caller `policy` refuses is told who
/// may take the `action`: `FORBIDDEN`, "only … may {action}".
pub(crate) async fn account_for_change(
    db: &impl sea_orm::ConnectionTrait,
    p: &Principal,
    account_id: Option<Uuid>,
    field: &[&str],
    what: &str,
    action: &str,
    policy: impl FnOnce(Uuid) -> crate::policy::Access,
) -> ServiceResult<account::Model> {
    let Some(account_id) = account_id.filter(|id| p.sees_account(*id)) else {
        return Err(not_found(field, what));
    };
    let account = account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .ok_or_else(|| not_found(field, what))?;
    check(policy(account.id), field, what, action)?;
    Ok(account)
}

/// Creates a location (Support, or a Decision Maker of the account). Names are unique per
/// account, ignoring case.
pub async fn create_location(
    db: &impl crate::db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    name: &str,
) -> ServiceResult<location::Model> {
    let account = admin_account(db, p, account_id, &["accountId"], "add locations to the account").await?;
    let name = validate::name(&["name"], name, 200)?;
    let duplicate = || {
        ServiceError::reject(
            ErrorCode::ValidationFailed,
            &["name"],
            "a location with this name exists",
        )
    };
    let txn = db::begin_write(db).await?;
    let exists = location::Entity::find()
        .filter(location::Column::AccountId.eq(account.id))
        .filter(location::Column::SortName.eq(name.to_lowercase()))
        .one(&txn)
        .await?;
    if exists.is_some() {
        return Err(duplicate());
    }
    let model = location::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        sort_name: Set(name.to_lowercase()),
        name: Set(name),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| on_unique(e, duplicate))?;
    outbox::record(
        &txn,
        p,
        Event::LocationCreated(ev::Named {
            name: model.name.clone(),
        })
        .about(account.id, model.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Adds an access number to an account (Support, or a Decision Maker of the account).
pub async fn create_access_number(
    db: &impl crate::db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    number: &str,
    label: &str,
) -> ServiceResult<access_number::Model> {
    let account = admin_account(db, p, account_id, &["accountId"], "add access numbers to the account").await?;
    let number = validate::phone_number(&["number"], number)?;
    let label = validate::label(&["label"], label)?;
    let duplicate = || {
        ServiceError::reject(
            ErrorCode::DuplicateNumber,
            &["number"],
            "this account has this access number already",
        )
    };
    let txn = db::begin_write(db).await?;
    let model = access_number::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        number: Set(number),
        label: Set(label),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| on_unique(e, duplicate))?;
    outbox::record(
        &txn,
        p,
        Event::AccessNumberCreated(ev::AccessNumberCreated {
            number: model.number.clone(),
            label: model.label.clone(),
        })
        .about(account.id, model.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}
