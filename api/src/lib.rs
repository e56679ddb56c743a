//! Reach: the GraphQL service that provisions fixed-mobile convergence (Connect for Mobile and
//! Remote Extension) for a hosted business phone service.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod live;
pub mod net;
pub mod policy;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ws;
