//! Plugins (SPEC E1, E2): each plugin's place in the event log, the transaction id that lets a
//! reader of the log on PostgreSQL know which positions are final, and the email worker's lease
//! and Message-ID on each delivery.
//!
//! On PostgreSQL an event's `position` is handed out when its row is written, not when its
//! transaction commits, so a reader that has seen position 7 may later see 6 appear. Each event
//! therefore also records its transaction's id (`txid`, from `pg_current_xact_id()`); a reader
//! takes only events of transactions older than every running one (the snapshot's `xmin`) and
//! walks them in `(txid, position)` order, so nothing can appear behind its cursor. SQLite runs
//! one writer at a time, so positions are already final in order; `txid` stays 0 there.

use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PluginCursor {
    Table,
    Plugin,
    LastTxid,
    LastPosition,
    LeaseOwner,
    LeaseUntil,
    Failures,
    LastError,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Txid,
}

#[derive(DeriveIden)]
enum NotificationDelivery {
    Table,
    LeaseOwner,
    LeaseUntil,
    SentAt,
    MessageId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PluginCursor::Table)
                    .col(string_len(PluginCursor::Plugin, 64).primary_key())
                    .col(big_integer(PluginCursor::LastTxid))
                    .col(big_integer(PluginCursor::LastPosition))
                    .col(text_null(PluginCursor::LeaseOwner))
                    .col(timestamp_with_time_zone_null(PluginCursor::LeaseUntil))
                    .col(integer(PluginCursor::Failures))
                    .col(text_null(PluginCursor::LastError))
                    .col(timestamp_with_time_zone(PluginCursor::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let txid = match db.get_database_backend() {
            DbBackend::Postgres => {
                "ALTER TABLE outbox_event ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)"
            }
            _ => "ALTER TABLE outbox_event ADD COLUMN txid BIGINT NOT NULL DEFAULT 0",
        };
        db.execute_unprepared(txid).await?;
        manager
            .create_index(index(
                "idx_outbox_event_txid_position",
                OutboxEvent::Table,
                &["txid", "position"],
                false,
            ))
            .await?;
        // SQLite adds one column per statement.
        for col in [
            text_null(NotificationDelivery::LeaseOwner),
            timestamp_with_time_zone_null(NotificationDelivery::LeaseUntil),
            timestamp_with_time_zone_null(NotificationDelivery::SentAt),
            text_null(NotificationDelivery::MessageId),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationDelivery::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            NotificationDelivery::LeaseOwner,
            NotificationDelivery::LeaseUntil,
            NotificationDelivery::SentAt,
            NotificationDelivery::MessageId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationDelivery::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_event_txid_position")
                    .table(OutboxEvent::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .drop_column(OutboxEvent::Txid)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PluginCursor::Table).to_owned())
            .await
    }
}
