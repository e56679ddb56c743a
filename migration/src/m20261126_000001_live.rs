//! Live subscriptions (SPEC E4) and the sync runs they report (SPEC E3).
//!
//! On PostgreSQL a statement trigger on `outbox_event` sends `NOTIFY reach_outbox` with the
//! highest position the statement wrote. A notification is delivered only when its transaction
//! commits, so a rolled-back change wakes nobody; it carries only a position (payloads are
//! capped at 8000 bytes) and is only a hint: readers always read the log itself. SQLite has no
//! such thing; a single process there wakes its readers itself.
//!
//! `platform_sync_run` holds each run of the platform sync, with its counts and errors.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PlatformSyncRun {
    Table,
    Id,
    AccountId,
    State,
    RequestedBy,
    RequestedAt,
    StartedAt,
    FinishedAt,
    Created,
    Updated,
    Removed,
    Kept,
    Errors,
    Version,
}

const NOTIFY_UP: &str = r#"
CREATE OR REPLACE FUNCTION reach_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('reach_outbox', (SELECT max(position) FROM new_events)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_event_notify
    AFTER INSERT ON outbox_event
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION reach_outbox_notify();
"#;

const NOTIFY_DOWN: &str = r#"
DROP TRIGGER IF EXISTS outbox_event_notify ON outbox_event;
DROP FUNCTION IF EXISTS reach_outbox_notify();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::Cascade;
        manager
            .create_table(
                Table::create()
                    .table(PlatformSyncRun::Table)
                    .col(uuid(PlatformSyncRun::Id).primary_key())
                    .col(uuid(PlatformSyncRun::AccountId))
                    .col(string_len(PlatformSyncRun::State, 32))
                    .col(text(PlatformSyncRun::RequestedBy))
                    .col(timestamp_with_time_zone(PlatformSyncRun::RequestedAt))
                    .col(timestamp_with_time_zone_null(PlatformSyncRun::StartedAt))
                    .col(timestamp_with_time_zone_null(PlatformSyncRun::FinishedAt))
                    .col(integer(PlatformSyncRun::Created))
                    .col(integer(PlatformSyncRun::Updated))
                    .col(integer(PlatformSyncRun::Removed))
                    .col(integer(PlatformSyncRun::Kept))
                    .col(json(PlatformSyncRun::Errors))
                    .col(integer(PlatformSyncRun::Version))
                    .foreign_key(&mut fk(
                        "fk_platform_sync_run_account",
                        (PlatformSyncRun::Table, PlatformSyncRun::AccountId),
                        (Account::Table, Account::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        // An account's runs, newest first (UUID v7 keys are time-ordered).
        manager
            .create_index(index(
                "idx_platform_sync_run_account",
                PlatformSyncRun::Table,
                &["account_id", "id"],
                false,
            ))
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(NOTIFY_UP).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(NOTIFY_DOWN).await?;
        }
        manager
            .drop_table(Table::drop().table(PlatformSyncRun::Table).to_owned())
            .await
    }
}
