//! Substring search that does not scan (issue 17), on PostgreSQL: the `pg_trgm` extension and a
//! trigram GIN index on every column a list searches or filters with `LIKE '%…%'` (user names,
//! phone numbers, extensions and search text, mobility extensions, account names).
//!
//! Where the extension cannot be created (a role without the right to, a server without the
//! contrib modules) the migration says so in the server log (a `NOTICE`), creates no trigram
//! index, and searches keep working by scanning the account's rows; Reach warns at start-up
//! (`db::warn_if_searches_scan`). A superuser's `CREATE EXTENSION pg_trgm` followed by these
//! statements adds them later (docs/operations.md, "PostgreSQL"). SQLite has no such index: its searches
//! walk the account's rows in name order and stop at the page's end.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

/// Enables `pg_trgm` and adds the trigram indexes (PostgreSQL only).
#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(index, table, column)` of every trigram index.
pub const TRIGRAM_INDEXES: [(&str, &str, &str); 6] = [
    ("idx_app_user_sort_name_trgm", "app_user", "sort_name"),
    ("idx_app_user_phone_number_trgm", "app_user", "phone_number"),
    ("idx_app_user_extension_trgm", "app_user", "extension"),
    ("idx_app_user_search_text_trgm", "app_user", "search_text"),
    (
        "idx_mobility_user_mobility_extension_trgm",
        "mobility_user",
        "mobility_extension",
    ),
    ("idx_account_sort_name_trgm", "account", "sort_name"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let creates: String = TRIGRAM_INDEXES
            .iter()
            .map(|(index, table, column)| {
                format!("CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin ({column} gin_trgm_ops); ")
            })
            .collect();
        // A sub-transaction: a refused CREATE EXTENSION must not abort the migrations' transaction.
        db.execute_unprepared(&format!(
            "DO $$ BEGIN
                BEGIN
                    CREATE EXTENSION IF NOT EXISTS pg_trgm;
                EXCEPTION WHEN OTHERS THEN
                    RAISE NOTICE 'pg_trgm is not available (%): substring searches will scan', SQLERRM;
                END;
                IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                    {creates}
                END IF;
            END $$"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (index, _, _) in TRIGRAM_INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}")).await?;
        }
        Ok(())
    }
}
