//! The W3C trace context of the request that made a change (issue 19): `outbox_event.traceparent`,
//! so that a plugin's work on an event joins the trace of the mutation that caused it, and
//! `mobility_notification.traceparent`, so that its emails' sends do. Empty (`NULL`) when tracing
//! is off, for rows of earlier versions, and for changes made outside a traced request.

use sea_orm_migration::prelude::*;

/// Adds `outbox_event.traceparent` and `mobility_notification.traceparent`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
}

#[derive(DeriveIden)]
enum MobilityNotification {
    Table,
}

#[derive(DeriveIden)]
enum Column {
    Traceparent,
}

/// The tables that gain the column (one statement each: SQLite adds one column at a time).
fn tables() -> [DynIden; 2] {
    [OutboxEvent::Table.into_iden(), MobilityNotification::Table.into_iden()]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            let column = ColumnDef::new(Column::Traceparent).text().null().to_owned();
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager
                .alter_table(Table::alter().table(table).drop_column(Column::Traceparent).to_owned())
                .await?;
        }
        Ok(())
    }
}
