//! Scheduled statuses (issue 21 §2): a status's schedule, an account's holidays and what a
//! user's schedule does next.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

use super::DynamicStatus;
use crate::service::remote::schedule::{self, Holidays, Schedule};

/// A day of the week.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Weekday {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl Weekday {
    const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// Monday = 0 … Sunday = 6.
    fn index(self) -> u8 {
        Self::ALL.iter().position(|d| *d == self).unwrap_or(0) as u8
    }
}

/// How a schedule rule treats the account's holidays (the day an occurrence starts on counts).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScheduleHolidays {
    /// Not on holidays: office hours (the default).
    Skip,
    /// Holidays are days like any other.
    Include,
    /// Only on holidays.
    Only,
}

impl From<ScheduleHolidays> for Holidays {
    fn from(h: ScheduleHolidays) -> Self {
        match h {
            ScheduleHolidays::Skip => Holidays::Skip,
            ScheduleHolidays::Include => Holidays::Include,
            ScheduleHolidays::Only => Holidays::Only,
        }
    }
}

impl From<Holidays> for ScheduleHolidays {
    fn from(h: Holidays) -> Self {
        match h {
            Holidays::Skip => ScheduleHolidays::Skip,
            Holidays::Include => ScheduleHolidays::Include,
            Holidays::Only => ScheduleHolidays::Only,
        }
    }
}

/// Why a user's active status is active.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ActiveStatusReason {
    /// Someone activated it; it holds until the schedule's next boundary.
    Manual,
    /// The user's schedule activated it.
    Schedule,
    /// The default: a new user's first status, or the schedule's fallback.
    Default,
}

impl From<entity::ActiveReason> for ActiveStatusReason {
    fn from(r: entity::ActiveReason) -> Self {
        match r {
            entity::ActiveReason::Manual => Self::Manual,
            entity::ActiveReason::Schedule => Self::Schedule,
            entity::ActiveReason::Default => Self::Default,
        }
    }
}

/// One weekly rule of a status's schedule: on these days, from `start` to `end` local time.
#[derive(SimpleObject, Clone, Debug)]
pub struct ScheduleRule {
    /// The days an occurrence starts on.
    pub days: Vec<Weekday>,
    /// Local start, `HH:MM` (or `HH:MM:SS`).
    pub start: String,
    /// Local end, `HH:MM` (`24:00` is midnight at the day's end); at or before `start` it is on
    /// the next day.
    pub end: String,
    /// How the rule treats the account's holidays.
    pub holidays: ScheduleHolidays,
}

/// When a status is the user's active one by schedule. Times are local to the user's time zone
/// (`User.timeZone`, else the account's).
#[derive(SimpleObject, Clone, Debug)]
pub struct StatusSchedule {
    /// Weekly rules.
    pub rules: Vec<ScheduleRule>,
    /// Dates (`YYYY-MM-DD`) on which the rules do not run.
    pub exceptions: Vec<String>,
    /// Whether this is the user's fallback: the status the schedule switches to when none of
    /// the user's rules covers the moment.
    pub is_fallback: bool,
}

impl StatusSchedule {
    /// The schedule a status stores, if any.
    pub fn of(stored: Option<&str>) -> Option<Self> {
        let s = Schedule::parse(stored)?;
        Some(Self {
            rules: (s.rules.iter())
                .map(|r| ScheduleRule {
                    days: (0..7)
                        .filter(|d| r.days & (1 << d) != 0)
                        .map(|d| Weekday::ALL[d])
                        .collect(),
                    start: schedule::rules::clock(r.start),
                    end: schedule::rules::clock(r.end),
                    holidays: r.holidays.into(),
                })
                .collect(),
            exceptions: s.skip.iter().map(ToString::to_string).collect(),
            is_fallback: s.fallback,
        })
    }
}

/// One of an account's holidays.
#[derive(SimpleObject, Clone, Debug)]
pub struct Holiday {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Its name.
    pub name: String,
}

/// What the user's schedule does next.
#[derive(SimpleObject, Clone, Debug)]
pub struct NextStatusChange {
    /// When.
    pub at: DateTime<Utc>,
    /// The status it activates then.
    pub status: DynamicStatus,
}

/// A weekly rule.
#[derive(InputObject, Clone, Debug)]
pub struct ScheduleRuleInput {
    /// The days an occurrence starts on (at least one).
    pub days: Vec<Weekday>,
    /// Local start, `HH:MM` or `HH:MM:SS` (00:00–23:59:59).
    pub start: String,
    /// Local end, `HH:MM` or `HH:MM:SS` (`24:00` allowed); at or before `start` it is on the
    /// next day. Not equal to `start`.
    pub end: String,
    /// How the rule treats the account's holidays (default `SKIP`).
    #[graphql(default_with = "ScheduleHolidays::Skip")]
    pub holidays: ScheduleHolidays,
}

/// A status's schedule.
#[derive(InputObject, Clone, Debug)]
pub struct StatusScheduleInput {
    /// Weekly rules (at most 20). They must not overlap the user's other statuses' rules.
    #[graphql(default)]
    pub rules: Vec<ScheduleRuleInput>,
    /// Dates (`YYYY-MM-DD`, at most 100) on which the rules do not run.
    #[graphql(default)]
    pub exceptions: Vec<String>,
    /// Make this the user's fallback status (a user has one at most).
    #[graphql(default)]
    pub is_fallback: bool,
}

impl From<StatusScheduleInput> for schedule::ScheduleInput {
    fn from(s: StatusScheduleInput) -> Self {
        Self {
            rules: (s.rules.into_iter())
                .map(|r| schedule::RuleInput {
                    days: r.days.iter().map(|d| d.index()).collect(),
                    start: r.start,
                    end: r.end,
                    holidays: r.holidays.into(),
                })
                .collect(),
            exceptions: s.exceptions,
            fallback: s.is_fallback,
        }
    }
}

/// One holiday.
#[derive(InputObject, Clone, Debug)]
pub struct HolidayInput {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Its name (1–64 characters).
    pub name: String,
}
