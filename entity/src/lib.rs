//! Reach's database entities: one sea-orm entity per table, no GraphQL here.
//!
//! Enumerations are stored as short upper-case strings so that the database stays readable and
//! portable between SQLite and PostgreSQL.

pub mod access_number;
pub mod account;
pub mod account_holiday;
pub mod client_profile;
pub mod dynamic_status;
pub mod enums;
pub mod event;
pub mod extension_claim;
pub mod location;
pub mod mobility_account;
pub mod mobility_notification;
pub mod mobility_user;
pub mod notification_delivery;
pub mod outbox_event;
pub mod platform_connection;
pub mod platform_sync_run;
pub mod platform_withdrawal;
pub mod plugin_cursor;
pub mod remote_user;
pub mod role_assignment;
pub mod server_secret;
pub mod user;
pub mod user_number;
pub mod webhook_delivery;
pub mod webhook_endpoint;

pub use enums::{
    ActiveReason, ClaimKind, DeliveryStatus, MobilityState, NumberOrigin, PhoneProfile, Platform, Presence, Role,
    StatusOrigin, SyncRunState, TargetKind, WebhookDeliveryState,
};
