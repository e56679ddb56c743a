//! Reach's database migrations: one file per change, never edited once applied, each with a `down`.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261122_000001_directory;
mod m20261123_000001_mobility;
mod m20261124_000001_remote_extension;
mod m20261125_000001_plugins;
mod m20261126_000001_live;
mod m20261127_000001_platform_sync;
pub mod m20261205_000001_search;
mod m20261206_000001_filter_statistics;
mod m20261207_000001_trace_context;
mod m20261208_000001_audit;
mod m20261209_000001_webhooks;
mod m20261210_000001_audit_views;
mod m20261211_000001_remote_ringing;
mod m20261212_000001_schedules;

/// Applies Reach's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_directory::Migration),
            Box::new(m20261123_000001_mobility::Migration),
            Box::new(m20261124_000001_remote_extension::Migration),
            Box::new(m20261125_000001_plugins::Migration),
            Box::new(m20261126_000001_live::Migration),
            Box::new(m20261127_000001_platform_sync::Migration),
            Box::new(m20261205_000001_search::Migration),
            Box::new(m20261206_000001_filter_statistics::Migration),
            Box::new(m20261207_000001_trace_context::Migration),
            Box::new(m20261208_000001_audit::Migration),
            Box::new(m20261209_000001_webhooks::Migration),
            Box::new(m20261210_000001_audit_views::Migration),
            Box::new(m20261211_000001_remote_ringing::Migration),
            Box::new(m20261212_000001_schedules::Migration),
        ]
    }
}
