//! A location Phone Manager's audit log (issue 20) reads the entries about users of their
//! locations. Found at read time, that meant walking the account's entries newest first and
//! looking each one's user up (ten entries walked for each one shown where a location holds a
//! tenth of an account's users). Here each event carries the location of the user it is about
//! (`outbox_event.location_id`, where that user is now, as the view has always decided), indexed
//! by account, location and time, so a location's page is read like a page of one kind.
//!
//! The column is kept by the database itself, so that no writer of the log nor of users can
//! forget it: an event's is its user's location when it is recorded (users are written before
//! their events), and when a user moves, their events move with them. Rows already in the log
//! get their users' locations here.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::helpers::index;

/// Adds `outbox_event.location_id`, its index and the triggers that keep it.
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

const POSTGRES_UP: [&str; 5] = [
    "CREATE FUNCTION outbox_event_location() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     NEW.location_id := (SELECT u.location_id FROM app_user u WHERE u.id = NEW.user_id); RETURN NEW; END $$",
    "CREATE TRIGGER outbox_event_location BEFORE INSERT ON outbox_event FOR EACH ROW \
     WHEN (NEW.user_id IS NOT NULL) EXECUTE FUNCTION outbox_event_location()",
    "CREATE FUNCTION app_user_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE outbox_event SET location_id = NEW.location_id WHERE user_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER app_user_moved AFTER UPDATE OF location_id ON app_user FOR EACH ROW \
     WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id) EXECUTE FUNCTION app_user_moved()",
    BACKFILL,
];

const POSTGRES_DOWN: [&str; 4] = [
    "DROP TRIGGER app_user_moved ON app_user",
    "DROP FUNCTION app_user_moved()",
    "DROP TRIGGER outbox_event_location ON outbox_event",
    "DROP FUNCTION outbox_event_location()",
];

// SQLite cannot change the row a BEFORE trigger sees: the new row is given its location just
// after it is written (by its key, the rowid).
const SQLITE_UP: [&str; 3] = [
    "CREATE TRIGGER outbox_event_location AFTER INSERT ON outbox_event WHEN NEW.user_id IS NOT NULL BEGIN \
     UPDATE outbox_event SET location_id = (SELECT u.location_id FROM app_user u WHERE u.id = NEW.user_id) \
     WHERE position = NEW.position; END",
    "CREATE TRIGGER app_user_moved AFTER UPDATE OF location_id ON app_user \
     WHEN OLD.location_id IS NOT NEW.location_id BEGIN \
     UPDATE outbox_event SET location_id = NEW.location_id WHERE user_id = NEW.id; END",
    BACKFILL,
];

const SQLITE_DOWN: [&str; 2] = ["DROP TRIGGER app_user_moved", "DROP TRIGGER outbox_event_location"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(OutboxEvent::LocationId).uuid().null().to_owned();
        manager
            .alter_table(Table::alter().table(OutboxEvent::Table).add_column(column).to_owned())
            .await?;
        let db = manager.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &POSTGRES_UP,
            _ => &SQLITE_UP,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
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
        let db = manager.get_connection();
        let statements: &[&str] = match db.get_database_backend() {
            DbBackend::Postgres => &POSTGRES_DOWN,
            _ => &SQLITE_DOWN,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
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
