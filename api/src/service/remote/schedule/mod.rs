//! Scheduled statuses (issue 21 §2): schedules, time zones, holidays and the scheduler.

pub mod plan;
pub mod rules;
