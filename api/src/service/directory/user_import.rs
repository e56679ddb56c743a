//! `userCreate` and `usersImport`: new users, all or nothing. Every row is validated and checked
//! against the stored directory and the rest of the batch before anything is written; the rows
//! then go in a few statements (or one by one, when a concurrent writer got there first).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{ClaimKind, Platform, account, user};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    accounts::admin_account,
    users::{MAX_IMPORT_ROWS, UserFields, ValidUser, account_locations, conflict_from_db, search_text, validate_row},
};
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, ServiceError, ServiceResult, UserError, bulk,
        error::unique_violation,
        extension_claims,
        outbox::{self, Entry, Event, ev},
        remote::{self, RemoteSettings},
    },
};

/// Creates `rows` in the account: one user (`batch` false: errors on the input's own fields) or a
/// `usersImport` batch (errors under `users.<index>`).
pub(super) async fn import(
    db: &impl crate::db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    account_id: Option<Uuid>,
    rows: Vec<UserFields>,
    batch: bool,
) -> ServiceResult<Vec<user::Model>> {
    let account = admin_account(db, p, account_id, &["accountId"], "add users to the account").await?;
    if batch {
        check_row_count(rows.len())?;
    }
    let paths = RowPaths { batch };
    let locations = account_locations(db, account.id).await?;
    let (valid, mut errors) = validate_rows(&rows, &account, &locations, paths);
    let txn = db::begin_write(db).await?;
    errors.extend(conflicts(&txn, account.id, &valid, paths).await?);
    if !errors.is_empty() {
        return Err(rejected_in_row_order(errors));
    }
    let now = bulk::now();
    let created: Vec<(usize, user::Model)> = (valid.into_iter())
        .map(|(i, v)| (i, new_user(account.id, v, now)))
        .collect();
    write_new_users(&txn, p, cfg, &account, &created, paths).await?;
    crate::service::commit(txn).await?;
    Ok(created.into_iter().map(|(_, u)| u).collect())
}

/// Where a row's errors are reported: under `users.<index>` in a batch, on the input's own fields
/// for a single user.
#[derive(Clone, Copy)]
struct RowPaths {
    batch: bool,
}

impl RowPaths {
    /// The path prefix of row `i`.
    fn of(self, i: usize) -> Vec<String> {
        if self.batch {
            vec!["users".to_owned(), i.to_string()]
        } else {
            Vec::new()
        }
    }
}

/// A batch holds 1 to [`MAX_IMPORT_ROWS`] rows.
fn check_row_count(rows: usize) -> ServiceResult<()> {
    if rows == 0 || rows > MAX_IMPORT_ROWS {
        return Err(ServiceError::reject(
            ErrorCode::ValidationFailed,
            &["users"],
            format!("must hold 1 to {MAX_IMPORT_ROWS} rows"),
        ));
    }
    Ok(())
}

/// Validates every row: the valid ones with their index, and every failure under its row's path.
fn validate_rows(
    rows: &[UserFields],
    account: &account::Model,
    locations: &HashSet<Uuid>,
    paths: RowPaths,
) -> (Vec<(usize, ValidUser)>, Vec<UserError>) {
    let mut errors = Vec::new();
    let mut valid = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match validate_row(row, account, locations) {
            Ok(v) => valid.push((i, v)),
            Err(es) => errors.extend(es.into_iter().map(|e| e.under(&paths.of(i)))),
        }
    }
    (valid, errors)
}

/// Conflicts with the stored directory and within the batch, reported per row: an extension
/// already claimed, an email address another user has.
async fn conflicts(
    txn: &DatabaseTransaction,
    account_id: Uuid,
    valid: &[(usize, ValidUser)],
    paths: RowPaths,
) -> ServiceResult<Vec<UserError>> {
    let extensions: Vec<String> = valid.iter().map(|(_, v)| v.extension.clone()).collect();
    let taken_ext = extension_claims::taken(txn, account_id, &extensions).await?;
    let emails: Vec<String> = valid.iter().filter_map(|(_, v)| v.email.clone()).collect();
    let taken_email = existing(txn, account_id, user::Column::Email, emails, |u| u.email).await?;
    let mut errors = Vec::new();
    let mut seen_ext: HashMap<&str, usize> = HashMap::new();
    let mut seen_email: HashMap<&str, usize> = HashMap::new();
    for (i, v) in valid {
        let kind = match taken_ext.get(&v.extension) {
            Some(claim) => Some(claim.kind),
            None => seen_ext.insert(&v.extension, *i).map(|_| ClaimKind::User),
        };
        if let Some(kind) = kind {
            errors.push(
                UserError::new(
                    ErrorCode::ExtensionConflict,
                    &["extension"],
                    extension_claims::conflict_message(kind),
                )
                .under(&paths.of(*i)),
            );
        }
        if let Some(email) = &v.email
            && (taken_email.contains(email) || seen_email.insert(email, *i).is_some())
        {
            errors.push(
                UserError::new(
                    ErrorCode::ValidationFailed,
                    &["email"],
                    "another user of this account has this email address",
                )
                .under(&paths.of(*i)),
            );
        }
    }
    Ok(errors)
}

/// The refusal of a batch: every error, in the order of the rows they concern.
fn rejected_in_row_order(mut errors: Vec<UserError>) -> ServiceError {
    errors.sort_by_key(|e| e.field.get(1).and_then(|i| i.parse::<usize>().ok()));
    ServiceError::Rejected(errors)
}

fn new_user(account_id: Uuid, v: ValidUser, now: chrono::DateTime<Utc>) -> user::Model {
    user::Model {
        id: Uuid::now_v7(),
        account_id,
        location_id: v.location_id,
        sort_name: v.name.to_lowercase(),
        search_text: search_text(&v.name, v.email.as_deref(), v.phone_number.as_deref(), &v.extension),
        name: v.name,
        email: v.email,
        phone_number: v.phone_number,
        extension: v.extension,
        phone_profile: v.phone_profile,
        created_at: now,
        updated_at: now,
    }
}

/// Writes the checked users. The batch goes in a few statements, in a savepoint: a unique
/// violation there is a writer that committed the same extension or address since the checks
/// above; the rows then go in one by one, so the error names the row as it always has.
async fn write_new_users(
    txn: &DatabaseTransaction,
    p: &Principal,
    cfg: &RemoteSettings,
    account: &account::Model,
    created: &[(usize, user::Model)],
    paths: RowPaths,
) -> ServiceResult<()> {
    let batch = txn.begin().await?;
    match write_users(&batch, p, cfg, account, created).await {
        Ok(()) => batch.commit().await?,
        Err(ServiceError::Db(e)) if unique_violation(&e).is_some() => {
            batch.rollback().await?;
            for (i, model) in created {
                insert_user(txn, p, cfg, account, model.clone(), &paths.of(*i)).await?;
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The one-by-one path (see `import`): one user, their claim and events; a unique violation is
/// reported on the row's own path.
async fn insert_user(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    account: &account::Model,
    model: user::Model,
    prefix: &[String],
) -> ServiceResult<user::Model> {
    let account_id = account.id;
    let model = user::ActiveModel::from(model)
        .insert(txn)
        .await
        .map_err(|e| conflict_from_db(e, prefix))?;
    extension_claims::claim(txn, account_id, ClaimKind::User, [(model.extension.clone(), model.id)])
        .await
        .map_err(|e| conflict_from_db(e, prefix))?;
    outbox::record(txn, p, created_event(&model)).await?;
    // R10: a new MX-ONE user starts with the default statuses.
    if account.platform == Platform::MxOne {
        remote::ensure_user(txn, p, cfg, &model).await?;
    }
    Ok(model)
}

const USERS: bulk::Table = bulk::Table {
    name: "app_user",
    columns: &[
        ("id", bulk::Kind::Uuid),
        ("account_id", bulk::Kind::Uuid),
        ("location_id", bulk::Kind::Uuid),
        ("name", bulk::Kind::Text),
        ("sort_name", bulk::Kind::Text),
        ("email", bulk::Kind::Text),
        ("phone_number", bulk::Kind::Text),
        ("extension", bulk::Kind::Text),
        ("phone_profile", bulk::Kind::Text),
        ("search_text", bulk::Kind::Text),
        ("created_at", bulk::Kind::Time),
        ("updated_at", bulk::Kind::Time),
    ],
};

/// Writes new users as [`insert_user`] does one by one, in a fixed number of statements: the
/// users, their extensions' claims, (MX-ONE) their Remote Extension records, then every event in
/// the order the one-by-one path records them.
async fn write_users(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    account: &account::Model,
    users: &[(usize, user::Model)],
) -> ServiceResult<()> {
    let rows = (users.iter())
        .map(|(_, u)| {
            json!([
                bulk::uuid(u.id),
                bulk::uuid(u.account_id),
                bulk::opt_uuid(u.location_id),
                bulk::text(u.name.as_str()),
                bulk::text(u.sort_name.as_str()),
                bulk::opt_text(u.email.as_deref()),
                bulk::opt_text(u.phone_number.as_deref()),
                bulk::text(u.extension.as_str()),
                bulk::text(u.phone_profile.to_value()),
                bulk::text(u.search_text.as_str()),
                bulk::time(u.created_at),
                bulk::time(u.updated_at),
            ])
        })
        .collect();
    bulk::insert(txn, &USERS, rows).await?;
    let claims = users.iter().map(|(_, u)| (u.extension.clone(), u.id));
    extension_claims::claim(txn, account.id, ClaimKind::User, claims).await?;
    let models: Vec<user::Model> = users.iter().map(|(_, u)| u.clone()).collect();
    // R10: new MX-ONE users start with the default statuses.
    let mut remote_events = if account.platform == Platform::MxOne {
        remote::create_users(txn, p, cfg, &models).await?
    } else {
        Vec::new()
    }
    .into_iter();
    let mut events = Vec::new();
    for u in &models {
        events.push(created_event(u));
        events.extend(remote_events.next().unwrap_or_default());
    }
    outbox::record_many(txn, p, events).await?;
    Ok(())
}

fn created_event(u: &user::Model) -> Entry {
    Event::UserCreated(ev::UserCreated {
        name: u.name.clone(),
        email: u.email.clone(),
        phone_number: u.phone_number.clone(),
        extension: u.extension.clone(),
        phone_profile: u.phone_profile.to_value(),
        location_id: u.location_id,
    })
    .about(u.account_id, u.id)
}

/// Which of `values` the account's users already hold in `column` (`value_of` reads it back).
async fn existing(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    column: user::Column,
    values: Vec<String>,
    value_of: impl Fn(user::Model) -> Option<String>,
) -> Result<HashSet<String>, sea_orm::DbErr> {
    if values.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(bulk::text_in(db.get_database_backend(), column, &values))
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(value_of).collect())
}
