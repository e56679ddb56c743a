//! A status's schedule as stored (`dynamic_status.schedule`, JSON), its validation, and the
//! overlap rule between the schedules of one user's statuses. Pure: no database, no clock.

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

/// Seconds in a day.
pub const DAY: u32 = 86_400;
/// Seconds in a week.
const WEEK: u32 = 7 * DAY;
/// Most weekly rules on one status.
pub const MAX_RULES: usize = 20;
/// Most skipped dates on one status.
pub const MAX_EXCEPTIONS: usize = 100;

/// How a rule treats the account's holidays. The day that counts is the one an occurrence
/// starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Holidays {
    /// Not on holidays (office hours): the default.
    Skip,
    /// Holidays are days like any other.
    Include,
    /// Only on holidays.
    Only,
}

/// One weekly rule: on these days, from `start` to `end` local time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The days an occurrence starts on: Monday is bit 0, Sunday bit 6.
    pub days: u8,
    /// Start, in seconds after local midnight (`0..DAY`).
    pub start: u32,
    /// End, in seconds after local midnight (`1..=DAY`); at or before `start` it is on the next
    /// day (the rule passes midnight).
    pub end: u32,
    /// How the rule treats holidays.
    pub holidays: Holidays,
}

impl Rule {
    /// Whether the rule starts an occurrence on `day`.
    pub fn on(&self, day: Weekday) -> bool {
        self.days & (1 << day.to_monday_zero_offset()) != 0
    }

    /// Whether the rule runs on a day that is (or is not) a holiday.
    pub fn runs(&self, holiday: bool) -> bool {
        match self.holidays {
            Holidays::Skip => !holiday,
            Holidays::Include => true,
            Holidays::Only => holiday,
        }
    }

    /// How long an occurrence lasts on the wall clock, in seconds.
    pub fn length(&self) -> u32 {
        if self.end > self.start {
            self.end - self.start
        } else {
            self.end + DAY - self.start
        }
    }

    /// Checks that the rule can run: answers why not.
    pub fn check(&self) -> Result<(), String> {
        if self.days == 0 || self.days > 0x7f {
            return Err("a rule needs at least one day of the week".into());
        }
        if self.start >= DAY || self.end == 0 || self.end > DAY {
            return Err("a rule starts at 00:00–23:59:59 and ends at 00:00:01–24:00".into());
        }
        if self.start == self.end {
            return Err(format!(
                "a rule's start and end are the same ({}); for a whole day use 00:00–24:00",
                clock(self.start)
            ));
        }
        Ok(())
    }

    /// `Mon,Tue 08:00–17:00`, for messages.
    pub fn describe(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days: Vec<&str> = (0..7).filter(|d| self.days & (1 << d) != 0).map(|d| NAMES[d]).collect();
        format!("{} {}–{}", days.join(","), clock(self.start), clock(self.end))
    }
}

/// `HH:MM` or `HH:MM:SS`.
pub fn clock(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// Reads `HH:MM` or `HH:MM:SS` (`24:00` allowed, as an end), in seconds after midnight.
pub fn parse_clock(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().unwrap_or(99)).collect();
    let (h, m, s) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    if m > 59 || s > 59 || h > 24 || (h == 24 && (m, s) != (0, 0)) {
        return None;
    }
    Some(h * 3600 + m * 60 + s)
}

/// A status's schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Weekly rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Dates on which the rules do not start an occurrence (a day off, say).
    #[serde(default)]
    pub skip: Vec<Date>,
    /// Whether this is the user's fallback: the status a boundary switches to when none of the
    /// user's rules covers the moment.
    #[serde(default)]
    pub fallback: bool,
}

impl Schedule {
    /// Whether it schedules nothing (stored as `NULL`).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && !self.fallback
    }

    /// Reads a stored schedule; a column that does not parse (a bug) reads as none.
    pub fn parse(stored: Option<&str>) -> Option<Schedule> {
        let s: Schedule = serde_json::from_str(stored?).ok()?;
        (!s.is_empty()).then_some(s)
    }

    /// The stored form; `None` when it schedules nothing.
    pub fn stored(&self) -> Option<String> {
        (!self.is_empty()).then(|| serde_json::to_string(self).unwrap_or_default())
    }

    /// Checks its parts: answers the field at fault and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.rules.len() > MAX_RULES {
            return Err(("rules", format!("at most {MAX_RULES} rules")));
        }
        if self.skip.len() > MAX_EXCEPTIONS {
            return Err(("exceptions", format!("at most {MAX_EXCEPTIONS} dates")));
        }
        for r in &self.rules {
            r.check().map_err(|why| ("rules", why))?;
        }
        Ok(())
    }

    /// The first pair of rules, one of each schedule, that can be in force at the same moment.
    /// Occurrences are compared on the weekly clock. Skipped dates are not counted, since they
    /// only take time away. Two rules never meet when one skips holidays and the other keeps to
    /// them and both occurrences start on the same day; every other pair that meets on the
    /// clock overlaps, whatever the holiday calendar says now, since it may change.
    pub fn overlap<'a>(&'a self, other: &'a Schedule) -> Option<(&'a Rule, &'a Rule)> {
        for a in &self.rules {
            for b in &other.rules {
                let meet = pieces(a).any(|pa| {
                    pieces(b).any(|pb| {
                        let apart = pa.day == pb.day
                            && matches!(
                                (a.holidays, b.holidays),
                                (Holidays::Skip, Holidays::Only) | (Holidays::Only, Holidays::Skip)
                            );
                        pa.from < pb.to && pb.from < pa.to && !apart
                    })
                });
                if meet {
                    return Some((a, b));
                }
            }
        }
        None
    }
}

/// A stretch of the week an occurrence of a rule covers: seconds since Monday 00:00, and the day
/// the occurrence started on.
struct Piece {
    from: u32,
    to: u32,
    day: u32,
}

/// The stretches of the week a rule covers; an occurrence that runs past Sunday midnight comes
/// back at the start of the week.
fn pieces(rule: &Rule) -> impl Iterator<Item = Piece> + '_ {
    (0..7u32)
        .filter(move |d| rule.days & (1 << d) != 0)
        .flat_map(move |day| {
            let from = day * DAY + rule.start;
            let to = from + rule.length();
            if to <= WEEK {
                vec![Piece { from, to, day }]
            } else {
                vec![
                    Piece { from, to: WEEK, day },
                    Piece {
                        from: 0,
                        to: to - WEEK,
                        day,
                    },
                ]
            }
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;

    /// A rule from `HH:MM` times (the plan's tests use it too).
    pub(in crate::service::remote::schedule) fn rule(days: u8, start: &str, end: &str, holidays: Holidays) -> Rule {
        Rule {
            days,
            start: parse_clock(start).unwrap(),
            end: parse_clock(end).unwrap(),
            holidays,
        }
    }

    fn of(rules: Vec<Rule>) -> Schedule {
        Schedule {
            rules,
            ..Default::default()
        }
    }

    const WEEKDAYS: u8 = 0b001_1111;
    const SAT: u8 = 1 << 5;
    const SUN: u8 = 1 << 6;
    const MON: u8 = 1;

    #[test]
    fn clocks_read_and_write() {
        assert_eq!(parse_clock("08:00"), Some(8 * 3600));
        assert_eq!(parse_clock("23:59:59"), Some(DAY - 1));
        assert_eq!(parse_clock("24:00"), Some(DAY));
        for bad in ["24:01", "8:00", "08:60", "08:00:60", "08", "08:00:00:00", "ab:cd", ""] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(clock(8 * 3600 + 30 * 60), "08:30");
        assert_eq!(clock(8 * 3600 + 5), "08:00:05");
    }

    #[test]
    fn checks_refuse_what_cannot_run() {
        assert!(
            of(vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)])
                .check()
                .is_ok()
        );
        assert!(
            of(vec![rule(WEEKDAYS, "22:00", "06:00", Holidays::Skip)])
                .check()
                .is_ok()
        );
        assert!(of(vec![rule(0, "08:00", "17:00", Holidays::Skip)]).check().is_err());
        assert!(of(vec![rule(MON, "08:00", "08:00", Holidays::Skip)]).check().is_err());
        let many = of(vec![rule(MON, "08:00", "09:00", Holidays::Skip); MAX_RULES + 1]);
        assert_eq!(many.check().unwrap_err().0, "rules");
    }

    #[test]
    fn overlaps_on_the_weekly_clock() {
        let office = of(vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)]);
        let lunch = of(vec![rule(MON, "12:00", "13:00", Holidays::Include)]);
        let evening = of(vec![rule(WEEKDAYS, "17:00", "22:00", Holidays::Skip)]);
        let night = of(vec![rule(WEEKDAYS, "22:00", "08:00", Holidays::Skip)]);
        assert!(office.overlap(&lunch).is_some());
        // Touching ends do not overlap.
        assert!(office.overlap(&evening).is_none());
        assert!(night.overlap(&office).is_none());
        assert!(night.overlap(&evening).is_none());
        // Friday night runs into Saturday morning.
        let saturday = of(vec![rule(SAT, "07:00", "09:00", Holidays::Include)]);
        assert!(night.overlap(&saturday).is_some());
        // Sunday night runs into Monday morning, across the week's end.
        let sunday_night = of(vec![rule(SUN, "22:00", "02:00", Holidays::Include)]);
        let monday_early = of(vec![rule(MON, "01:00", "03:00", Holidays::Include)]);
        assert!(sunday_night.overlap(&monday_early).is_some());
        assert!(monday_early.overlap(&sunday_night).is_some());
    }

    #[test]
    fn holiday_rules_meet_office_hours_only_across_days() {
        let office = of(vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)]);
        let holiday = of(vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Only)]);
        assert!(office.overlap(&holiday).is_none());
        // The holiday rule starting on Monday night reaches Tuesday's office hours: a Monday
        // holiday before a working Tuesday would have both in force.
        let holiday_night = of(vec![rule(MON, "20:00", "09:00", Holidays::Only)]);
        assert!(office.overlap(&holiday_night).is_some());
        let include = of(vec![rule(MON, "10:00", "11:00", Holidays::Include)]);
        assert!(holiday.overlap(&include).is_some());
    }

    #[test]
    fn stored_form_round_trips() {
        let s = Schedule {
            rules: vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)],
            skip: vec![jiff::civil::date(2026, 12, 24)],
            fallback: false,
        };
        assert_eq!(Schedule::parse(s.stored().as_deref()), Some(s));
        assert_eq!(Schedule::default().stored(), None);
        assert_eq!(Schedule::parse(Some("not json")), None);
    }
}
