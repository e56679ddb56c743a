//! Reach's integration tests: one binary; each test starts the real server on port 0 against a
//! fresh database, SQLite always and PostgreSQL whenever `REACH_TEST_POSTGRES_URL` is set
//! (required when `CI=true`).

mod helpers;

mod auth;
mod built_pages;
mod cli;
mod concurrency;
mod directory;
mod email_delivery;
mod email_process;
mod email_support;
mod email_wire;
mod fake_platform;
mod fuzz;
mod hardening;
mod hardening_input;
mod hardening_net;
mod hardening_tokens;
mod http;
mod limits;
mod mobility_access;
mod mobility_rules;
mod outbox;
mod platform_connector;
mod platform_outbound;
mod platform_sync;
mod plugins;
mod queries;
mod remote_access;
mod remote_concurrency;
mod remote_profiles;
mod remote_props;
mod remote_props_checks;
mod remote_routing;
mod remote_rules;
mod remote_statuses;
mod remote_support;
mod schema;
mod schema_walk;
mod smtp_sink;
mod subscriptions;
mod subscriptions_process;
mod tenancy;
mod tenancy_generated;
mod tenancy_schema;
mod writes;
mod ws_client;
