//! Remote Extension: numbers, routing, statuses and profiles rule by rule, who may do what, races
//! and random sequences.

mod access;
mod concurrency;
mod preview;
mod profiles;
mod props;
mod ringing;
mod routing;
mod rules;
mod schedule;
mod statuses;
