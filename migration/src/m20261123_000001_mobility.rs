//! Connect for Mobile (SPEC §3): the add-on's state and settings per account, the users enabled
//! for mobility, the notifications a settings change queues with one delivery row per recipient,
//! and the account's extension plan.
//!
//! `extension_claim` holds every extension an account hands out, a user's own and a mobility
//! extension alike, under one unique key: M8 ("differs from every user extension and every other
//! mobility extension") is then a database constraint, so races end as clean conflicts.

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
enum AccessNumber {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum MobilityAccount {
    Table,
    AccountId,
    State,
    MobilityRouter,
    GroupName,
    VoicemailAccessNumber,
    AccessNumberId,
    ReverseDialNumber,
    HandoverNumber,
    SendEmailNotification,
    Version,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum MobilityUser {
    Table,
    UserId,
    AccountId,
    MobilityExtension,
    EnabledAt,
    EnabledBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ExtensionClaim {
    Table,
    AccountId,
    Extension,
    UserId,
    Kind,
}

#[derive(DeriveIden)]
enum MobilityNotification {
    Table,
    Id,
    AccountId,
    SortKey,
    Changes,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum NotificationDelivery {
    Table,
    Id,
    NotificationId,
    UserId,
    Email,
    Status,
    Attempts,
    LastError,
    NextAttemptAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict};
        manager
            .create_table(
                Table::create()
                    .table(MobilityAccount::Table)
                    .col(uuid(MobilityAccount::AccountId).primary_key())
                    .col(string_len(MobilityAccount::State, 32))
                    .col(text_null(MobilityAccount::MobilityRouter))
                    .col(text_null(MobilityAccount::GroupName))
                    .col(string_len_null(MobilityAccount::VoicemailAccessNumber, 16))
                    .col(uuid_null(MobilityAccount::AccessNumberId))
                    .col(string_len_null(MobilityAccount::ReverseDialNumber, 16))
                    .col(string_len_null(MobilityAccount::HandoverNumber, 16))
                    .col(boolean(MobilityAccount::SendEmailNotification))
                    .col(big_integer(MobilityAccount::Version))
                    .col(timestamp_with_time_zone(MobilityAccount::UpdatedAt))
                    .col(text_null(MobilityAccount::UpdatedBy))
                    .foreign_key(&mut fk(
                        "fk_mobility_account_account",
                        (MobilityAccount::Table, MobilityAccount::AccountId),
                        (Account::Table, Account::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_mobility_account_access_number",
                        (MobilityAccount::Table, MobilityAccount::AccessNumberId),
                        (AccessNumber::Table, AccessNumber::Id),
                        Restrict,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MobilityUser::Table)
                    .col(uuid(MobilityUser::UserId).primary_key())
                    .col(uuid(MobilityUser::AccountId))
                    .col(string_len(MobilityUser::MobilityExtension, 16))
                    .col(timestamp_with_time_zone(MobilityUser::EnabledAt))
                    .col(text(MobilityUser::EnabledBy))
                    .col(timestamp_with_time_zone(MobilityUser::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_mobility_user_user",
                        (MobilityUser::Table, MobilityUser::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_mobility_user_account",
                        (MobilityUser::Table, MobilityUser::AccountId),
                        (Account::Table, Account::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExtensionClaim::Table)
                    .col(uuid(ExtensionClaim::AccountId))
                    .col(string_len(ExtensionClaim::Extension, 16))
                    .col(uuid(ExtensionClaim::UserId))
                    .col(string_len(ExtensionClaim::Kind, 16))
                    .primary_key(
                        Index::create()
                            .name("pk_extension_claim")
                            .col(ExtensionClaim::AccountId)
                            .col(ExtensionClaim::Extension),
                    )
                    .foreign_key(&mut fk(
                        "fk_extension_claim_user",
                        (ExtensionClaim::Table, ExtensionClaim::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MobilityNotification::Table)
                    .col(pk_uuid(MobilityNotification::Id))
                    .col(uuid(MobilityNotification::AccountId))
                    .col(string_len(MobilityNotification::SortKey, 40))
                    .col(json(MobilityNotification::Changes))
                    .col(timestamp_with_time_zone(MobilityNotification::CreatedAt))
                    .col(text(MobilityNotification::CreatedBy))
                    .foreign_key(&mut fk(
                        "fk_mobility_notification_account",
                        (MobilityNotification::Table, MobilityNotification::AccountId),
                        (Account::Table, Account::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationDelivery::Table)
                    .col(pk_uuid(NotificationDelivery::Id))
                    .col(uuid(NotificationDelivery::NotificationId))
                    .col(uuid(NotificationDelivery::UserId))
                    .col(text_null(NotificationDelivery::Email))
                    .col(string_len(NotificationDelivery::Status, 16))
                    .col(integer(NotificationDelivery::Attempts))
                    .col(text_null(NotificationDelivery::LastError))
                    .col(timestamp_with_time_zone_null(NotificationDelivery::NextAttemptAt))
                    .col(timestamp_with_time_zone(NotificationDelivery::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_notification_delivery_notification",
                        (NotificationDelivery::Table, NotificationDelivery::NotificationId),
                        (MobilityNotification::Table, MobilityNotification::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notification_delivery_user",
                        (NotificationDelivery::Table, NotificationDelivery::UserId),
                        (AppUser::Table, AppUser::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;

        let indexes = [
            // M8: a mobility extension appears once per account (the claim table backs it
            // against user extensions too).
            index(
                "idx_mobility_user_account_extension",
                MobilityUser::Table,
                &["account_id", "mobility_extension"],
                true,
            ),
            index("idx_extension_claim_user", ExtensionClaim::Table, &["user_id"], false),
            // Account.mobility.notifications, newest first.
            index(
                "idx_mobility_notification_account_sort",
                MobilityNotification::Table,
                &["account_id", "sort_key", "id"],
                false,
            ),
            index(
                "idx_notification_delivery_notification",
                NotificationDelivery::Table,
                &["notification_id"],
                false,
            ),
            // The email worker's queue: due deliveries by state.
            index(
                "idx_notification_delivery_status",
                NotificationDelivery::Table,
                &["status", "next_attempt_at"],
                false,
            ),
            index(
                "idx_notification_delivery_user",
                NotificationDelivery::Table,
                &["user_id"],
                false,
            ),
            index(
                "idx_mobility_account_access_number",
                MobilityAccount::Table,
                &["access_number_id"],
                false,
            ),
        ];
        for stmt in indexes {
            manager.create_index(stmt).await?;
        }
        // Every user's own extension becomes a claim.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO extension_claim (account_id, extension, user_id, kind) \
                 SELECT account_id, extension, id, 'USER' FROM app_user",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            NotificationDelivery::Table.into_iden(),
            MobilityNotification::Table.into_iden(),
            ExtensionClaim::Table.into_iden(),
            MobilityUser::Table.into_iden(),
            MobilityAccount::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
