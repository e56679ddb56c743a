//! Webhooks (issue 20): the endpoints an account registers and the deliveries of its events to
//! them.
//!
//! - `webhook_endpoint`: where to send (`url`), which event types (`event_kinds`, a JSON array;
//!   empty: all), the signing secret sealed (never in clear) and, for a grace period after a
//!   rotation, the previous one; whether it is on, and since when it has been failing.
//! - `webhook_delivery`: one event (or a test `ping`) for one endpoint: the body exactly as sent
//!   (every attempt signs the same bytes), its state, attempts, next attempt, the last answer,
//!   and a lease so that one process at a time attempts it. `(endpoint_id, message_id)` is
//!   unique, so an event handed to the plugin twice is queued once.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{fk, index};

/// Creates `webhook_endpoint` and `webhook_delivery`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoint {
    Table,
    Id,
    AccountId,
    Url,
    Description,
    EventKinds,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretUntil,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    Id,
    EndpointId,
    MessageId,
    EventType,
    Body,
    OccurredAt,
    State,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    LastStatus,
    LastError,
    LastLatencyMs,
    LastAttemptAt,
    CreatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoint::Table)
                    .col(uuid(WebhookEndpoint::Id).primary_key())
                    .col(uuid(WebhookEndpoint::AccountId))
                    .col(text(WebhookEndpoint::Url))
                    .col(text(WebhookEndpoint::Description))
                    .col(json(WebhookEndpoint::EventKinds))
                    .col(text(WebhookEndpoint::SecretSealed))
                    .col(text_null(WebhookEndpoint::PreviousSecretSealed))
                    .col(timestamp_with_time_zone_null(WebhookEndpoint::PreviousSecretUntil))
                    .col(boolean(WebhookEndpoint::Enabled))
                    .col(text_null(WebhookEndpoint::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoint::FailingSince))
                    .col(timestamp_with_time_zone(WebhookEndpoint::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoint::UpdatedAt))
                    .col(big_integer(WebhookEndpoint::Version))
                    .foreign_key(&mut fk(
                        "fk_webhook_endpoint_account",
                        (WebhookEndpoint::Table, WebhookEndpoint::AccountId),
                        (Account::Table, Account::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(uuid(WebhookDelivery::Id).primary_key())
                    .col(uuid(WebhookDelivery::EndpointId))
                    .col(string_len(WebhookDelivery::MessageId, 64))
                    .col(string_len(WebhookDelivery::EventType, 64))
                    .col(text(WebhookDelivery::Body))
                    .col(timestamp_with_time_zone(WebhookDelivery::OccurredAt))
                    .col(string_len(WebhookDelivery::State, 16))
                    .col(integer(WebhookDelivery::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDelivery::NextAttemptAt))
                    .col(text_null(WebhookDelivery::LeaseOwner))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::LeaseUntil))
                    .col(integer_null(WebhookDelivery::LastStatus))
                    .col(text_null(WebhookDelivery::LastError))
                    .col(integer_null(WebhookDelivery::LastLatencyMs))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::LastAttemptAt))
                    .col(timestamp_with_time_zone(WebhookDelivery::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::DeliveredAt))
                    .foreign_key(&mut fk(
                        "fk_webhook_delivery_endpoint",
                        (WebhookDelivery::Table, WebhookDelivery::EndpointId),
                        (WebhookEndpoint::Table, WebhookEndpoint::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        for stmt in [
            index(
                "idx_webhook_endpoint_account",
                WebhookEndpoint::Table,
                &["account_id"],
                false,
            ),
            // An event is queued once per endpoint, however often the plugin is handed it.
            index(
                "idx_webhook_delivery_message",
                WebhookDelivery::Table,
                &["endpoint_id", "message_id"],
                true,
            ),
            // An endpoint's deliveries in order, and the first still pending.
            index(
                "idx_webhook_delivery_endpoint_state",
                WebhookDelivery::Table,
                &["endpoint_id", "state", "id"],
                false,
            ),
            // The workers' question: which deliveries are due.
            index(
                "idx_webhook_delivery_due",
                WebhookDelivery::Table,
                &["state", "next_attempt_at"],
                false,
            ),
        ] {
            manager.create_index(stmt).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDelivery::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoint::Table).to_owned())
            .await
    }
}
