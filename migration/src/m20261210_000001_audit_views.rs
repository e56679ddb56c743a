//! A location Phone Manager's audit log (issue 20): the page walks the account's events newest
//! first and keeps those whose user is of the manager's locations. Each step needs the event's
//! user and that user's location; with both in indexes (`user_id` beside the account's time
//! index, a user's location and account beside its id) the step reads no table row, and only the
//! page's own events are read whole. The time index gains `user_id` in place of the one without
//! it, which it serves as well.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

/// Replaces the account's time index of the log with one that also holds `user_id`, and adds a
/// user's location and account by id.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
}

/// The account's time index without `user_id` (migration `m20261208_000001_audit`).
fn without_user() -> IndexCreateStatement {
    index(
        "idx_outbox_event_account_time",
        OutboxEvent::Table,
        &["account_id", "occurred_at", "position"],
        false,
    )
}

fn with_user() -> IndexCreateStatement {
    index(
        "idx_outbox_event_account_time_user",
        OutboxEvent::Table,
        &["account_id", "occurred_at", "position", "user_id"],
        false,
    )
}

/// A user's location and account by id: what the location view asks of each event's user.
/// (SQLite keeps a table's UUID key in an index of its own that holds nothing else.)
pub const USER_PLACE: &str = "idx_app_user_id_location";

fn user_place() -> IndexCreateStatement {
    index(USER_PLACE, AppUser::Table, &["id", "location_id", "account_id"], false)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(with_user()).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_event_account_time")
                    .table(OutboxEvent::Table)
                    .to_owned(),
            )
            .await?;
        manager.create_index(user_place()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(USER_PLACE).table(AppUser::Table).to_owned())
            .await?;
        manager.create_index(without_user()).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_event_account_time_user")
                    .table(OutboxEvent::Table)
                    .to_owned(),
            )
            .await
    }
}
