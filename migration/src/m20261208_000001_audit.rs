//! The audit log (issue 20): `outbox_event.user_id`, the user an event is about (the user named
//! in its payload, or the user it is about itself), so that a location Phone Manager's view and
//! a filter by subject find their entries by index; and indexes that read an account's events
//! newest first, whole or by actor, by kind, or by user. They replace `(account_id, position)`,
//! which nothing reads any more. Rows already in the log are given their user here: on
//! PostgreSQL the table is locked while this migration runs (writes wait; see
//! `docs/operations.md`, *Upgrades*).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::helpers::index;

/// Adds `outbox_event.user_id` and the audit log's indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    UserId,
}

/// The audit log's indexes: each filter's columns, then the list's order.
fn indexes() -> [IndexCreateStatement; 4] {
    [
        index(
            "idx_outbox_event_account_time",
            OutboxEvent::Table,
            &["account_id", "occurred_at", "position"],
            false,
        ),
        index(
            "idx_outbox_event_account_actor_time",
            OutboxEvent::Table,
            &["account_id", "actor", "occurred_at", "position"],
            false,
        ),
        index(
            "idx_outbox_event_account_kind_time",
            OutboxEvent::Table,
            &["account_id", "event_type", "occurred_at", "position"],
            false,
        ),
        index(
            "idx_outbox_event_user_time",
            OutboxEvent::Table,
            &["user_id", "occurred_at", "position"],
            false,
        ),
    ]
}

/// Fills `user_id` of the rows written before the column existed: the payload's `userId`, else
/// the object itself when it is a user (or a user's Connect for Mobile record, keyed by the user).
fn backfill(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "UPDATE outbox_event SET user_id = COALESCE((payload->>'userId')::uuid, \
             CASE WHEN aggregate_type IN ('User', 'MobilityUser') THEN aggregate_id END) \
             WHERE payload->>'userId' IS NOT NULL OR aggregate_type IN ('User', 'MobilityUser')"
        }
        _ => {
            "UPDATE outbox_event SET user_id = COALESCE(unhex(replace(payload->>'userId', '-', '')), \
             CASE WHEN aggregate_type IN ('User', 'MobilityUser') THEN aggregate_id END) \
             WHERE payload->>'userId' IS NOT NULL OR aggregate_type IN ('User', 'MobilityUser')"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(OutboxEvent::UserId).uuid().null().to_owned();
        manager
            .alter_table(Table::alter().table(OutboxEvent::Table).add_column(column).to_owned())
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(backfill(db.get_database_backend())).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_event_account")
                    .table(OutboxEvent::Table)
                    .to_owned(),
            )
            .await?;
        for stmt in indexes() {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for stmt in indexes() {
            let name = stmt.get_index_spec().get_name().unwrap_or_default().to_owned();
            manager
                .drop_index(Index::drop().name(name).table(OutboxEvent::Table).to_owned())
                .await?;
        }
        manager
            .create_index(index(
                "idx_outbox_event_account",
                OutboxEvent::Table,
                &["account_id", "position"],
                false,
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .drop_column(OutboxEvent::UserId)
                    .to_owned(),
            )
            .await
    }
}
