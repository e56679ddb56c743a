//! Users on Connect for Mobile: the enable wizard's batch (M7, M8), a changed extension (M9) and
//! disabling (M10). Batches are all-or-nothing and report every bad row with its index.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{ClaimKind, MobilityState, mobility_user, user};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryResult, QuerySelect,
    Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::{eligible, open_account};
use crate::{
    db,
    policy::{Access, Principal},
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError, bulk,
        directory::scope,
        error::{not_found, on_unique},
        extensions,
        outbox::{self, Event},
        validate,
    },
};

/// Most rows one enable or disable batch may carry.
pub const MAX_BATCH: usize = 1000;

/// One row of the enable wizard.
#[derive(Clone, Debug)]
pub struct EnableRow {
    /// The user (`None`: an id that could not be read).
    pub user_id: Option<Uuid>,
    /// The mobility extension to give them.
    pub mobility_extension: String,
}

/// A user on Connect for Mobile.
#[derive(Clone, Debug)]
pub struct Enabled {
    /// The user.
    pub user: user::Model,
    /// Their mobility record.
    pub mobility: mobility_user::Model,
}

fn event(account_id: Uuid, user_id: Uuid, event_type: &'static str, payload: serde_json::Value) -> Event {
    Event {
        event_type,
        account_id: Some(account_id),
        aggregate_type: "MobilityUser",
        aggregate_id: user_id,
        payload,
    }
}

fn batch_size(field: &str, n: usize) -> ServiceResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(ServiceError::reject(
            ErrorCode::ValidationFailed,
            &[field],
            format!("must hold 1 to {MAX_BATCH} rows"),
        ));
    }
    Ok(())
}

fn under(field: &str, i: usize) -> Vec<String> {
    vec![field.to_owned(), i.to_string()]
}

/// The user named by row `i` of a batch on `account_id`, if the caller may act on them: a user of
/// another account, or unknown, or one the caller may not even see, is `NOT_FOUND`; one the
/// caller sees but does not cover is `FORBIDDEN`.
fn target<'a>(
    p: &Principal,
    account_id: Uuid,
    users: &'a HashMap<Uuid, user::Model>,
    id: Option<Uuid>,
    field: &[&str],
) -> Result<&'a user::Model, UserError> {
    let user = id
        .and_then(|id| users.get(&id))
        .filter(|u| u.account_id == account_id)
        .ok_or_else(|| UserError::new(ErrorCode::NotFound, field, "no such user in this account"))?;
    let forbidden = || UserError::new(ErrorCode::Forbidden, field, "you do not manage this user");
    match p.admin_on_user(scope(user)) {
        Access::Allowed => Ok(user),
        Access::Forbidden => Err(forbidden()),
        // A user the caller sees anyway (a plain user naming themself) may be told why.
        Access::NotFound if p.sees_user(scope(user)) => Err(forbidden()),
        Access::NotFound => Err(UserError::new(
            ErrorCode::NotFound,
            field,
            "no such user in this account",
        )),
    }
}

/// The mobility records of these users, keyed by user (batch reads for loaders too), in one
/// statement.
pub async fn mobility_of_users(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, mobility_user::Model>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = mobility_user::Entity::find()
        .filter(bulk::uuid_in(
            db.get_database_backend(),
            mobility_user::Column::UserId,
            ids,
        ))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.user_id, m)).collect())
}

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

/// These users, keyed by id, each with whether they are enabled already, in one statement (an
/// enable batch reads both; two statements each looked the batch's ids up again).
async fn users_enabled(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (user::Model, bool)>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = user::Entity::find()
        .join_rev(JoinType::LeftJoin, super::reads::mobility_join())
        .expr_as(
            Expr::col((mobility_user::Entity, mobility_user::Column::UserId)).is_not_null(),
            ENABLED,
        )
        .filter(bulk::uuid_in(db.get_database_backend(), user::Column::Id, ids))
        .into_model::<UserEnabled>()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.0.id, (r.0, r.1))).collect())
}

/// The column [`users_enabled`] reads the flag from.
const ENABLED: &str = "reach_enabled";

/// A user and whether they are enabled.
struct UserEnabled(user::Model, bool);

impl FromQueryResult for UserEnabled {
    fn from_query_result(r: &QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self(user::Model::from_query_result(r, pre)?, r.try_get(pre, ENABLED)?))
    }
}

const MOBILITY_USERS: bulk::Table = bulk::Table {
    name: "mobility_user",
    columns: &[
        ("user_id", bulk::Kind::Uuid),
        ("account_id", bulk::Kind::Uuid),
        ("mobility_extension", bulk::Kind::Text),
        ("enabled_at", bulk::Kind::Time),
        ("enabled_by", bulk::Kind::Text),
        ("updated_at", bulk::Kind::Time),
    ],
};

/// M7, M8: enables a batch of users with their mobility extensions, or (`dry_run`) checks it and
/// answers what it would do, writing nothing — the wizard's summary step.
pub async fn enable_users(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    rows: Vec<EnableRow>,
    dry_run: bool,
) -> ServiceResult<Vec<Enabled>> {
    let txn = db::begin_write(db).await?;
    let (account, addon) = open_account(&txn, p, account_id, &["accountId"], Principal::user_admin).await?;
    if addon.state != MobilityState::Active {
        return Err(ServiceError::reject(
            ErrorCode::AddonNotActive,
            &["accountId"],
            "Connect for Mobile is not active for this account",
        ));
    }
    batch_size("users", rows.len())?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
    let (mut users, mut already) = (HashMap::new(), HashSet::new());
    for (id, (user, enabled)) in users_enabled(&txn, &ids).await? {
        if enabled {
            already.insert(id);
        }
        users.insert(id, user);
    }
    let extensions: Vec<String> = rows.iter().map(|r| r.mobility_extension.trim().to_owned()).collect();
    let taken = extensions::taken(&txn, account.id, &extensions).await?;

    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(rows.len());
    let (mut seen_users, mut seen_ext) = (HashSet::new(), HashSet::new());
    for (i, row) in rows.iter().enumerate() {
        let prefix = under("users", i);
        let before = errors.len();
        let user = match target(p, account.id, &users, row.user_id, &["userId"]) {
            Ok(user) => user,
            Err(e) => {
                errors.push(e.under(&prefix));
                continue;
            }
        };
        let fail = |code, field: &str, message: &str| UserError::new(code, &[field], message).under(&prefix);
        if !eligible(user.phone_profile) {
            errors.push(fail(
                ErrorCode::IneligiblePhoneProfile,
                "userId",
                "needs an Essentials, Premier or Elite phone profile",
            ));
        }
        if already.contains(&user.id) {
            errors.push(fail(ErrorCode::AlreadyEnabled, "userId", "is enabled already"));
        } else if !seen_users.insert(user.id) {
            errors.push(fail(
                ErrorCode::ValidationFailed,
                "userId",
                "is listed twice in this batch",
            ));
        }
        match validate::mobility_extension(
            &["mobilityExtension"],
            &row.mobility_extension,
            account.extension_length,
        ) {
            Err(e) => errors.push(e.under(&prefix)),
            Ok(ext) => {
                if let Some(claim) = taken.get(&ext) {
                    errors.push(fail(
                        ErrorCode::ExtensionConflict,
                        "mobilityExtension",
                        extensions::conflict_message(claim.kind),
                    ));
                } else if !seen_ext.insert(ext.clone()) {
                    errors.push(fail(
                        ErrorCode::ExtensionConflict,
                        "mobilityExtension",
                        "is given to another row of this batch",
                    ));
                } else if errors.len() == before {
                    valid.push((i, user.clone(), ext));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Rejected(errors));
    }

    let now = bulk::now();
    let enabled: Vec<Enabled> = valid
        .into_iter()
        .map(|(_, user, ext)| Enabled {
            mobility: mobility_user::Model {
                user_id: user.id,
                account_id: account.id,
                mobility_extension: ext,
                enabled_at: now,
                enabled_by: p.actor(),
                updated_at: now,
            },
            user,
        })
        .collect();
    if dry_run {
        // The transaction rolls back when dropped: nothing was written.
        return Ok(enabled);
    }
    let conflict = || {
        ServiceError::reject(
            ErrorCode::ExtensionConflict,
            &["users"],
            "an extension of this batch was taken meanwhile; try again",
        )
    };
    extensions::claim(
        &txn,
        account.id,
        ClaimKind::Mobility,
        enabled
            .iter()
            .map(|e| (e.mobility.mobility_extension.clone(), e.user.id)),
    )
    .await
    .map_err(|e| on_unique(e, conflict))?;
    let rows = enabled
        .iter()
        .map(|e| {
            let m = &e.mobility;
            json!([
                bulk::uuid(m.user_id),
                bulk::uuid(m.account_id),
                bulk::text(m.mobility_extension.as_str()),
                bulk::time(m.enabled_at),
                bulk::text(m.enabled_by.as_str()),
                bulk::time(m.updated_at),
            ])
        })
        .collect();
    bulk::insert(&txn, &MOBILITY_USERS, rows)
        .await
        .map_err(|e| on_unique(e, conflict))?;
    let events = enabled
        .iter()
        .map(|e| {
            event(
                account.id,
                e.user.id,
                "mobility.user_enabled",
                json!({ "userId": e.user.id, "mobilityExtension": e.mobility.mobility_extension }),
            )
        })
        .collect();
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(enabled)
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
    target(p, user.account_id, &users, Some(user.id), &field)?;
    let (account, _) = open_account(&txn, p, Some(user.account_id), &field, |_, _| Access::Allowed).await?;
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
            extensions::conflict_message(kind),
        )
    };
    if let Some(claim) = extensions::taken(&txn, account.id, std::slice::from_ref(&ext))
        .await?
        .remove(&ext)
    {
        return Err(conflict(claim.kind));
    }
    extensions::release(&txn, account.id, ClaimKind::Mobility, &[user.id]).await?;
    extensions::claim(&txn, account.id, ClaimKind::Mobility, [(ext.clone(), user.id)])
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
        event(
            account.id,
            user.id,
            "mobility.user_updated",
            json!({ "userId": user.id, "mobilityExtension": { "old": old, "new": mobility.mobility_extension } }),
        ),
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
    let (account, _) = open_account(&txn, p, account_id, &["accountId"], Principal::user_admin).await?;
    batch_size("userIds", user_ids.len())?;
    let ids: Vec<Uuid> = user_ids.iter().flatten().copied().collect();
    let users = users_of(&txn, &ids).await?;
    let enabled = mobility_of_users(&txn, &ids).await?;
    let mut errors = Vec::new();
    let mut chosen = Vec::with_capacity(user_ids.len());
    let mut seen = HashSet::new();
    for (i, id) in user_ids.iter().enumerate() {
        let prefix = under("userIds", i);
        match target(p, account.id, &users, *id, &[]) {
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
    extensions::release(&txn, account.id, ClaimKind::Mobility, &ids).await?;
    let events = chosen
        .iter()
        .map(|u| {
            let ext = enabled.get(&u.id).map(|m| m.mobility_extension.clone());
            event(
                account.id,
                u.id,
                "mobility.user_disabled",
                json!({ "userId": u.id, "mobilityExtension": ext }),
            )
        })
        .collect();
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(chosen)
}
