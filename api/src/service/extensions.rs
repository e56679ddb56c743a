//! The account's extension plan: every extension handed out — a user's own and a mobility
//! extension — is a row of `extension_claim`, unique per account. Checking it up front gives a
//! precise answer per row; its key makes a race end as a unique violation, never a duplicate.

use std::collections::HashMap;

use entity::{ClaimKind, extension_claim};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// Rows written per statement (keeps bound parameters far below SQLite's and PostgreSQL's caps).
pub const CHUNK: usize = 500;

/// Which of `extensions` the account has handed out already, and as what.
pub async fn taken(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    extensions: &[String],
) -> Result<HashMap<String, extension_claim::Model>, DbErr> {
    let mut found = HashMap::new();
    for chunk in extensions.chunks(CHUNK) {
        let rows = extension_claim::Entity::find()
            .filter(extension_claim::Column::AccountId.eq(account_id))
            .filter(extension_claim::Column::Extension.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|c| (c.extension.clone(), c)));
    }
    Ok(found)
}

/// Claims `(extension, user)` pairs of one kind; a taken one fails with a unique violation.
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
    let rows: Vec<extension_claim::ActiveModel> = claims
        .into_iter()
        .map(|(extension, user_id)| extension_claim::ActiveModel {
            account_id: Set(account_id),
            extension: Set(extension),
            user_id: Set(user_id),
            kind: Set(kind),
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        extension_claim::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Frees the claims of these users' extensions of `kind`.
pub async fn release(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    kind: ClaimKind,
    users: &[Uuid],
) -> Result<(), DbErr> {
    for chunk in users.chunks(CHUNK) {
        extension_claim::Entity::delete_many()
            .filter(extension_claim::Column::AccountId.eq(account_id))
            .filter(extension_claim::Column::Kind.eq(kind))
            .filter(extension_claim::Column::UserId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Why an extension is unavailable, for people.
pub fn conflict_message(kind: ClaimKind) -> &'static str {
    match kind {
        ClaimKind::User => "another user of this account has this extension",
        ClaimKind::Mobility => "this extension is a mobility extension in this account",
    }
}
