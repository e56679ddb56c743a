//! Scheduled statuses (issue 21 §2).
//!
//! - `account.time_zone`: the account's IANA time zone (Support sets it; `UTC` by default).
//! - `remote_user.time_zone`: a user's own zone, overriding the account's (`NULL`: the account's).
//! - `dynamic_status.schedule`: the status's weekly rules, skipped dates and whether it is the
//!   user's fallback, as JSON (`NULL`: not scheduled). The service validates it whole.
//! - `remote_user.next_boundary_at`: when the user's schedule next switches a status (`NULL`:
//!   never), indexed for the scheduler's "who is due" read; `schedule_applied_at` is the last
//!   boundary the scheduler applied, the key that makes each boundary apply once however many
//!   processes run; `active_reason` says why the active status is active (`MANUAL`, `SCHEDULE`,
//!   `DEFAULT`).
//! - `account_holiday`: an account's holidays, a date and a name each.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds the columns and the holiday table.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    TimeZone,
}

#[derive(DeriveIden)]
enum RemoteUser {
    Table,
    TimeZone,
    NextBoundaryAt,
    ScheduleAppliedAt,
    ActiveReason,
}

#[derive(DeriveIden)]
enum DynamicStatus {
    Table,
    Schedule,
}

#[derive(DeriveIden)]
enum AccountHoliday {
    Table,
    AccountId,
    Day,
    Name,
}

const DUE_INDEX: &str = "ix_remote_user_next_boundary_at";

async fn add(manager: &SchemaManager<'_>, table: impl IntoIden, mut column: ColumnDef) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(&mut column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(
            manager,
            Account::Table,
            ColumnDef::new(Account::TimeZone)
                .text()
                .not_null()
                .default("UTC")
                .to_owned(),
        )
        .await?;
        add(manager, RemoteUser::Table, text_null(RemoteUser::TimeZone)).await?;
        add(
            manager,
            RemoteUser::Table,
            timestamp_with_time_zone_null(RemoteUser::NextBoundaryAt),
        )
        .await?;
        add(
            manager,
            RemoteUser::Table,
            timestamp_with_time_zone_null(RemoteUser::ScheduleAppliedAt),
        )
        .await?;
        add(
            manager,
            RemoteUser::Table,
            ColumnDef::new(RemoteUser::ActiveReason)
                .text()
                .not_null()
                .default("MANUAL")
                .to_owned(),
        )
        .await?;
        add(manager, DynamicStatus::Table, text_null(DynamicStatus::Schedule)).await?;
        manager
            .create_index(
                Index::create()
                    .name(DUE_INDEX)
                    .table(RemoteUser::Table)
                    .col(RemoteUser::NextBoundaryAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountHoliday::Table)
                    .col(uuid(AccountHoliday::AccountId))
                    .col(text(AccountHoliday::Day))
                    .col(text(AccountHoliday::Name))
                    .primary_key(Index::create().col(AccountHoliday::AccountId).col(AccountHoliday::Day))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountHoliday::Table, AccountHoliday::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountHoliday::Table).to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name(DUE_INDEX).table(RemoteUser::Table).to_owned())
            .await?;
        let drop = |table: DynIden, column: DynIden| Table::alter().table(table).drop_column(column).to_owned();
        manager
            .alter_table(drop(
                DynamicStatus::Table.into_iden(),
                DynamicStatus::Schedule.into_iden(),
            ))
            .await?;
        for column in [
            RemoteUser::ActiveReason,
            RemoteUser::ScheduleAppliedAt,
            RemoteUser::NextBoundaryAt,
            RemoteUser::TimeZone,
        ] {
            manager
                .alter_table(drop(RemoteUser::Table.into_iden(), column.into_iden()))
                .await?;
        }
        manager
            .alter_table(drop(Account::Table.into_iden(), Account::TimeZone.into_iden()))
            .await
    }
}
