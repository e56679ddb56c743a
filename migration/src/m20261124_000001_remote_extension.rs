//! Remote Extension (SPEC §4): client profiles, users' numbers ("My Numbers"), dynamic statuses
//! and each user's record holding their profile and active status.
//!
//! The rules that must hold under concurrent requests are constraints here: a number once per
//! user and a label once per user (R3, R4); a remote-extension number once across the platform
//! (`remote_number` is the number while it is a remote extension, else NULL — R4); a number a
//! status points at cannot be deleted (R6); and one `active_status_id` column per user (R9).

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
enum AppUser {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ClientProfile {
    Table,
    Id,
    AccountId,
    Name,
    NameKey,
    IsDefault,
    AllowUsersAddStatus,
    CallThroughAllowed,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserNumber {
    Table,
    Id,
    UserId,
    AccountId,
    Label,
    LabelKey,
    Number,
    IsRemoteExtension,
    RemoteNumber,
    Origin,
    CallThrough,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DynamicStatus {
    Table,
    Id,
    UserId,
    AccountId,
    Name,
    NameKey,
    Presence,
    Message,
    Origin,
    RemoteExtensionId,
    CallUsingKind,
    CallUsingNumberId,
    SendCallsToKind,
    SendCallsToNumberId,
    WhenBusyKind,
    WhenBusyNumberId,
    IfNoAnswerKind,
    IfNoAnswerNumberId,
    Version,
    CreatedAt,
    CreatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RemoteUser {
    Table,
    UserId,
    AccountId,
    ClientProfileId,
    ActiveStatusId,
    UpdatedAt,
}

/// A foreign key from a status column to a number: `NO ACTION`, so a number in use cannot be
/// deleted (R6), while deleting a user still cascades through both tables in one statement.
fn to_number(name: &str, col: DynamicStatus) -> ForeignKeyCreateStatement {
    fk(
        name,
        (DynamicStatus::Table, col),
        (UserNumber::Table, UserNumber::Id),
        ForeignKeyAction::NoAction,
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, NoAction};
        manager
            .create_table(
                Table::create()
                    .table(ClientProfile::Table)
                    .col(pk_uuid(ClientProfile::Id))
                    .col(uuid(ClientProfile::AccountId))
                    .col(string_len(ClientProfile::Name, 64))
                    .col(string_len(ClientProfile::NameKey, 64))
                    .col(boolean(ClientProfile::IsDefault))
                    .col(boolean(ClientProfile::AllowUsersAddStatus))
                    .col(boolean(ClientProfile::CallThroughAllowed))
                    .col(timestamp_with_time_zone(ClientProfile::CreatedAt))
                    .col(timestamp_with_time_zone(ClientProfile::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_client_profile_account",
                        (ClientProfile::Table, ClientProfile::AccountId),
                        (Account::Table, Account::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserNumber::Table)
                    .col(pk_uuid(UserNumber::Id))
                    .col(uuid(UserNumber::UserId))
                    .col(uuid(UserNumber::AccountId))
                    .col(string_len(UserNumber::Label, 64))
                    .col(string_len(UserNumber::LabelKey, 64))
                    .col(string_len(UserNumber::Number, 32))
                    .col(boolean(UserNumber::IsRemoteExtension))
                    .col(string_len_null(UserNumber::RemoteNumber, 32))
                    .col(string_len(UserNumber::Origin, 16))
                    .col(boolean(UserNumber::CallThrough))
                    .col(timestamp_with_time_zone(UserNumber::CreatedAt))
                    .col(text(UserNumber::CreatedBy))
                    .col(timestamp_with_time_zone(UserNumber::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_user_number_user",
                        (UserNumber::Table, UserNumber::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DynamicStatus::Table)
                    .col(pk_uuid(DynamicStatus::Id))
                    .col(uuid(DynamicStatus::UserId))
                    .col(uuid(DynamicStatus::AccountId))
                    .col(string_len(DynamicStatus::Name, 64))
                    .col(string_len(DynamicStatus::NameKey, 64))
                    .col(string_len(DynamicStatus::Presence, 32))
                    .col(string_len_null(DynamicStatus::Message, 200))
                    .col(string_len(DynamicStatus::Origin, 16))
                    .col(uuid_null(DynamicStatus::RemoteExtensionId))
                    .col(string_len(DynamicStatus::CallUsingKind, 32))
                    .col(uuid_null(DynamicStatus::CallUsingNumberId))
                    .col(string_len(DynamicStatus::SendCallsToKind, 32))
                    .col(uuid_null(DynamicStatus::SendCallsToNumberId))
                    .col(string_len(DynamicStatus::WhenBusyKind, 32))
                    .col(uuid_null(DynamicStatus::WhenBusyNumberId))
                    .col(string_len(DynamicStatus::IfNoAnswerKind, 32))
                    .col(uuid_null(DynamicStatus::IfNoAnswerNumberId))
                    .col(big_integer(DynamicStatus::Version))
                    .col(timestamp_with_time_zone(DynamicStatus::CreatedAt))
                    .col(text(DynamicStatus::CreatedBy))
                    .col(timestamp_with_time_zone(DynamicStatus::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_dynamic_status_user",
                        (DynamicStatus::Table, DynamicStatus::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut to_number(
                        "fk_dynamic_status_remote_extension",
                        DynamicStatus::RemoteExtensionId,
                    ))
                    .foreign_key(&mut to_number(
                        "fk_dynamic_status_call_using",
                        DynamicStatus::CallUsingNumberId,
                    ))
                    .foreign_key(&mut to_number(
                        "fk_dynamic_status_send_calls_to",
                        DynamicStatus::SendCallsToNumberId,
                    ))
                    .foreign_key(&mut to_number(
                        "fk_dynamic_status_when_busy",
                        DynamicStatus::WhenBusyNumberId,
                    ))
                    .foreign_key(&mut to_number(
                        "fk_dynamic_status_if_no_answer",
                        DynamicStatus::IfNoAnswerNumberId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RemoteUser::Table)
                    .col(uuid(RemoteUser::UserId).primary_key())
                    .col(uuid(RemoteUser::AccountId))
                    .col(uuid_null(RemoteUser::ClientProfileId))
                    .col(uuid_null(RemoteUser::ActiveStatusId))
                    .col(timestamp_with_time_zone(RemoteUser::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_remote_user_user",
                        (RemoteUser::Table, RemoteUser::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_remote_user_client_profile",
                        (RemoteUser::Table, RemoteUser::ClientProfileId),
                        (ClientProfile::Table, ClientProfile::Id),
                        NoAction,
                    ))
                    // The active status cannot be deleted (R10), also by a racing request.
                    .foreign_key(&mut fk(
                        "fk_remote_user_active_status",
                        (RemoteUser::Table, RemoteUser::ActiveStatusId),
                        (DynamicStatus::Table, DynamicStatus::Id),
                        NoAction,
                    ))
                    .take(),
            )
            .await?;

        let indexes = [
            index(
                "idx_client_profile_account_name",
                ClientProfile::Table,
                &["account_id", "name_key"],
                true,
            ),
            // R4: once per user; R3: labels once per user ignoring case.
            index(
                "idx_user_number_user_number",
                UserNumber::Table,
                &["user_id", "number"],
                true,
            ),
            index(
                "idx_user_number_user_label",
                UserNumber::Table,
                &["user_id", "label_key"],
                true,
            ),
            // R4: a remote-extension number belongs to one user across the platform.
            index(
                "idx_user_number_remote_number",
                UserNumber::Table,
                &["remote_number"],
                true,
            ),
            index(
                "idx_dynamic_status_user_name",
                DynamicStatus::Table,
                &["user_id", "name_key"],
                true,
            ),
            // The foreign keys into user_number, so a number's delete checks them by index.
            index(
                "idx_dynamic_status_remote_extension",
                DynamicStatus::Table,
                &["remote_extension_id"],
                false,
            ),
            index(
                "idx_dynamic_status_call_using",
                DynamicStatus::Table,
                &["call_using_number_id"],
                false,
            ),
            index(
                "idx_dynamic_status_send_calls_to",
                DynamicStatus::Table,
                &["send_calls_to_number_id"],
                false,
            ),
            index(
                "idx_dynamic_status_when_busy",
                DynamicStatus::Table,
                &["when_busy_number_id"],
                false,
            ),
            index(
                "idx_dynamic_status_if_no_answer",
                DynamicStatus::Table,
                &["if_no_answer_number_id"],
                false,
            ),
            index("idx_remote_user_account", RemoteUser::Table, &["account_id"], false),
            index(
                "idx_remote_user_profile",
                RemoteUser::Table,
                &["client_profile_id"],
                false,
            ),
            index(
                "idx_remote_user_active",
                RemoteUser::Table,
                &["active_status_id"],
                false,
            ),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        // Every account gets its default profile, keyed by the account's id.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO client_profile (id, account_id, name, name_key, is_default, \
                 allow_users_add_status, call_through_allowed, created_at, updated_at) \
                 SELECT id, id, 'Default', 'default', TRUE, TRUE, TRUE, created_at, created_at FROM account",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RemoteUser::Table.into_iden(),
            DynamicStatus::Table.into_iden(),
            UserNumber::Table.into_iden(),
            ClientProfile::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
