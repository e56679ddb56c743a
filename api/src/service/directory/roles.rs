//! Role assignments (SPEC §1): granted and revoked by Support or a Decision Maker of the account.

use chrono::Utc;
use entity::{Role, location, role_assignment, user};
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, EntityTrait, ModelTrait, QueryFilter, Set};
use uuid::Uuid;

use super::accounts::admin_account;
use crate::service::GivenId;
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult,
        error::{not_found, unique_violation},
        outbox::{self, Event, ev},
    },
};

/// Resolves the user and optional location of a role request, checking the caller's rights.
async fn target(
    db: &impl crate::db::Db,
    p: &Principal,
    user_id: Option<Uuid>,
    role: Role,
    location_id: Option<GivenId>,
) -> ServiceResult<(user::Model, Option<Uuid>)> {
    let user = match user_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?,
        None => None,
    }
    .filter(|u| p.knows_user(super::scope(u)))
    .ok_or_else(|| not_found(&["userId"], "user"))?;
    admin_account(db, p, Some(user.account_id), &["userId"], "assign or revoke roles").await?;
    let location = match location_id {
        None => None,
        Some(id) => {
            let found = match id {
                GivenId::Key(id) => location::Entity::find_by_id(id).one(db).await?,
                GivenId::Unreadable => None,
            };
            match found {
                Some(l) if l.account_id == user.account_id => Some(l.id),
                _ => return Err(not_found(&["locationId"], "location")),
            }
        }
    };
    if role == Role::DecisionMaker && location.is_some() {
        return Err(ServiceError::reject(
            ErrorCode::ValidationFailed,
            &["locationId"],
            "a Decision Maker is account-wide and has no location",
        ));
    }
    Ok((user, location))
}

/// Grants `role` to a user; granting a role the user holds already changes nothing.
pub async fn assign_role(
    db: &impl crate::db::Db,
    p: &Principal,
    user_id: Option<Uuid>,
    role: Role,
    location_id: Option<GivenId>,
) -> ServiceResult<role_assignment::Model> {
    let (user, location) = target(db, p, user_id, role, location_id).await?;
    let scope = role_assignment::scope_of(location);
    let find = || {
        role_assignment::Entity::find()
            .filter(role_assignment::Column::UserId.eq(user.id))
            .filter(role_assignment::Column::Role.eq(role))
            .filter(role_assignment::Column::Scope.eq(scope.clone()))
    };
    if let Some(existing) = find().one(db).await? {
        return Ok(existing);
    }
    let txn = db::begin_write(db).await?;
    let inserted = role_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(user.account_id),
        user_id: Set(user.id),
        role: Set(role),
        location_id: Set(location),
        scope: Set(scope.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await;
    let model = match inserted {
        Ok(m) => m,
        // Granted concurrently by someone else: the same end state, and their event.
        Err(e) if unique_violation(&e).is_some() => {
            drop(txn);
            return find().one(db).await?.ok_or_else(|| ServiceError::Db(e));
        }
        Err(e) => return Err(e.into()),
    };
    outbox::record(
        &txn,
        p,
        Event::RoleAssigned(ev::RoleChange {
            user_id: user.id,
            role: role.to_value(),
            location_id: location,
        })
        .about(user.account_id, model.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// Takes `role` away from a user; effective on the user's next request. A Decision Maker cannot
/// take their own Decision Maker role (the account would risk having no administrator).
pub async fn revoke_role(
    db: &impl crate::db::Db,
    p: &Principal,
    user_id: Option<Uuid>,
    role: Role,
    location_id: Option<GivenId>,
) -> ServiceResult<role_assignment::Model> {
    let (user, location) = target(db, p, user_id, role, location_id).await?;
    if role == Role::DecisionMaker && p.user().is_some_and(|me| me.user_id == user.id) {
        return Err(ServiceError::reject(
            ErrorCode::Forbidden,
            &["role"],
            "you cannot revoke your own Decision Maker role; only Support or another Decision Maker of the account may",
        ));
    }
    let txn = db::begin_write(db).await?;
    let existing = role_assignment::Entity::find()
        .filter(role_assignment::Column::UserId.eq(user.id))
        .filter(role_assignment::Column::Role.eq(role))
        .filter(role_assignment::Column::Scope.eq(role_assignment::scope_of(location)))
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::reject(ErrorCode::NotFound, &["role"], "the user does not hold this role"))?;
    existing.clone().delete(&txn).await?;
    outbox::record(
        &txn,
        p,
        Event::RoleRevoked(ev::RoleChange {
            user_id: user.id,
            role: role.to_value(),
            location_id: location,
        })
        .about(user.account_id, existing.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(existing)
}
