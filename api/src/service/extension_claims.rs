//! The account's extension plan: every extension handed out — a user's own and a mobility
//! extension — is a row of `extension_claim`, unique per account. Checking it up front gives a
//! precise answer per row; its key makes a race end as a unique violation, never a duplicate.

use std::collections::HashMap;

use entity::{ClaimKind, extension_claim};
use sea_orm::{ActiveEnum, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::bulk;

/// Rows per statement where a list is still bound one value per row (keeps bound parameters far
/// below SQLite's and PostgreSQL's caps); batch writes go through [`bulk`] instead.
pub const CHUNK: usize = 500;

/// Which of `extensions` the account has handed out already, and as what (one statement).
pub async fn taken(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    extensions: &[String],
) -> Result<HashMap<String, extension_claim::Model>, DbErr> {
    if extensions.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = extension_claim::Entity::find()
        .filter(extension_claim::Column::AccountId.eq(account_id))
        .filter(bulk::text_in(
            db.get_database_backend(),
            extension_claim::Column::Extension,
            extensions,
        ))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.extension.clone(), c)).collect())
}

const CLAIMS: bulk::Table = bulk::Table {
    name: "extension_claim",
    columns: &[
        ("account_id", bulk::Kind::Uuid),
        ("extension", bulk::Kind::Text),
        ("user_id", bulk::Kind::Uuid),
        ("kind", bulk::Kind::Text),
    ],
};

/// Claims `(extension, user)` pairs of one kind, in one statement; a taken one fails the whole
/// statement with a unique violation.
pub async fn claim(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    kind: ClaimKind,
    claims: impl IntoIterator<Item = (String, Uuid)>,
) -> Result<(), DbErr> {
    // In key order: two batches claiming overlapping extensions then wait on each other in the
    // same order, and cannot deadlock on PostgreSQL.
    let mut claims: Vec<(String, Uuid)> = claims.into_iter().collect();
    claims.sort();
    let kind = kind.to_value();
    let rows = claims
        .into_iter()
        .map(|(extension, user_id)| {
            json!([
                bulk::uuid(account_id),
                bulk::text(extension),
                bulk::uuid(user_id),
                bulk::text(kind.as_str())
            ])
        })
        .collect();
    bulk::insert(db, &CLAIMS, rows).await.map(|_| ())
}

/// Frees the claims of these users' extensions of `kind`.
pub async fn release(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    kind: ClaimKind,
    users: &[Uuid],
) -> Result<(), DbErr> {
    if users.is_empty() {
        return Ok(());
    }
    extension_claim::Entity::delete_many()
        .filter(extension_claim::Column::AccountId.eq(account_id))
        .filter(extension_claim::Column::Kind.eq(kind))
        .filter(bulk::uuid_in(
            db.get_database_backend(),
            extension_claim::Column::UserId,
            users,
        ))
        .exec(db)
        .await?;
    Ok(())
}

/// Why an extension is unavailable, for people.
pub fn conflict_message(kind: ClaimKind) -> &'static str {
    match kind {
        ClaimKind::User => "another user of this account has this extension",
        ClaimKind::Mobility => "this extension is a mobility extension in this account",
    }
}
