//! The W3C trace context of the request that recorded an event (issue 19): `outbox_event.traceparent`,
//! so that a plugin's work on the event joins the trace of the mutation that caused it. Empty
//! (`NULL`) when tracing is off, for events of earlier versions, and for changes made outside a
//! traced request.

use sea_orm_migration::prelude::*;

/// Adds `outbox_event.traceparent`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Traceparent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .add_column(ColumnDef::new(OutboxEvent::Traceparent).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .drop_column(OutboxEvent::Traceparent)
                    .to_owned(),
            )
            .await
    }
}
