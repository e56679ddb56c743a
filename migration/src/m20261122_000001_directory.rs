//! The directory (accounts, locations, users, roles, access numbers), the server's generated
//! secrets and the event outbox, with an index for every lookup and filter the API offers.
//!
//! Names, labels and emails are `text`: the services bound them in characters, and lower-casing
//! (the sort and search keys) can make a string longer than the one the user gave.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    Name,
    SortName,
    Platform,
    DestinationCodes,
    ExtensionLength,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Location {
    Table,
    Id,
    AccountId,
    Name,
    SortName,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AccessNumber {
    Table,
    Id,
    AccountId,
    Number,
    Label,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppUser {
    Table,
    Id,
    AccountId,
    LocationId,
    Name,
    SortName,
    Email,
    PhoneNumber,
    Extension,
    PhoneProfile,
    SearchText,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RoleAssignment {
    Table,
    Id,
    AccountId,
    UserId,
    Role,
    LocationId,
    Scope,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServerSecret {
    Table,
    Name,
    Value,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxEvent {
    Table,
    Position,
    Id,
    EventType,
    AccountId,
    AggregateType,
    AggregateId,
    Actor,
    Payload,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .col(pk_uuid(Account::Id))
                    .col(text(Account::Name))
                    .col(text(Account::SortName))
                    .col(string_len(Account::Platform, 32))
                    .col(string_len(Account::DestinationCodes, 200))
                    .col(integer_null(Account::ExtensionLength))
                    .col(timestamp_with_time_zone(Account::CreatedAt))
                    .col(timestamp_with_time_zone(Account::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Location::Table)
                    .col(pk_uuid(Location::Id))
                    .col(uuid(Location::AccountId))
                    .col(text(Location::Name))
                    .col(text(Location::SortName))
                    .col(timestamp_with_time_zone(Location::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_location_account",
                        (Location::Table, Location::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccessNumber::Table)
                    .col(pk_uuid(AccessNumber::Id))
                    .col(uuid(AccessNumber::AccountId))
                    .col(string_len(AccessNumber::Number, 32))
                    .col(text(AccessNumber::Label))
                    .col(timestamp_with_time_zone(AccessNumber::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_access_number_account",
                        (AccessNumber::Table, AccessNumber::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AppUser::Table)
                    .col(pk_uuid(AppUser::Id))
                    .col(uuid(AppUser::AccountId))
                    .col(uuid_null(AppUser::LocationId))
                    .col(text(AppUser::Name))
                    .col(text(AppUser::SortName))
                    .col(text_null(AppUser::Email))
                    .col(string_len_null(AppUser::PhoneNumber, 32))
                    .col(string_len(AppUser::Extension, 16))
                    .col(string_len(AppUser::PhoneProfile, 32))
                    .col(text(AppUser::SearchText))
                    .col(timestamp_with_time_zone(AppUser::CreatedAt))
                    .col(timestamp_with_time_zone(AppUser::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_app_user_account",
                        (AppUser::Table, AppUser::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_app_user_location")
                            .from(AppUser::Table, AppUser::LocationId)
                            .to(Location::Table, Location::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoleAssignment::Table)
                    .col(pk_uuid(RoleAssignment::Id))
                    .col(uuid(RoleAssignment::AccountId))
                    .col(uuid(RoleAssignment::UserId))
                    .col(string_len(RoleAssignment::Role, 32))
                    .col(uuid_null(RoleAssignment::LocationId))
                    .col(string_len(RoleAssignment::Scope, 40))
                    .col(timestamp_with_time_zone(RoleAssignment::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_role_assignment_user",
                        (RoleAssignment::Table, RoleAssignment::UserId),
                        (AppUser::Table, AppUser::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_role_assignment_location",
                        (RoleAssignment::Table, RoleAssignment::LocationId),
                        (Location::Table, Location::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServerSecret::Table)
                    .col(string_len(ServerSecret::Name, 64).primary_key())
                    .col(text(ServerSecret::Value))
                    .col(timestamp_with_time_zone(ServerSecret::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvent::Table)
                    .col(big_pk_auto(OutboxEvent::Position))
                    .col(uuid_uniq(OutboxEvent::Id))
                    .col(string_len(OutboxEvent::EventType, 64))
                    .col(uuid_null(OutboxEvent::AccountId))
                    .col(string_len(OutboxEvent::AggregateType, 64))
                    .col(uuid(OutboxEvent::AggregateId))
                    .col(text(OutboxEvent::Actor))
                    .col(json(OutboxEvent::Payload))
                    .col(timestamp_with_time_zone(OutboxEvent::OccurredAt))
                    .take(),
            )
            .await?;

        let indexes = [
            // accounts(search) ordered by name: keyset pagination over (sort_name, id).
            index("idx_account_sort", Account::Table, &["sort_name", "id"], false),
            index(
                "idx_location_account_name",
                Location::Table,
                &["account_id", "sort_name"],
                true,
            ),
            index(
                "idx_access_number_account_number",
                AccessNumber::Table,
                &["account_id", "number"],
                true,
            ),
            // Account.users ordered by name, then id.
            index(
                "idx_app_user_account_sort",
                AppUser::Table,
                &["account_id", "sort_name", "id"],
                false,
            ),
            // Extension unique in the account (SPEC §2).
            index(
                "idx_app_user_account_extension",
                AppUser::Table,
                &["account_id", "extension"],
                true,
            ),
            index(
                "idx_app_user_account_email",
                AppUser::Table,
                &["account_id", "email"],
                true,
            ),
            // `reach token --user <email>`.
            index("idx_app_user_email", AppUser::Table, &["email"], false),
            // A location-scoped Phone Manager's users.
            index(
                "idx_app_user_location",
                AppUser::Table,
                &["location_id", "sort_name", "id"],
                false,
            ),
            index(
                "idx_role_assignment_unique",
                RoleAssignment::Table,
                &["user_id", "role", "scope"],
                true,
            ),
            index(
                "idx_role_assignment_account",
                RoleAssignment::Table,
                &["account_id"],
                false,
            ),
            index(
                "idx_role_assignment_location",
                RoleAssignment::Table,
                &["location_id"],
                false,
            ),
            index(
                "idx_outbox_event_account",
                OutboxEvent::Table,
                &["account_id", "position"],
                false,
            ),
            index(
                "idx_outbox_event_aggregate",
                OutboxEvent::Table,
                &["aggregate_id", "position"],
                false,
            ),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OutboxEvent::Table.into_iden(),
            ServerSecret::Table.into_iden(),
            RoleAssignment::Table.into_iden(),
            AppUser::Table.into_iden(),
            AccessNumber::Table.into_iden(),
            Location::Table.into_iden(),
            Account::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
