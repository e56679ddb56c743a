//! The routing preview (issue 21 §4): what happens to a user's calls at a moment — the status
//! then (schedules and holidays applied, or the one active now when no boundary lies between
//! now and then), the ring plan with each step's timers, the diversions, and how the user calls
//! out. Pure computation over the stored state in three statements: the user with their record,
//! account, client profile and the account's holidays; their statuses; their numbers. It writes
//! nothing and records nothing.

use chrono::{DateTime, Utc};
use entity::{
    ActiveReason, TargetKind, account, account_holiday, client_profile, dynamic_status, remote_user, user, user_number,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityName, FromQueryResult, Iterable, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use super::{PlanParts, Why, instant};
use crate::{
    policy::{Access, Principal},
    service::{
        ServiceResult,
        directory::scope,
        pagination,
        remote::{CallThroughInactive, call_through_inactive},
    },
};

/// Why the previewed status is the one.
pub type Reason = ActiveReason;

/// One step of the ring plan: a target and when it starts ringing.
#[derive(Clone, Debug, PartialEq)]
pub struct RingStep {
    /// What rings.
    pub kind: TargetKind,
    /// The number, for a `NUMBER` step.
    pub number: Option<user_number::Model>,
    /// Seconds after the call arrives (a remote extension's delay before ringing).
    pub starts_after_seconds: i32,
}

/// What the preview found.
#[derive(Clone, Debug)]
pub struct Preview {
    /// The user.
    pub user: user::Model,
    /// The moment previewed (now, when the question named an earlier one).
    pub at: DateTime<Utc>,
    /// The status then; `None` for a user without statuses.
    pub status: Option<dynamic_status::Model>,
    /// Why.
    pub reason: Option<Reason>,
    /// The ring plan, in the order its steps start.
    pub ring: Vec<RingStep>,
    /// The user's numbers (the diversions and `callUsing` point into them).
    pub numbers: Vec<user_number::Model>,
    /// The user's statuses.
    pub statuses: Vec<dynamic_status::Model>,
    /// The user's Remote Extension record, if any.
    pub remote: Option<remote_user::Model>,
    /// The number a call out would go through with call through, if any: a `NUMBER` `callUsing`,
    /// else the status's remote extension.
    pub call_through_number: Option<user_number::Model>,
    /// Why call through is not in effect on it (`None`: in effect, or no such number).
    pub call_through_inactive: Option<CallThroughInactive>,
}

/// Who may not see the preview, and how to say so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, or not visible to the caller (T1).
    NotFound,
    /// Visible, but only the user and administrators covering them may preview it.
    Forbidden,
}

const USER: &str = "u_";
const REMOTE: &str = "r_";
const ACCOUNT: &str = "a_";
const PROFILE: &str = "p_";

fn columns<C: Iterable + sea_orm::IdenStatic>(table: &str, prefix: &str) -> String {
    C::iter()
        .map(|c| format!("{table}.{0} AS {prefix}{0}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first statement: the user with their record, account and client profile (the default's
/// id is the account's), and the account's holidays as one comma-separated text.
fn user_statement(backend: DbBackend, user_id: Uuid) -> Statement {
    let agg = match backend {
        DbBackend::Postgres => "string_agg(h.day, ',')",
        _ => "group_concat(h.day, ',')",
    };
    let sql = format!(
        "SELECT {}, {}, {}, {}, (SELECT {agg} FROM {} h WHERE h.account_id = u.account_id) AS holidays \
         FROM {} u JOIN {} a ON a.id = u.account_id \
         LEFT JOIN {} r ON r.user_id = u.id \
         LEFT JOIN {} p ON p.id = COALESCE(r.client_profile_id, u.account_id) \
         WHERE u.id = {}",
        columns::<user::Column>("u", USER),
        columns::<remote_user::Column>("r", REMOTE),
        columns::<account::Column>("a", ACCOUNT),
        columns::<client_profile::Column>("p", PROFILE),
        account_holiday::Entity.table_name(),
        user::Entity.table_name(),
        account::Entity.table_name(),
        remote_user::Entity.table_name(),
        client_profile::Entity.table_name(),
        if backend == DbBackend::Postgres { "$1" } else { "?" },
    );
    Statement::from_sql_and_values(backend, sql, [user_id.into()])
}

/// Previews user `user_id`'s routing at `at` (earlier moments are taken as now) for `p`.
pub async fn preview(
    db: &impl ConnectionTrait,
    p: &Principal,
    user_id: Uuid,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<Result<Preview, Refused>> {
    let backend = db.get_database_backend();
    let Some(row) = db.query_one_raw(user_statement(backend, user_id)).await? else {
        return Ok(Err(Refused::NotFound));
    };
    let user = user::Model::from_query_result(&row, USER)?;
    let is_self = p.user().is_some_and(|u| u.user_id == user.id);
    // As for the user's own writes (`open_user`): a user the caller sees but does not cover is
    // refused; one they cannot see is unknown.
    match p.admin_on_user(scope(&user)) {
        _ if is_self => {}
        Access::Allowed => {}
        Access::Forbidden(_) => return Ok(Err(Refused::Forbidden)),
        Access::NotFound if p.sees_user(scope(&user)) => return Ok(Err(Refused::Forbidden)),
        Access::NotFound => return Ok(Err(Refused::NotFound)),
    }
    let account = account::Model::from_query_result(&row, ACCOUNT)?;
    let remote = remote_user::Model::from_query_result(&row, REMOTE).ok();
    let profile = client_profile::Model::from_query_result(&row, PROFILE).ok();
    let holidays: Option<String> = row.try_get("", "holidays")?;
    let (statuses, numbers) = futures::try_join!(
        pagination::find::<dynamic_status::Entity>()
            .filter(dynamic_status::Column::UserId.eq(user.id))
            .order_by_asc(dynamic_status::Column::Id)
            .all(db),
        pagination::find::<user_number::Entity>()
            .filter(user_number::Column::UserId.eq(user.id))
            .order_by_asc(user_number::Column::Id)
            .all(db),
    )?;
    let at = at.max(now);
    let (status_id, reason) = match &remote {
        None => (None, None),
        Some(remote) => {
            let days = holidays.iter().flat_map(|h| h.split(','));
            let parts = PlanParts::of(&account, remote, &statuses, days);
            match parts.plan().last_between(instant(now), instant(at)) {
                Some(b) => (
                    Some(b.to.status),
                    Some(match b.to.why {
                        Why::Rule => ActiveReason::Schedule,
                        Why::Fallback => ActiveReason::Default,
                    }),
                ),
                None => (remote.active_status_id, Some(remote.active_reason)),
            }
        }
    };
    let status = status_id.and_then(|id| statuses.iter().find(|s| s.id == id).cloned());
    let reason = status.as_ref().and(reason);
    let number = |id: Option<Uuid>| id.and_then(|id| numbers.iter().find(|n| n.id == id).cloned());
    let ring = status.as_ref().map(|s| ring_plan(s, &numbers)).unwrap_or_default();
    let call_through_number = status.as_ref().and_then(|s| {
        if s.call_using_kind == TargetKind::Number {
            number(s.call_using_number_id)
        } else {
            number(s.remote_extension_id)
        }
    });
    let allows = profile.as_ref().is_some_and(|p| p.call_through_allowed);
    let call_through_inactive = call_through_number
        .as_ref()
        .and_then(|n| call_through_inactive(n, allows, status.as_ref().and_then(|s| s.remote_extension_id)));
    Ok(Ok(Preview {
        user,
        at,
        status,
        reason,
        ring,
        numbers,
        statuses,
        remote,
        call_through_number,
        call_through_inactive,
    }))
}

/// The ring plan of a status: what `sendCallsTo` rings, and when. `ALL_DEVICES` rings the desk
/// phone, the softphone and the status's remote extension together; a remote extension starts
/// after its delay before ringing. Steps are ordered by when they start.
pub fn ring_plan(status: &dynamic_status::Model, numbers: &[user_number::Model]) -> Vec<RingStep> {
    let number = |id: Option<Uuid>| id.and_then(|id| numbers.iter().find(|n| n.id == id).cloned());
    let device = |kind| RingStep {
        kind,
        number: None,
        starts_after_seconds: 0,
    };
    let on = |n: user_number::Model| RingStep {
        kind: TargetKind::Number,
        starts_after_seconds: if n.is_remote_extension { n.ring_delay_seconds } else { 0 },
        number: Some(n),
    };
    let mut steps = match status.send_calls_to_kind {
        TargetKind::AllDevices => {
            let mut all = vec![device(TargetKind::DeskPhone), device(TargetKind::Softphone)];
            all.extend(number(status.remote_extension_id).map(on));
            all
        }
        TargetKind::Number => number(status.send_calls_to_number_id).map(on).into_iter().collect(),
        kind => vec![device(kind)],
    };
    steps.sort_by_key(|s| s.starts_after_seconds);
    steps
}
