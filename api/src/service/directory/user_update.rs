//! `userUpdate`: changes a user's directory fields, reading and writing the row under one lock so
//! that concurrent updates never lose each other's changes.

use chrono::Utc;
use entity::{ClaimKind, PhoneProfile, user};
use sea_orm::{ActiveEnum, ActiveModelTrait, DatabaseTransaction, EntityTrait, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    accounts::admin_account,
    users::{UserFields, ValidUser, account_locations, conflict_from_db, search_text, validate_row},
};
use crate::service::{Change, GivenId};
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult,
        error::not_found,
        extension_claims,
        outbox::{self, Event, ev},
    },
};

/// What `userUpdate` changes: `None` and [`Change::Keep`] keep a field.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// New location.
    pub location_id: Change<GivenId>,
    /// New name.
    pub name: Option<String>,
    /// New email address.
    pub email: Change<String>,
    /// New phone number.
    pub phone_number: Change<String>,
    /// New extension.
    pub extension: Option<String>,
    /// New phone profile.
    pub phone_profile: Option<PhoneProfile>,
}

impl UserChanges {
    /// The user's fields once these changes are made to `current`.
    fn applied_to(self, current: &user::Model) -> UserFields {
        UserFields {
            location_id: (self.location_id).applied_to(current.location_id.map(GivenId::Key)),
            name: self.name.unwrap_or_else(|| current.name.clone()),
            email: self.email.applied_to(current.email.clone()),
            phone_number: self.phone_number.applied_to(current.phone_number.clone()),
            extension: self.extension.unwrap_or_else(|| current.extension.clone()),
            phone_profile: self.phone_profile.unwrap_or(current.phone_profile),
        }
    }
}

/// Changes a user's directory fields (Support, or a Decision Maker of the account). A request
/// that changes nothing records no event.
pub async fn update_user(
    db: &impl crate::db::Db,
    p: &Principal,
    user_id: Option<Uuid>,
    changes: UserChanges,
) -> ServiceResult<user::Model> {
    let field = ["id"];
    let txn = db::begin_write(db).await?;
    let current = locked_user(&txn, p, user_id, &field).await?;
    let account = admin_account(&txn, p, Some(current.account_id), &field, "change users of the account").await?;
    let locations = account_locations(&txn, account.id).await?;
    let fields = changes.applied_to(&current);
    let v = validate_row(&fields, &account, &locations).map_err(ServiceError::Rejected)?;
    let diff = changed_fields(&current, &v);
    if diff.is_empty() {
        return Ok(current);
    }
    if v.extension != current.extension {
        move_extension_claim(&txn, &current, &v.extension).await?;
    }
    let moved = v.location_id != current.location_id;
    let model = write_fields(&txn, current, v).await?;
    if moved {
        outbox::user_moved(&txn, model.id, model.location_id).await?;
    }
    outbox::record(
        &txn,
        p,
        Event::UserUpdated(ev::Changed { changes: diff }).about(model.account_id, model.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// The user the caller knows by `user_id`, read and locked for this update.
///
/// The row is read inside the write transaction and locked (`FOR UPDATE` on PostgreSQL; SQLite's
/// `BEGIN IMMEDIATE` already serialises writers), so the update and its event are computed from
/// what is stored, not from a copy another request may have overtaken.
async fn locked_user(
    txn: &DatabaseTransaction,
    p: &Principal,
    user_id: Option<Uuid>,
    field: &[&str],
) -> ServiceResult<user::Model> {
    let found = match user_id {
        Some(id) => user::Entity::find_by_id(id).lock_exclusive().one(txn).await?,
        None => None,
    };
    found
        .filter(|u| p.knows_user(super::scope(u)))
        .ok_or_else(|| not_found(field, "user"))
}

/// The fields whose stored value `v` changes, old and new (the event's `changes`).
fn changed_fields(current: &user::Model, v: &ValidUser) -> ev::Changes {
    let mut diff = ev::Changes::new();
    let mut note = |name: &str, old: Value, new: Value| {
        if old != new {
            diff.insert(name.to_owned(), ev::FieldChange { old, new });
        }
    };
    note("name", json!(current.name), json!(v.name));
    note("email", json!(current.email), json!(v.email));
    note("phoneNumber", json!(current.phone_number), json!(v.phone_number));
    note("extension", json!(current.extension), json!(v.extension));
    note(
        "phoneProfile",
        json!(current.phone_profile.to_value()),
        json!(v.phone_profile.to_value()),
    );
    note("locationId", json!(current.location_id), json!(v.location_id));
    diff
}

/// Moves the user's extension claim to `extension`, refused when another user or a mobility
/// record of the account holds it.
async fn move_extension_claim(
    txn: &DatabaseTransaction,
    current: &user::Model,
    extension: &String,
) -> ServiceResult<()> {
    if let Some(claim) = extension_claims::taken(txn, current.account_id, std::slice::from_ref(extension))
        .await?
        .remove(extension)
    {
        return Err(ServiceError::reject(
            ErrorCode::ExtensionConflict,
            &["extension"],
            extension_claims::conflict_message(claim.kind),
        ));
    }
    extension_claims::release(txn, current.account_id, ClaimKind::User, &[current.id]).await?;
    extension_claims::claim(
        txn,
        current.account_id,
        ClaimKind::User,
        [(extension.clone(), current.id)],
    )
    .await
    .map_err(|e| conflict_from_db(e, &[]))?;
    Ok(())
}

/// Writes the validated fields over the stored row (with its sort name and search text).
async fn write_fields(txn: &DatabaseTransaction, current: user::Model, v: ValidUser) -> ServiceResult<user::Model> {
    let mut am: user::ActiveModel = current.into();
    am.sort_name = Set(v.name.to_lowercase());
    am.search_text = Set(search_text(
        &v.name,
        v.email.as_deref(),
        v.phone_number.as_deref(),
        &v.extension,
    ));
    am.name = Set(v.name);
    am.email = Set(v.email);
    am.phone_number = Set(v.phone_number);
    am.extension = Set(v.extension);
    am.phone_profile = Set(v.phone_profile);
    am.location_id = Set(v.location_id);
    am.updated_at = Set(Utc::now());
    am.update(txn).await.map_err(|e| conflict_from_db(e, &[]))
}
