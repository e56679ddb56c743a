//! Webhooks (issue 20): endpoints, signed deliveries to a real HTTP receiver, retries and
//! failures, the outbound protections, and who may manage them.

mod delivery;
mod manage;
mod processes;
