//! PostgreSQL: finer statistics for the columns the enabled users' list filters by substring
//! (issue 17). The planner estimates a `LIKE '%…%'` pattern's matches from each column's sampled
//! values; with the default target (100: a 30,000-row sample, a 100-bucket histogram) a rare
//! pattern among 100,000 users was guessed at anything from 12 to 2,400 matches from one
//! `ANALYZE` to the next, and with a high guess the page walked the whole account in name order
//! instead of looking its few matches up by trigram index. A target of 1,000 samples 300,000 rows,
//! so a table of that size is read whole and its guesses hold. The tables are analysed at once
//! (a database upgraded in place would otherwise keep its old guesses until autovacuum's next
//! `ANALYZE`). SQLite: nothing to do.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// Sets the statistics target of the filtered columns (PostgreSQL).
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The filtered columns, by table.
const COLUMNS: [(&str, &[&str]); 2] = [
    ("app_user", &["sort_name", "phone_number", "extension"]),
    ("mobility_user", &["mobility_extension"]),
];

async fn set_target(manager: &SchemaManager<'_>, target: i32) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (table, columns) in COLUMNS {
        let alters: Vec<String> = columns
            .iter()
            .map(|c| format!("ALTER COLUMN {c} SET STATISTICS {target}"))
            .collect();
        db.execute_unprepared(&format!("ALTER TABLE {table} {}", alters.join(", ")))
            .await?;
    }
    db.execute_unprepared("ANALYZE app_user, mobility_user").await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_target(manager, 1000).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // -1: the server's default target again.
        set_target(manager, -1).await
    }
}
