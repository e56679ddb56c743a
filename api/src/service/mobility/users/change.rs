//! A changed mobility extension (M9) and disabling users (M10).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{ClaimKind, mobility_user, user};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::{Enabled, batch_size, mobility_of_users, target, under};
use crate::service::mobility::open_account;
use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError, bulk,
        directory::scope,
        error::{not_found, on_unique},
        extension_claims,
        outbox::{self, Event, ev},
        validate,
    },
};

/// These users, keyed by id, in one statement.
async fn users_of(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = user::Entity::find()
        .filter(bulk::uuid_in(db.get_database_backend(), user::Column::Id, ids))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|u| (u.id, u)).collect())
}

/// M9: gives an enabled user another mobility extension (their current one excluded from the
/// conflict check); the same value changes nothing.
pub async fn update_user_extension(
    db: &impl db::Db,
    p: &Principal,
    user_id: Option<Uuid>,
    mobility_extension: &str,
) -> ServiceResult<Enabled> {
    let field = ["userId"];
    let txn = db::begin_write(db).await?;
    let user = match user_id {
        Some(id) => user::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    }
    .filter(|u| p.knows_user(scope(u)))
    .ok_or_else(|| not_found(&field, "user"))?;
    let users = HashMap::from([(user.id, user.clone())]);
    // The user is checked here; the account asks nothing more of the caller.
    const ACTION: &str = "change this user's mobility extension";
    target(p, user.account_id, &users, Some(user.id), &field, ACTION)?;
    let (account, _) = open_account(&txn, p, Some(user.account_id), &field, ACTION, |_, _| Access::Allowed).await?;
    let current = mobility_user::Entity::find_by_id(user.id)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::reject(ErrorCode::NotEnabled, &field, "is not enabled for mobility"))?;
    let ext = validate::mobility_extension(&["mobilityExtension"], mobility_extension, account.extension_length)?;
    if ext == current.mobility_extension {
        return Ok(Enabled {
            user,
            mobility: current,
        });
    }
    let conflict = |kind| {
        ServiceError::reject(
            ErrorCode::ExtensionConflict,
            &["mobilityExtension"],
            extension_claims::conflict_message(kind),
        )
    };
    if let Some(claim) = extension_claims::taken(&txn, account.id, std::slice::from_ref(&ext))
        .await?
        .remove(&ext)
    {
        return Err(conflict(claim.kind));
    }
    extension_claims::release(&txn, account.id, ClaimKind::Mobility, &[user.id]).await?;
    extension_claims::claim(&txn, account.id, ClaimKind::Mobility, [(ext.clone(), user.id)])
        .await
        .map_err(|e| on_unique(e, || conflict(ClaimKind::Mobility)))?;
    let old = current.mobility_extension.clone();
    let mut am: mobility_user::ActiveModel = current.into();
    am.mobility_extension = Set(ext);
    am.updated_at = Set(Utc::now());
    let mobility = am
        .update(&txn)
        .await
        .map_err(|e| on_unique(e, || conflict(ClaimKind::Mobility)))?;
    outbox::record(
        &txn,
        p,
        Event::MobilityUserUpdated(ev::MobilityUserUpdated {
            user_id: user.id,
            mobility_extension: ev::FieldChange::new(&old, &mobility.mobility_extension),
        })
        .about(account.id, user.id),
    )
    .await?;
    crate::service::commit(txn).await?;
    Ok(Enabled { user, mobility })
}

/// M10: takes users off Connect for Mobile (all or nothing); their extensions are free at once.
pub async fn disable_users(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    user_ids: Vec<Option<Uuid>>,
) -> ServiceResult<Vec<user::Model>> {
    let txn = db::begin_write(db).await?;
    let (account, _) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "disable users for Connect for Mobile",
        Principal::user_admin,
    )
    .await?;
    batch_size("userIds", user_ids.len())?;
    let ids: Vec<Uuid> = user_ids.iter().flatten().copied().collect();
    let users = users_of(&txn, &ids).await?;
    let enabled = mobility_of_users(&txn, &ids).await?;
    let mut errors = Vec::new();
    let mut chosen = Vec::with_capacity(user_ids.len());
    let mut seen = HashSet::new();
    for (i, id) in user_ids.iter().enumerate() {
        let prefix = under("userIds", i);
        match target(
            p,
            account.id,
            &users,
            *id,
            &[],
            "disable this user for Connect for Mobile",
        ) {
            Err(e) => errors.push(e.under(&prefix)),
            Ok(user) if !enabled.contains_key(&user.id) => {
                errors.push(UserError::new(ErrorCode::NotEnabled, &[], "is not enabled for mobility").under(&prefix))
            }
            Ok(user) if !seen.insert(user.id) => errors
                .push(UserError::new(ErrorCode::ValidationFailed, &[], "is listed twice in this batch").under(&prefix)),
            Ok(user) => chosen.push(user.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Rejected(errors));
    }
    let ids: Vec<Uuid> = chosen.iter().map(|u| u.id).collect();
    mobility_user::Entity::delete_many()
        .filter(bulk::uuid_in(
            txn.get_database_backend(),
            mobility_user::Column::UserId,
            &ids,
        ))
        .exec(&txn)
        .await?;
    extension_claims::release(&txn, account.id, ClaimKind::Mobility, &ids).await?;
    let events = chosen
        .iter()
        .map(|u| {
            Event::MobilityUserDisabled(ev::MobilityUser {
                user_id: u.id,
                mobility_extension: enabled.get(&u.id).map(|m| m.mobility_extension.clone()),
            })
            .about(account.id, u.id)
        })
        .collect();
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(chosen)
}
