//! A location Phone Manager's audit log (issue 20) reads the entries about users of their
//! locations. Found at read time, that meant walking the account's entries newest first and
//! looking each one's user up (ten entries walked for each one shown where a location holds a
//! tenth of an account's users). Here each event carries the location of the user it is about
//! (`outbox_event.location_id`, where that user is now, as the view has always decided), indexed
//! by account, location and time, so a location's page is read like a page of one kind.
//!
//! The log's writers set the column as they insert (the user's location, read in the same
//! statement: users are written before their events), and moving a user moves their events
//! (`service::directory::user_update`). Rows already in the log get their users' locations
//! here. (Triggers kept it first; they made 1,000-row bulk writes twice as slow.)

use sea_orm_migration::prelude::*;

use crate::helpers::index;

/// Adds `outbox_event.location_id` and its index.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    LocationId,
}

fn by_location() -> IndexCreateStatement {
    index(
        "idx_outbox_event_account_location_time",
        OutboxEvent::Table,
        &["account_id", "location_id", "occurred_at", "position"],
        false,
    )
}

const BACKFILL: &str = "UPDATE outbox_event SET location_id = \
     (SELECT u.location_id FROM app_user u WHERE u.id = outbox_event.user_id) WHERE user_id IS NOT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(OutboxEvent::LocationId).uuid().null().to_owned();
        manager
            .alter_table(Table::alter().table(OutboxEvent::Table).add_column(column).to_owned())
            .await?;
        manager.get_connection().execute_unprepared(BACKFILL).await?;
        manager.create_index(by_location()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_event_account_location_time")
                    .table(OutboxEvent::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxEvent::Table)
                    .drop_column(OutboxEvent::LocationId)
                    .to_owned(),
            )
            .await
    }
}
