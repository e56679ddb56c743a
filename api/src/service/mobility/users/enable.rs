//! The enable wizard's batch (M7, M8): all-or-nothing, every bad row reported with its index;
//! a dry run answers what it would do.

use std::collections::{HashMap, HashSet};

use entity::{ClaimKind, MobilityState, account, extension_claim, mobility_user, user};
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
        outbox::{self, Entry, Event, ev},
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
    let (account, addon) = open_account(
        &txn,
        p,
        account_id,
        &["accountId"],
        "enable users for Connect for Mobile",
        Principal::user_admin,
    )
    .await?;
    if addon.state != MobilityState::Active {
        return Err(ServiceError::reject(
            ErrorCode::AddonNotActive,
            &["accountId"],
            "Connect for Mobile is not active for this account",
        ));
    }
    batch_size("users", rows.len())?;
    let known = Known::read(&txn, account.id, &rows).await?;
    let valid = check_rows(p, &account, &rows, &known)?;
    let enabled = mobility_records(p, account.id, valid);
    if dry_run {
        // The transaction rolls back when dropped: nothing was written.
        return Ok(enabled);
    }
    claim_and_insert(&txn, account.id, &enabled).await?;
    outbox::record_many(&txn, p, enabled_events(account.id, &enabled)).await?;
    crate::service::commit(txn).await?;
    Ok(enabled)
}

/// What the batch's rows are checked against, read once for the whole batch.
struct Known {
    /// The users the rows name, by id.
    users: HashMap<Uuid, user::Model>,
    /// Those of them enabled already.
    already: HashSet<Uuid>,
    /// The rows' extensions claimed already in the account.
    taken: HashMap<String, extension_claim::Model>,
}

impl Known {
    /// Reads the rows' users (with whether each is enabled), then the claims on their extensions.
    async fn read(txn: &impl ConnectionTrait, account_id: Uuid, rows: &[EnableRow]) -> ServiceResult<Self> {
        let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.user_id).collect();
        let (mut users, mut already) = (HashMap::new(), HashSet::new());
        for (id, (user, enabled)) in users_enabled(txn, &ids).await? {
            if enabled {
                already.insert(id);
            }
            users.insert(id, user);
        }
        let extensions: Vec<String> = rows.iter().map(|r| r.mobility_extension.trim().to_owned()).collect();
        let taken = extension_claims::taken(txn, account_id, &extensions).await?;
        Ok(Self { users, already, taken })
    }
}

/// Checks every row (M7, M8): the batch is refused with every bad row's errors, under its index,
/// or answers each good row's user and extension.
fn check_rows(
    p: &Principal,
    account: &account::Model,
    rows: &[EnableRow],
    known: &Known,
) -> ServiceResult<Vec<(user::Model, String)>> {
    let mut batch = Batch::default();
    for (i, row) in rows.iter().enumerate() {
        batch.check(p, account, known, i, row);
    }
    if !batch.errors.is_empty() {
        return Err(ServiceError::Rejected(batch.errors));
    }
    Ok(batch.valid)
}

/// The rows checked so far: their errors, the good rows, and the users and extensions named.
#[derive(Default)]
struct Batch {
    errors: Vec<UserError>,
    valid: Vec<(user::Model, String)>,
    seen_users: HashSet<Uuid>,
    seen_extensions: HashSet<String>,
}

impl Batch {
    /// Checks row `i`, which is good when it adds no error.
    fn check(&mut self, p: &Principal, account: &account::Model, known: &Known, i: usize, row: &EnableRow) {
        let prefix = under("users", i);
        let before = self.errors.len();
        let user = match target(
            p,
            account.id,
            &known.users,
            row.user_id,
            &["userId"],
            "enable this user for Connect for Mobile",
        ) {
            Ok(user) => user,
            Err(e) => {
                self.errors.push(e.under(&prefix));
                return;
            }
        };
        self.check_user(user, known, &prefix);
        if let Some(ext) = self.check_extension(account, known, row, &prefix)
            && self.errors.len() == before
        {
            self.valid.push((user.clone(), ext));
        }
    }

    /// M7: the user has an eligible phone profile, is not enabled yet, and is named once.
    fn check_user(&mut self, user: &user::Model, known: &Known, prefix: &[String]) {
        if !eligible(user.phone_profile) {
            self.errors.push(fail(
                prefix,
                ErrorCode::IneligiblePhoneProfile,
                "userId",
                "needs an Essentials, Premier or Elite phone profile",
            ));
        }
        if known.already.contains(&user.id) {
            self.errors
                .push(fail(prefix, ErrorCode::AlreadyEnabled, "userId", "is enabled already"));
        } else if !self.seen_users.insert(user.id) {
            self.errors.push(fail(
                prefix,
                ErrorCode::ValidationFailed,
                "userId",
                "is listed twice in this batch",
            ));
        }
    }

    /// M8: the extension is valid, free in the account, and given to no other row; answers it
    /// when it is.
    fn check_extension(
        &mut self,
        account: &account::Model,
        known: &Known,
        row: &EnableRow,
        prefix: &[String],
    ) -> Option<String> {
        match validate::mobility_extension(
            &["mobilityExtension"],
            &row.mobility_extension,
            account.extension_length,
        ) {
            Err(e) => self.errors.push(e.under(prefix)),
            Ok(ext) => {
                if let Some(claim) = known.taken.get(&ext) {
                    self.errors.push(fail(
                        prefix,
                        ErrorCode::ExtensionConflict,
                        "mobilityExtension",
                        extension_claims::conflict_message(claim.kind),
                    ));
                } else if !self.seen_extensions.insert(ext.clone()) {
                    self.errors.push(fail(
                        prefix,
                        ErrorCode::ExtensionConflict,
                        "mobilityExtension",
                        "is given to another row of this batch",
                    ));
                } else {
                    return Some(ext);
                }
            }
        }
        None
    }
}

/// A failure on `field` of the batch row at `prefix`.
fn fail(prefix: &[String], code: ErrorCode, field: &str, message: &str) -> UserError {
    UserError::new(code, &[field], message).under(prefix)
}

/// The mobility records the good rows give their users, stamped with who and when.
fn mobility_records(p: &Principal, account_id: Uuid, valid: Vec<(user::Model, String)>) -> Vec<Enabled> {
    let now = bulk::now();
    valid
        .into_iter()
        .map(|(user, ext)| Enabled {
            mobility: mobility_user::Model {
                user_id: user.id,
                account_id,
                mobility_extension: ext,
                enabled_at: now,
                enabled_by: p.actor(),
                updated_at: now,
            },
            user,
        })
        .collect()
}

/// Claims the extensions (M8) and inserts the mobility records, each in one statement; an
/// extension another writer took meanwhile refuses the batch.
async fn claim_and_insert(txn: &impl ConnectionTrait, account_id: Uuid, enabled: &[Enabled]) -> ServiceResult<()> {
    let conflict = || {
        ServiceError::reject(
            ErrorCode::ExtensionConflict,
            &["users"],
            "an extension of this batch was taken meanwhile; try again",
        )
    };
    extension_claims::claim(
        txn,
        account_id,
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
    bulk::insert(txn, &MOBILITY_USERS, rows)
        .await
        .map_err(|e| on_unique(e, conflict))?;
    Ok(())
}

/// `mobility_user.enabled` of each user enabled.
fn enabled_events(account_id: Uuid, enabled: &[Enabled]) -> Vec<Entry> {
    enabled
        .iter()
        .map(|e| {
            Event::MobilityUserEnabled(ev::MobilityUser {
                user_id: e.user.id,
                mobility_extension: Some(e.mobility.mobility_extension.clone()),
            })
            .about(account_id, e.user.id)
        })
        .collect()
}
