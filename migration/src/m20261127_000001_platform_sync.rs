//! The communication-platform sync (SPEC E3): each MX-ONE account's connection to its platform
//! (the token sealed, never stored in clear), what the sync knows of each number on the platform,
//! and the runs' leases.
//!
//! - `platform_connection`: one per account: base URL, the platform's account, the sealed token,
//!   and the schedule (`next_run_at`, `failures` for the backoff after failed runs).
//! - `user_number` gains `platform_id` (the platform's id of the number: set by the import for
//!   platform numbers and by the export for user-created ones), `platform_number` (the number the
//!   platform holds under that id), `platform_label` (the label the sync last gave; a label that
//!   differs is the user's and is kept), `platform_seen` (the last run that saw it),
//!   `platform_missing_since` (gone from the platform but kept because a status uses it) and
//!   `platform_error` (why the platform refused to take a user-created number).
//! - `user_number.platform_linked_at`: when the platform id was set (a run unlinks only numbers
//!   linked before its listing began).
//! - `platform_withdrawal`: a user-created remote extension the platform must forget (deleted in
//!   Reach, or its number changed), written in the same transaction as that change and kept until
//!   the platform has let it go, so an import never brings it back and a dead platform loses
//!   nothing.
//! - `platform_sync_run` gains `exported` (numbers sent to the platform) and a lease, and a
//!   partial unique index allows one `PENDING` or `RUNNING` run per account, whichever process
//!   asks.

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
enum PlatformConnection {
    Table,
    AccountId,
    BaseUrl,
    PlatformAccount,
    TokenSealed,
    NextRunAt,
    Failures,
    CreatedAt,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum UserNumber {
    Table,
    PlatformId,
    PlatformNumber,
    PlatformLabel,
    PlatformSeen,
    PlatformMissingSince,
    PlatformError,
    PlatformLinkedAt,
}

#[derive(DeriveIden)]
enum PlatformWithdrawal {
    Table,
    Id,
    AccountId,
    UserNumberId,
    PlatformId,
    UserRef,
    Number,
    Attempts,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PlatformSyncRun {
    Table,
    Exported,
    LeaseOwner,
    LeaseUntil,
}

const ACTIVE_RUN_UP: &str = "CREATE UNIQUE INDEX idx_platform_sync_run_active ON platform_sync_run (account_id) \
     WHERE state IN ('PENDING', 'RUNNING')";
const ACTIVE_RUN_DOWN: &str = "DROP INDEX IF EXISTS idx_platform_sync_run_active";

async fn add_column(manager: &SchemaManager<'_>, table: impl IntoIden, col: ColumnDef) -> Result<(), DbErr> {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    manager
        .alter_table(Table::alter().table(table).add_column(col).take())
        .await
}

async fn drop_column(manager: &SchemaManager<'_>, table: impl IntoIden, col: impl IntoIden) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(col).take())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PlatformConnection::Table)
                    .col(uuid(PlatformConnection::AccountId).primary_key())
                    .col(text(PlatformConnection::BaseUrl))
                    .col(text(PlatformConnection::PlatformAccount))
                    .col(text(PlatformConnection::TokenSealed))
                    .col(timestamp_with_time_zone_null(PlatformConnection::NextRunAt))
                    .col(integer(PlatformConnection::Failures).default(0))
                    .col(timestamp_with_time_zone(PlatformConnection::CreatedAt))
                    .col(timestamp_with_time_zone(PlatformConnection::UpdatedAt))
                    .col(text(PlatformConnection::UpdatedBy))
                    .foreign_key(&mut fk(
                        "fk_platform_connection_account",
                        (PlatformConnection::Table, PlatformConnection::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        // The scheduler's question: which connections are due.
        manager
            .create_index(index(
                "idx_platform_connection_due",
                PlatformConnection::Table,
                &["next_run_at"],
                false,
            ))
            .await?;
        for col in [
            string_len_null(UserNumber::PlatformId, 128),
            string_len_null(UserNumber::PlatformNumber, 32),
            string_len_null(UserNumber::PlatformLabel, 64),
            uuid_null(UserNumber::PlatformSeen),
            timestamp_with_time_zone_null(UserNumber::PlatformMissingSince),
            text_null(UserNumber::PlatformError),
            timestamp_with_time_zone_null(UserNumber::PlatformLinkedAt),
        ] {
            add_column(manager, UserNumber::Table, col).await?;
        }
        // A platform id names one number per account; the import looks numbers up by it.
        manager
            .create_index(index(
                "idx_user_number_platform_id",
                UserNumber::Table,
                &["account_id", "platform_id"],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PlatformWithdrawal::Table)
                    .col(uuid(PlatformWithdrawal::Id).primary_key())
                    .col(uuid(PlatformWithdrawal::AccountId))
                    .col(uuid(PlatformWithdrawal::UserNumberId))
                    .col(string_len_null(PlatformWithdrawal::PlatformId, 128))
                    .col(text(PlatformWithdrawal::UserRef))
                    .col(string_len(PlatformWithdrawal::Number, 32))
                    .col(integer(PlatformWithdrawal::Attempts).default(0))
                    .col(text_null(PlatformWithdrawal::LastError))
                    .col(timestamp_with_time_zone(PlatformWithdrawal::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_platform_withdrawal_account",
                        (PlatformWithdrawal::Table, PlatformWithdrawal::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        // An account's pending withdrawals, oldest first; the import matches them by number.
        manager
            .create_index(index(
                "idx_platform_withdrawal_account",
                PlatformWithdrawal::Table,
                &["account_id", "number"],
                false,
            ))
            .await?;
        for col in [
            integer(PlatformSyncRun::Exported).default(0).take(),
            text_null(PlatformSyncRun::LeaseOwner),
            timestamp_with_time_zone_null(PlatformSyncRun::LeaseUntil),
        ] {
            add_column(manager, PlatformSyncRun::Table, col).await?;
        }
        // One run under way per account, whichever process asks (SPEC E3).
        manager.get_connection().execute_unprepared(ACTIVE_RUN_UP).await?;
        // The workers' question: which runs wait, oldest first.
        manager
            .create_index(index(
                "idx_platform_sync_run_state",
                PlatformSyncRun::Table,
                &["state", "id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_platform_sync_run_state")
                    .table(PlatformSyncRun::Table)
                    .to_owned(),
            )
            .await?;
        manager.get_connection().execute_unprepared(ACTIVE_RUN_DOWN).await?;
        for col in [
            PlatformSyncRun::LeaseUntil,
            PlatformSyncRun::LeaseOwner,
            PlatformSyncRun::Exported,
        ] {
            drop_column(manager, PlatformSyncRun::Table, col).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_user_number_platform_id")
                    .table(UserNumber::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PlatformWithdrawal::Table).to_owned())
            .await?;
        for col in [
            UserNumber::PlatformLinkedAt,
            UserNumber::PlatformError,
            UserNumber::PlatformMissingSince,
            UserNumber::PlatformSeen,
            UserNumber::PlatformLabel,
            UserNumber::PlatformNumber,
            UserNumber::PlatformId,
        ] {
            drop_column(manager, UserNumber::Table, col).await?;
        }
        manager
            .drop_table(Table::drop().table(PlatformConnection::Table).to_owned())
            .await
    }
}
