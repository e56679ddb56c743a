//! A user's schedules laid on the calendar of their time zone: which status the schedule names at
//! a moment, and the boundaries where that changes. Pure: the caller gives the time zone, the
//! holidays, the statuses' schedules and the moments; the scheduler, `User.nextStatusChange` and
//! the routing preview all ask this one plan.
//!
//! Local times become instants by these rules (`docs/behaviour.md`):
//! - a local time a daylight-saving change skips (02:30 on the night clocks go forward) is the
//!   first valid instant after it: the moment of the change (03:00 new time);
//! - a local time that happens twice (02:30 on the night clocks go back) is its first
//!   occurrence;
//! - an occurrence that comes out empty (02:00–02:30 on a skipped night) does not happen.

use std::collections::BTreeSet;

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, DateTime},
    tz::{AmbiguousOffset, TimeZone},
};
use uuid::Uuid;

use super::rules::Schedule;

/// How far the plan looks for a boundary, forwards or back: a rule kept to holidays may not run
/// for most of a year.
pub const HORIZON_DAYS: i32 = 400;

/// Why the schedule names a status at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// One of its rules covers the moment.
    Rule,
    /// No rule covers it and the status is the user's fallback.
    Fallback,
}

/// A status the schedule names, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Named {
    /// The status.
    pub status: Uuid,
    /// Why.
    pub why: Why,
}

/// A moment the schedule switches to another status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// When.
    pub at: Timestamp,
    /// The status from then on.
    pub to: Named,
}

/// One occurrence of a rule.
#[derive(Clone, Copy, Debug)]
struct Occurrence {
    from: Timestamp,
    to: Timestamp,
    status: Uuid,
}

/// The instant a local time stands for in `tz` (see the module's rules).
pub fn instant(tz: &TimeZone, local: DateTime) -> Timestamp {
    let earliest = |offset: jiff::tz::Offset| offset.to_timestamp(local).unwrap_or(Timestamp::MIN);
    match tz.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => earliest(offset),
        AmbiguousOffset::Fold { before, .. } => earliest(before),
        // Read with the later offset the time falls before the change; the change itself is the
        // first valid instant after the skipped time.
        AmbiguousOffset::Gap { after, .. } => {
            let before_change = earliest(after);
            tz.following(before_change)
                .next()
                .map_or(before_change, |t| t.timestamp())
        }
    }
}

/// A user's schedules in their time zone.
pub struct Plan<'a> {
    tz: &'a TimeZone,
    holidays: &'a BTreeSet<Date>,
    statuses: Vec<(Uuid, &'a Schedule)>,
    fallback: Option<Uuid>,
}

impl<'a> Plan<'a> {
    /// The plan of these statuses' schedules.
    pub fn new(tz: &'a TimeZone, holidays: &'a BTreeSet<Date>, statuses: Vec<(Uuid, &'a Schedule)>) -> Self {
        let fallback = statuses.iter().find(|(_, s)| s.fallback).map(|(id, _)| *id);
        Self {
            tz,
            holidays,
            statuses,
            fallback,
        }
    }

    /// Whether the plan can ever name a status.
    pub fn is_empty(&self) -> bool {
        self.statuses.iter().all(|(_, s)| s.is_empty())
    }

    /// The local date of an instant.
    fn date(&self, t: Timestamp) -> Date {
        self.tz.to_datetime(t).date()
    }

    /// The instant local midnight of `day` stands for.
    fn midnight(&self, day: Date) -> Timestamp {
        instant(self.tz, day.to_datetime(jiff::civil::Time::midnight()))
    }

    /// The occurrences that start on `day`.
    fn occurrences(&self, day: Date, out: &mut Vec<Occurrence>) {
        let holiday = self.holidays.contains(&day);
        let weekday = day.weekday();
        for (status, schedule) in &self.statuses {
            if schedule.skip.contains(&day) {
                continue;
            }
            for rule in schedule.rules.iter().filter(|r| r.on(weekday) && r.runs(holiday)) {
                let at = |seconds: u32| {
                    let local = day.to_datetime(jiff::civil::Time::midnight()) + i64::from(seconds).seconds();
                    instant(self.tz, local)
                };
                let from = at(rule.start);
                let to = at(rule.start + rule.length());
                if from < to {
                    out.push(Occurrence {
                        from,
                        to,
                        status: *status,
                    });
                }
            }
        }
    }

    /// The status the schedule names at `t`: the one whose rule covers it, else the fallback.
    pub fn at(&self, t: Timestamp) -> Option<Named> {
        let day = self.date(t);
        let mut found = Vec::new();
        for d in [day.yesterday(), Ok(day)].into_iter().flatten() {
            self.occurrences(d, &mut found);
        }
        let covering = found.iter().find(|o| o.from <= t && t < o.to);
        match (covering, self.fallback) {
            (Some(o), _) => Some(Named {
                status: o.status,
                why: Why::Rule,
            }),
            (None, Some(status)) => Some(Named {
                status,
                why: Why::Fallback,
            }),
            (None, None) => None,
        }
    }

    /// Whether the schedule switches at `t`, and to what: it names a status from `t` on, and
    /// another one (or none) just before.
    fn boundary(&self, t: Timestamp) -> Option<Boundary> {
        let to = self.at(t)?;
        let before = self.at(t - 1.nanosecond());
        (before.map(|b| b.status) != Some(to.status)).then_some(Boundary { at: t, to })
    }

    /// The candidate instants (starts and ends of occurrences) in `[from, to)`, ascending.
    fn candidates(&self, from: Timestamp, to: Timestamp) -> Vec<Timestamp> {
        let mut found = Vec::new();
        let (first, last) = (self.date(from), self.date(to));
        let mut day = first.yesterday().unwrap_or(first);
        while day <= last {
            self.occurrences(day, &mut found);
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        let mut at: Vec<Timestamp> = found
            .iter()
            .flat_map(|o| [o.from, o.to])
            .filter(|t| from <= *t && *t < to)
            .collect();
        at.sort();
        at.dedup();
        at
    }

    /// The first boundary after `t`, within [`HORIZON_DAYS`].
    pub fn next_after(&self, t: Timestamp) -> Option<Boundary> {
        if self.is_empty() {
            return None;
        }
        let mut from = t + 1.nanosecond();
        let start = self.date(t);
        for week in 1..=(HORIZON_DAYS / 7 + 1) {
            let to = self.midnight(start.checked_add((7 * week).days()).ok()?);
            if let Some(b) = self.candidates(from, to).into_iter().find_map(|c| self.boundary(c)) {
                return Some(b);
            }
            from = to;
        }
        None
    }

    /// The last boundary in `(after, upto]`, looking back at most [`HORIZON_DAYS`].
    pub fn last_between(&self, after: Timestamp, upto: Timestamp) -> Option<Boundary> {
        if self.is_empty() || upto <= after {
            return None;
        }
        let mut to = upto + 1.nanosecond();
        let end = self.date(upto);
        for week in 1..=(HORIZON_DAYS / 7 + 1) {
            let from = self
                .midnight(end.checked_sub((7 * week).days()).ok()?)
                .max(after + 1.nanosecond());
            let found = self
                .candidates(from, to)
                .into_iter()
                .rev()
                .find_map(|c| self.boundary(c));
            if found.is_some() {
                return found;
            }
            if from <= after + 1.nanosecond() {
                return None;
            }
            to = from;
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::rules::{Holidays, tests::rule};
    use super::*;
    use jiff::civil::date;

    const WEEKDAYS: u8 = 0b001_1111;
    const EVERY_DAY: u8 = 0x7f;

    fn at(tz: &TimeZone, d: Date, h: i8, m: i8) -> Timestamp {
        instant(tz, d.at(h, m, 0, 0))
    }

    fn local(tz: &TimeZone, t: Timestamp) -> String {
        t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    struct Fixture {
        tz: TimeZone,
        holidays: BTreeSet<Date>,
        office: Schedule,
        home: Schedule,
        office_id: Uuid,
        home_id: Uuid,
    }

    fn fixture(zone: &str) -> Fixture {
        Fixture {
            tz: TimeZone::get(zone).unwrap(),
            holidays: BTreeSet::from([date(2026, 12, 24)]),
            office: Schedule {
                rules: vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)],
                ..Default::default()
            },
            home: Schedule {
                fallback: true,
                ..Default::default()
            },
            office_id: Uuid::from_u128(1),
            home_id: Uuid::from_u128(2),
        }
    }

    impl Fixture {
        fn plan(&self) -> Plan<'_> {
            Plan::new(
                &self.tz,
                &self.holidays,
                vec![(self.office_id, &self.office), (self.home_id, &self.home)],
            )
        }
    }

    #[test]
    fn office_hours_switch_to_the_fallback_and_back() {
        let f = fixture("Europe/Stockholm");
        let plan = f.plan();
        // Tuesday 2026-12-08.
        let tue = date(2026, 12, 8);
        assert_eq!(plan.at(at(&f.tz, tue, 9, 0)).unwrap().status, f.office_id);
        assert_eq!(plan.at(at(&f.tz, tue, 17, 0)).unwrap().status, f.home_id);
        let next = plan.next_after(at(&f.tz, tue, 9, 0)).unwrap();
        assert_eq!(local(&f.tz, next.at), "2026-12-08 17:00 CET");
        assert_eq!(next.to.why, Why::Fallback);
        let next = plan.next_after(next.at).unwrap();
        assert_eq!(local(&f.tz, next.at), "2026-12-09 08:00 CET");
        // Friday evening → Monday morning, over the weekend.
        let fri = date(2026, 12, 11);
        let next = plan.next_after(at(&f.tz, fri, 18, 0)).unwrap();
        assert_eq!(local(&f.tz, next.at), "2026-12-14 08:00 CET");
        // The holiday (Thursday 24th) is skipped.
        let next = plan.next_after(at(&f.tz, date(2026, 12, 23), 18, 0)).unwrap();
        assert_eq!(local(&f.tz, next.at), "2026-12-25 08:00 CET");
    }

    #[test]
    fn without_a_fallback_the_end_of_a_rule_is_no_boundary() {
        let mut f = fixture("UTC");
        f.home = Schedule::default();
        let plan = f.plan();
        let tue = date(2026, 12, 8);
        let next = plan.next_after(at(&f.tz, tue, 9, 0)).unwrap();
        assert_eq!(local(&f.tz, next.at), "2026-12-09 08:00 UTC");
        assert_eq!(plan.at(at(&f.tz, tue, 18, 0)), None);
        // The last boundary before the evening is the morning's.
        let last = plan.last_between(at(&f.tz, tue, 0, 0), at(&f.tz, tue, 20, 0)).unwrap();
        assert_eq!(local(&f.tz, last.at), "2026-12-08 08:00 UTC");
    }

    #[test]
    fn catch_up_takes_the_latest_boundary_passed_only() {
        let f = fixture("America/New_York");
        let plan = f.plan();
        // Down from Monday 10:00 to Wednesday 12:00: the boundary that counts is Wednesday 08:00.
        let last = plan
            .last_between(at(&f.tz, date(2026, 12, 7), 10, 0), at(&f.tz, date(2026, 12, 9), 12, 0))
            .unwrap();
        assert_eq!(local(&f.tz, last.at), "2026-12-09 08:00 EST");
        assert_eq!(last.to.status, f.office_id);
        // Nothing passed between two moments of one stretch.
        let tue = date(2026, 12, 8);
        assert_eq!(plan.last_between(at(&f.tz, tue, 9, 0), at(&f.tz, tue, 16, 59)), None);
        // A boundary exactly at `upto` counts; one exactly at `after` does not.
        let eight = at(&f.tz, tue, 8, 0);
        assert_eq!(plan.last_between(eight - 1.second(), eight).unwrap().at, eight);
        assert_eq!(plan.last_between(eight, eight + 1.hour()), None);
    }

    #[test]
    fn a_skipped_local_time_fires_when_the_clocks_change() {
        // Stockholm goes forward at 02:00 on 2026-03-29 (to 03:00); New York at 02:00 on
        // 2026-03-08.
        for (zone, day, expect) in [
            ("Europe/Stockholm", date(2026, 3, 29), "2026-03-29 03:00 CEST"),
            ("America/New_York", date(2026, 3, 8), "2026-03-08 03:00 EDT"),
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let holidays = BTreeSet::new();
            let night = Schedule {
                rules: vec![rule(EVERY_DAY, "02:30", "06:00", Holidays::Include)],
                ..Default::default()
            };
            let id = Uuid::from_u128(7);
            let plan = Plan::new(&tz, &holidays, vec![(id, &night)]);
            let evening_before = at(&tz, day.yesterday().unwrap(), 22, 0);
            let next = plan.next_after(evening_before).unwrap();
            assert_eq!(local(&tz, next.at), expect, "{zone}");
            // The day after runs at 02:30 again.
            let next = plan.next_after(next.at).unwrap();
            assert_eq!(
                local(&tz, next.at),
                format!("{} 02:30 {}", day.tomorrow().unwrap(), &expect[17..]),
                "{zone}"
            );
        }
    }

    #[test]
    fn a_repeated_local_time_fires_once_at_its_first_occurrence() {
        // Stockholm goes back at 03:00 on 2026-10-25 (02:00–03:00 happens twice); New York at
        // 02:00 on 2026-11-01 (01:00–02:00 twice).
        for (zone, day, h, expect) in [
            ("Europe/Stockholm", date(2026, 10, 25), 2, "2026-10-25 02:30 CEST"),
            ("America/New_York", date(2026, 11, 1), 1, "2026-11-01 01:30 EDT"),
        ] {
            let tz = TimeZone::get(zone).unwrap();
            let holidays = BTreeSet::new();
            let early = Schedule {
                rules: vec![rule(EVERY_DAY, &format!("{h:02}:30"), "07:00", Holidays::Include)],
                ..Default::default()
            };
            let late = Schedule {
                fallback: true,
                ..Default::default()
            };
            let (e, l) = (Uuid::from_u128(1), Uuid::from_u128(2));
            let plan = Plan::new(&tz, &holidays, vec![(e, &early), (l, &late)]);
            let next = plan.next_after(at(&tz, day, 0, 0)).unwrap();
            assert_eq!(local(&tz, next.at), expect, "{zone}");
            assert_eq!(next.to.status, e);
            // The second pass of that hour is no boundary: the next is 07:00, local, an hour
            // later on the real clock than a day without the change.
            let after = plan.next_after(next.at).unwrap();
            assert_eq!(after.to.status, l);
            assert_eq!(tz.to_datetime(after.at).time(), jiff::civil::time(7, 0, 0, 0), "{zone}");
            let lasted = after.at.as_second() - next.at.as_second();
            let wall = 7 * 3600 - (i64::from(h) * 3600 + 1800);
            assert_eq!(lasted, wall + 3600, "{zone}: an hour longer than the wall clock says");
        }
    }

    #[test]
    fn rules_passing_midnight_cover_the_next_morning() {
        let tz = TimeZone::get("UTC").unwrap();
        let holidays = BTreeSet::new();
        let night = Schedule {
            rules: vec![rule(1 << 4, "22:00", "06:00", Holidays::Include)],
            ..Default::default()
        };
        let id = Uuid::from_u128(3);
        let plan = Plan::new(&tz, &holidays, vec![(id, &night)]);
        // Friday 22:00 → Saturday 06:00.
        assert_eq!(plan.at(at(&tz, date(2026, 12, 12), 5, 59)).unwrap().status, id);
        assert_eq!(plan.at(at(&tz, date(2026, 12, 12), 6, 0)), None);
        assert_eq!(plan.at(at(&tz, date(2026, 12, 11), 21, 59)), None);
    }

    #[test]
    fn skipped_dates_and_holiday_only_rules() {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        let holidays = BTreeSet::from([date(2027, 6, 25)]);
        let office = Schedule {
            rules: vec![rule(WEEKDAYS, "08:00", "17:00", Holidays::Skip)],
            skip: vec![date(2026, 12, 9)],
            fallback: false,
        };
        let closed = Schedule {
            rules: vec![rule(EVERY_DAY, "00:00", "24:00", Holidays::Only)],
            ..Default::default()
        };
        let (o, c) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let plan = Plan::new(&tz, &holidays, vec![(o, &office), (c, &closed)]);
        let next = plan.next_after(at(&tz, date(2026, 12, 8), 18, 0)).unwrap();
        assert_eq!(local(&tz, next.at), "2026-12-10 08:00 CET");
        // Half a year on, the holiday: found although far ahead.
        let only_closed = Plan::new(&tz, &holidays, vec![(c, &closed)]);
        let next = only_closed.next_after(at(&tz, date(2026, 12, 8), 18, 0)).unwrap();
        assert_eq!(local(&tz, next.at), "2027-06-25 00:00 CEST");
    }
}
