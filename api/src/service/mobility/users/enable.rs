//! The enable wizard's batch (M7, M8): all-or-nothing, every bad row reported with its index;
//! a dry run answers what it would do.

use std::collections::{HashMap, HashSet};

use entity::{ClaimKind, MobilityState, mobility_user, user};
use sea_orm::{
    ConnectionTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryResult, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::{EnableRow, Enabled, batch_size, target, under};
use crate::service::mobility::{eligible, open_account};
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError, bulk,
        error::on_unique,
        extension_claims,
        outbox::{self, Event, ev},
        validate,
    },
};

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
        .join_rev(JoinType::LeftJoin, super::super::reads::mobility_join())
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
    let taken = extension_claims::taken(&txn, account.id, &extensions).await?;

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
                        extension_claims::conflict_message(claim.kind),
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
    extension_claims::claim(
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
            Event::MobilityUserEnabled(ev::MobilityUser {
                user_id: e.user.id,
                mobility_extension: Some(e.mobility.mobility_extension.clone()),
            })
            .about(account.id, e.user.id)
        })
        .collect();
    outbox::record_many(&txn, p, events).await?;
    crate::service::commit(txn).await?;
    Ok(enabled)
}
