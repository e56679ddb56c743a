//! Scheduled statuses (issue 21 §2): the time zones and holidays schedules run in, setting a
//! status's schedule, and the scheduler that switches statuses at the boundaries.
//!
//! How one boundary applies once, however many processes run the scheduler: each user's
//! `remote_user` row holds `next_boundary_at` (when the scheduler must look at the user) and
//! `schedule_applied_at` (the last boundary applied). A scheduler locks the row, re-reads it,
//! applies the latest boundary in `(schedule_applied_at, now]` (if any: catch-up after downtime
//! applies that one only, never the flips in between) and moves both columns on, in one
//! transaction with the activation and its event. A second process waiting on the lock then
//! finds the row no longer due.
//!
//! A change to what a schedule depends on (the schedule itself, a time zone, the holidays)
//! takes effect from the next boundary: it marks the users it touches as due now, with
//! `schedule_applied_at` moved to now, so that the scheduler works out their next boundary
//! without switching anything at once. A manual activation holds until the next boundary.

pub mod plan;
pub mod preview;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use entity::{
    ActiveReason, StatusOrigin, account, account_holiday, dynamic_status, event::FieldChange, remote_user, user,
};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, Query},
};
use uuid::Uuid;

pub use plan::{Boundary, Named, Plan, Why};
pub use rules::{Holidays, Rule, Schedule};

use super::{Actor, RemoteSettings, active_changed, open_user};
use crate::{
    db,
    policy::Principal,
    service::{
        ErrorCode, GivenId, ServiceError, ServiceResult,
        directory::accounts::account_for_change,
        outbox::{self, Event, ev},
        validate,
    },
};

/// Most holidays in one account's calendar.
pub const MAX_HOLIDAYS: usize = 500;
/// Most users the scheduler takes up in one pass.
const BATCH: u64 = 200;

fn invalid(field: &[&str], message: impl Into<String>) -> ServiceError {
    ServiceError::reject(ErrorCode::ValidationFailed, field, message)
}

/// Reads an IANA time zone name (`Europe/Stockholm`), answering its canonical spelling.
pub fn zone_name(field: &[&str], name: &str) -> ServiceResult<String> {
    let name = name.trim();
    let tz = TimeZone::get(name).map_err(|_| {
        invalid(
            field,
            format!("`{name}` is not a time zone of the tz database (an IANA name such as Europe/Stockholm or UTC)"),
        )
    })?;
    Ok(tz.iana_name().unwrap_or(name).to_owned())
}

/// The zone a stored name stands for; a name the database no longer knows reads as UTC.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// `chrono` → `jiff`.
pub fn instant(t: DateTime<Utc>) -> Timestamp {
    Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32).unwrap_or(Timestamp::MIN)
}

/// `jiff` → `chrono`.
pub fn moment(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32).unwrap_or_default()
}

/// Reads `YYYY-MM-DD`.
pub fn date(field: &[&str], text: &str) -> ServiceResult<Date> {
    text.trim()
        .parse::<Date>()
        .ok()
        .filter(|_| text.trim().len() == 10)
        .ok_or_else(|| invalid(field, format!("`{}` is not a date (YYYY-MM-DD)", text.trim())))
}

/// A weekly rule as given.
#[derive(Clone, Debug)]
pub struct RuleInput {
    /// Days of the week, Monday = 0 … Sunday = 6.
    pub days: Vec<u8>,
    /// `HH:MM[:SS]`.
    pub start: String,
    /// `HH:MM[:SS]`, `24:00` allowed; at or before `start` it is on the next day.
    pub end: String,
    /// How the rule treats holidays (`SKIP` by default).
    pub holidays: Holidays,
}

/// A schedule as given.
#[derive(Clone, Debug, Default)]
pub struct ScheduleInput {
    /// Weekly rules.
    pub rules: Vec<RuleInput>,
    /// Dates (`YYYY-MM-DD`) on which the rules do not run.
    pub exceptions: Vec<String>,
    /// Whether the status is the user's fallback.
    pub fallback: bool,
}

impl ScheduleInput {
    /// The schedule it describes, checked on its own.
    pub fn read(&self) -> ServiceResult<Schedule> {
        let mut rules = Vec::with_capacity(self.rules.len());
        for (i, r) in self.rules.iter().enumerate() {
            let at = i.to_string();
            let clock = |name: &'static str, text: &str| {
                rules::parse_clock(text).ok_or_else(|| {
                    invalid(
                        &["schedule", "rules", &at, name],
                        format!(
                            "`{}` is not a time of day (HH:MM or HH:MM:SS, 00:00–24:00)",
                            text.trim()
                        ),
                    )
                })
            };
            let (start, end) = (clock("start", &r.start)?, clock("end", &r.end)?);
            if start == rules::DAY {
                return Err(invalid(
                    &["schedule", "rules", &at, "start"],
                    "a rule cannot start at 24:00",
                ));
            }
            let days = r.days.iter().fold(0u8, |acc, d| acc | (1 << d.min(&6)));
            let rule = Rule {
                days,
                start,
                end: if end == 0 { rules::DAY } else { end },
                holidays: r.holidays,
            };
            rule.check().map_err(|why| invalid(&["schedule", "rules", &at], why))?;
            rules.push(rule);
        }
        let mut skip = Vec::with_capacity(self.exceptions.len());
        for text in &self.exceptions {
            let d = date(&["schedule", "exceptions"], text)?;
            if !skip.contains(&d) {
                skip.push(d);
            }
        }
        skip.sort();
        let schedule = Schedule {
            rules,
            skip,
            fallback: self.fallback,
        };
        schedule
            .check()
            .map_err(|(field, why)| invalid(&["schedule", field], why))?;
        Ok(schedule)
    }
}

/// One holiday as given.
#[derive(Clone, Debug)]
pub struct HolidayInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Its name.
    pub name: String,
}

/// Sets a status's schedule (`None` clears it). Users set their own statuses' schedules where
/// their client profile lets them add statuses, never an `ADMIN` status's (`STATUS_READONLY`);
/// administrators covering the user set any. A schedule whose rules can meet another status's
/// is refused (`VALIDATION_FAILED`, naming both), and so is a second fallback. The change takes
/// effect from the next boundary.
pub async fn set_schedule(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    id: Option<Uuid>,
    input: Option<ScheduleInput>,
    now: DateTime<Utc>,
) -> ServiceResult<dynamic_status::Model> {
    let txn = db::begin_write(db).await?;
    let (o, current) = super::statuses::open_status(&txn, p, cfg, id).await?;
    super::statuses::writable(p, &o, &current)?;
    if current.origin == StatusOrigin::User
        && p.user().is_some_and(|u| u.user_id == o.user.id)
        && !super::statuses::profile(&txn, &o).await?.allow_users_add_status
    {
        return Err(ServiceError::reject(
            ErrorCode::Forbidden,
            &["id"],
            format!(
                "the user's client profile does not let users add their own statuses, nor schedule them; only {} \
                 may",
                crate::policy::Only::CoveringAdministrators
            ),
        ));
    }
    let schedule = input.as_ref().map(ScheduleInput::read).transpose()?.unwrap_or_default();
    let others = dynamic_status::Entity::find()
        .filter(dynamic_status::Column::UserId.eq(o.user.id))
        .filter(dynamic_status::Column::Id.ne(current.id))
        .order_by_asc(dynamic_status::Column::Id)
        .all(&txn)
        .await?;
    for other in &others {
        let Some(theirs) = Schedule::parse(other.schedule.as_deref()) else {
            continue;
        };
        if let Some((mine, their)) = schedule.overlap(&theirs) {
            return Err(invalid(
                &["schedule", "rules"],
                format!(
                    "\"{}\" ({}) would overlap \"{}\" ({}); a user's schedules must not overlap",
                    current.name,
                    mine.describe(),
                    other.name,
                    their.describe()
                ),
            ));
        }
        if schedule.fallback && theirs.fallback {
            return Err(invalid(
                &["schedule", "fallback"],
                format!(
                    "\"{}\" is already the fallback; a user has one fallback status (clear it there first to make \
                     \"{}\" the fallback)",
                    other.name, current.name
                ),
            ));
        }
    }
    let stored = schedule.stored();
    if stored == current.schedule {
        return Ok(current);
    }
    let old = Schedule::parse(current.schedule.as_deref());
    let version = current.version + 1;
    let mut am: dynamic_status::ActiveModel = current.clone().into();
    am.schedule = Set(stored);
    am.version = Set(version);
    am.updated_at = Set(Utc::now());
    let model = am.update(&txn).await?;
    let changes = BTreeMap::from([(
        "schedule".to_owned(),
        FieldChange::new(
            old.as_ref().map(described),
            (!schedule.is_empty()).then(|| described(&schedule)),
        ),
    )]);
    outbox::record(
        &txn,
        p,
        Event::DynamicStatusUpdated(ev::StatusChanged {
            user_id: model.user_id,
            version,
            changes,
        })
        .about(model.account_id, model.id),
    )
    .await?;
    replan(&txn, Some(o.user.id), o.account.id, now).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// A schedule as events and the API show it.
pub fn described(s: &Schedule) -> serde_json::Value {
    serde_json::json!({
        "rules": s.rules.iter().map(|r| serde_json::json!({
            "days": (0..7).filter(|d| r.days & (1 << d) != 0).map(|d| DAY_NAMES[d]).collect::<Vec<_>>(),
            "start": rules::clock(r.start),
            "end": rules::clock(r.end),
            "holidays": r.holidays,
        })).collect::<Vec<_>>(),
        "exceptions": s.skip.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "fallback": s.fallback,
    })
}

/// The days of the week as the API names them, Monday first.
pub const DAY_NAMES: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// Sets a user's own time zone (`None`: the account's): the user themself or an administrator
/// covering them.
pub async fn set_user_time_zone(
    db: &impl db::Db,
    p: &Principal,
    cfg: &RemoteSettings,
    user_id: Option<GivenId>,
    time_zone: Option<&str>,
    now: DateTime<Utc>,
) -> ServiceResult<user::Model> {
    let name = time_zone
        .filter(|n| !n.trim().is_empty())
        .map(|n| zone_name(&["timeZone"], n))
        .transpose()?;
    let user_id = super::owner::named_or_caller(p, user_id)?;
    let txn = db::begin_write(db).await?;
    let o = open_user(
        &txn,
        p,
        cfg,
        user_id,
        &["userId"],
        Actor::SelfOrAdmin,
        ("user", "set this user's time zone"),
    )
    .await?;
    if o.remote.time_zone == name {
        return Ok(o.user);
    }
    remote_user::ActiveModel {
        user_id: sea_orm::Unchanged(o.user.id),
        time_zone: Set(name.clone()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let changes = BTreeMap::from([("timeZone".to_owned(), FieldChange::new(&o.remote.time_zone, &name))]);
    outbox::record(
        &txn,
        p,
        Event::UserUpdated(ev::Changed { changes }).about(o.user.account_id, o.user.id),
    )
    .await?;
    replan(&txn, Some(o.user.id), o.account.id, now).await?;
    crate::service::commit(txn).await?;
    Ok(o.user)
}

/// Sets an account's time zone: Support only.
pub async fn set_account_time_zone(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    time_zone: &str,
    now: DateTime<Utc>,
) -> ServiceResult<account::Model> {
    let name = zone_name(&["timeZone"], time_zone)?;
    let txn = db::begin_write(db).await?;
    let current = account_for_change(
        &txn,
        p,
        account_id,
        &["accountId"],
        "account",
        "set an account's time zone",
        |id| p.support_only(id),
    )
    .await?;
    if current.time_zone == name {
        return Ok(current);
    }
    let model = account::ActiveModel {
        id: sea_orm::Unchanged(current.id),
        time_zone: Set(name.clone()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let changes = BTreeMap::from([("timeZone".to_owned(), FieldChange::new(&current.time_zone, &name))]);
    outbox::record(
        &txn,
        p,
        Event::AccountUpdated(ev::Changed { changes }).about(model.id, model.id),
    )
    .await?;
    replan(&txn, None, model.id, now).await?;
    crate::service::commit(txn).await?;
    Ok(model)
}

/// An account's holidays, by date.
pub async fn holidays(db: &impl ConnectionTrait, account_id: Uuid) -> ServiceResult<Vec<account_holiday::Model>> {
    Ok(account_holiday::Entity::find()
        .filter(account_holiday::Column::AccountId.eq(account_id))
        .order_by_asc(account_holiday::Column::Day)
        .all(db)
        .await?)
}

/// Replaces an account's holiday calendar: Support or a Decision Maker of the account. The
/// same calendar again changes nothing.
pub async fn set_holidays(
    db: &impl db::Db,
    p: &Principal,
    account_id: Option<Uuid>,
    given: &[HolidayInput],
    now: DateTime<Utc>,
) -> ServiceResult<account::Model> {
    if given.len() > MAX_HOLIDAYS {
        return Err(invalid(&["holidays"], format!("at most {MAX_HOLIDAYS} holidays")));
    }
    let mut wanted = BTreeMap::new();
    for (i, h) in given.iter().enumerate() {
        let at = i.to_string();
        let day = date(&["holidays", &at, "date"], &h.date)?;
        let name = validate::name(&["holidays", &at, "name"], &h.name, 64)?;
        if wanted.insert(day.to_string(), name).is_some() {
            return Err(invalid(&["holidays", &at, "date"], format!("{day} is given twice")));
        }
    }
    let txn = db::begin_write(db).await?;
    let account = account_for_change(
        &txn,
        p,
        account_id,
        &["accountId"],
        "account",
        "set an account's holidays",
        |id| p.directory_admin(id),
    )
    .await?;
    // Writers of one account's calendar queue on the account's row.
    let account = account::Entity::find_by_id(account.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .unwrap_or(account);
    let current = holidays(&txn, account.id).await?;
    let before: BTreeMap<String, String> = current.iter().map(|h| (h.day.clone(), h.name.clone())).collect();
    if before == wanted {
        return Ok(account);
    }
    account_holiday::Entity::delete_many()
        .filter(account_holiday::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?;
    let rows: Vec<account_holiday::Model> = wanted
        .iter()
        .map(|(day, name)| account_holiday::Model {
            account_id: account.id,
            day: day.clone(),
            name: name.clone(),
        })
        .collect();
    if !rows.is_empty() {
        account_holiday::Entity::insert_many(rows.iter().cloned().map(account_holiday::ActiveModel::from))
            .exec_without_returning(&txn)
            .await?;
    }
    let listed = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(date, name)| serde_json::json!({ "date": date, "name": name }))
            .collect::<Vec<_>>()
    };
    let changes = BTreeMap::from([(
        "holidays".to_owned(),
        FieldChange::new(listed(&before), listed(&wanted)),
    )]);
    outbox::record(
        &txn,
        p,
        Event::AccountUpdated(ev::Changed { changes }).about(account.id, account.id),
    )
    .await?;
    replan(&txn, None, account.id, now).await?;
    crate::service::commit(txn).await?;
    Ok(account)
}

/// Marks the users whose schedules a change touches (one user, or every scheduled user of the
/// account) as due now, for the scheduler to work out their next boundary. A user whose
/// boundary had not come yet gets `schedule_applied_at` = now, so nothing switches at once; one
/// already due keeps it, so the boundary that passed is still applied.
async fn replan(
    txn: &impl ConnectionTrait,
    user: Option<Uuid>,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    use remote_user::Column;
    use sea_orm::ExprTrait as _;
    let not_due = Column::NextBoundaryAt.is_null().or(Column::NextBoundaryAt.gt(now));
    let mut update = remote_user::Entity::update_many()
        .col_expr(
            Column::ScheduleAppliedAt,
            Expr::case(not_due, Expr::value(now))
                .finally(Expr::col(Column::ScheduleAppliedAt))
                .into(),
        )
        .col_expr(Column::NextBoundaryAt, Expr::value(now))
        .filter(Column::AccountId.eq(account_id));
    update = match user {
        Some(id) => update.filter(Column::UserId.eq(id)),
        None => update.filter(
            Column::UserId.in_subquery(
                Query::select()
                    .column(dynamic_status::Column::UserId)
                    .from(dynamic_status::Entity)
                    .and_where(dynamic_status::Column::AccountId.eq(account_id))
                    .and_where(dynamic_status::Column::Schedule.is_not_null())
                    .to_owned(),
            ),
        ),
    };
    update.exec(txn).await?;
    Ok(())
}

/// What a user's plan is made of, read once.
pub struct PlanParts {
    /// The user's time zone, or the account's.
    pub tz: TimeZone,
    /// The account's holidays.
    pub holidays: BTreeSet<Date>,
    /// The user's scheduled statuses.
    pub schedules: Vec<(Uuid, Schedule)>,
}

impl PlanParts {
    /// What a user's plan is made of: their zone (else the account's), the account's holidays
    /// (`YYYY-MM-DD`) and their statuses' schedules.
    pub fn of<'a>(
        account: &account::Model,
        remote: &remote_user::Model,
        statuses: &[dynamic_status::Model],
        holidays: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        PlanParts {
            tz: zone(remote.time_zone.as_deref().unwrap_or(&account.time_zone)),
            holidays: holidays
                .into_iter()
                .filter_map(|day| day.parse::<Date>().ok())
                .collect(),
            schedules: statuses
                .iter()
                .filter_map(|s| Schedule::parse(s.schedule.as_deref()).map(|p| (s.id, p)))
                .collect(),
        }
    }

    /// The plan.
    pub fn plan(&self) -> Plan<'_> {
        Plan::new(
            &self.tz,
            &self.holidays,
            self.schedules.iter().map(|(id, s)| (*id, s)).collect(),
        )
    }
}

/// The holidays of each of `accounts`, by date.
pub async fn holidays_of_accounts(
    db: &impl ConnectionTrait,
    accounts: &[Uuid],
) -> Result<HashMap<Uuid, Vec<account_holiday::Model>>, sea_orm::DbErr> {
    let mut found: HashMap<Uuid, Vec<account_holiday::Model>> = HashMap::new();
    for chunk in accounts.chunks(500) {
        let rows = account_holiday::Entity::find()
            .filter(account_holiday::Column::AccountId.is_in(chunk.to_vec()))
            .order_by_asc(account_holiday::Column::Day)
            .all(db)
            .await?;
        for row in rows {
            found.entry(row.account_id).or_default().push(row);
        }
    }
    Ok(found)
}

/// Runs the scheduler once at `now`: every user whose boundary is due is brought up to date.
/// Answers how many users it looked at.
pub async fn run_due(db: &impl db::Db, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut done = 0;
    loop {
        let due: Vec<Uuid> = remote_user::Entity::find()
            .select_only()
            .column(remote_user::Column::UserId)
            .filter(remote_user::Column::NextBoundaryAt.lte(now))
            .order_by_asc(remote_user::Column::NextBoundaryAt)
            .limit(BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if due.is_empty() {
            return Ok(done);
        }
        for user_id in &due {
            apply(db, *user_id, now).await?;
        }
        done += due.len();
    }
}

/// Brings one user up to date at `now` (see the module's text).
async fn apply(db: &impl db::Db, user_id: Uuid, now: DateTime<Utc>) -> ServiceResult<()> {
    let txn = db::begin_write(db).await?;
    let Some(remote) = remote_user::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(&txn)
        .await?
    else {
        return Ok(());
    };
    // Another process took it since the read.
    if remote.next_boundary_at.is_none_or(|at| at > now) {
        return Ok(());
    }
    let (Some(user), Some(account)) = (
        user::Entity::find_by_id(user_id).one(&txn).await?,
        account::Entity::find_by_id(remote.account_id).one(&txn).await?,
    ) else {
        // Nothing to schedule for; never due again (else `run_due` would take it up forever).
        remote_user::ActiveModel {
            user_id: sea_orm::Unchanged(user_id),
            next_boundary_at: Set(None),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        crate::service::commit(txn).await?;
        return Ok(());
    };
    let statuses = dynamic_status::Entity::find()
        .filter(dynamic_status::Column::UserId.eq(user_id))
        .all(&txn)
        .await?;
    let holidays = holidays(&txn, account.id).await?;
    let parts = PlanParts::of(&account, &remote, &statuses, holidays.iter().map(|h| h.day.as_str()));
    let plan = parts.plan();
    let (t, after) = (instant(now), remote.schedule_applied_at.map_or(instant(now), instant));
    let mut row = remote_user::ActiveModel {
        user_id: sea_orm::Unchanged(user_id),
        ..Default::default()
    };
    if let Some(b) = plan.last_between(after, t) {
        let reason = match b.to.why {
            Why::Rule => ActiveReason::Schedule,
            Why::Fallback => ActiveReason::Default,
        };
        if remote.active_status_id != Some(b.to.status) {
            row.active_status_id = Set(Some(b.to.status));
            row.active_reason = Set(reason);
            let system = Principal::Support {
                name: "schedule".into(),
            };
            let status = statuses.iter().find(|s| s.id == b.to.status);
            let event = active_changed(&user, status, remote.active_status_id, reason);
            outbox::record(&txn, &system, event).await?;
        } else if remote.active_reason != reason {
            row.active_reason = Set(reason);
        }
    }
    let next = match plan.next_after(t) {
        Some(b) => Some(moment(b.at)),
        // Nothing within the horizon: look again later (a holiday may be added meanwhile).
        None if !plan.is_empty() => Some(now + chrono::Duration::days(i64::from(plan::HORIZON_DAYS) - 7)),
        None => None,
    };
    // Nothing in `(applied, now]` is left to apply.
    row.schedule_applied_at = Set(Some(now));
    row.next_boundary_at = Set(next);
    row.updated_at = Set(Utc::now());
    row.update(&txn).await?;
    crate::service::commit(txn).await?;
    Ok(())
}

/// The next change the schedule makes to a user's status after `now`, with the status.
pub fn next_change(parts: &PlanParts, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Uuid)> {
    parts
        .plan()
        .next_after(instant(now))
        .map(|b| (moment(b.at), b.to.status))
}
