//! The audit log (issue 20): an account's events from the outbox, newest first, as the people
//! who administer it may read them — who did what to which object, and what changed — and the
//! retention that prunes what is older than the settings keep, never an event a plugin has still
//! to consume.
//!
//! One statement reads a page (the caller's view, the filters and the cursor in its `WHERE`,
//! walking an index by account and time); the total, when asked for, is a second.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::{
    Role,
    event::{Event, Logged, Undecodable},
    outbox_event, plugin_cursor,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryOrder, QuerySelect};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::policy::{Principal, SYSTEM_NAMES};
use crate::service::{
    pagination::{self, Cursor, PageRequest},
    sql::Sql,
};

/// Which of an account's entries a principal reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// All of them: Support, the account's Decision Makers and account-wide Phone Managers.
    All,
    /// Those about users of these locations (a location Phone Manager).
    Locations(Vec<Uuid>),
}

/// What a principal may read of `account_id`'s log; `None` for anyone else (a user without an
/// administrator's role, or another account's user).
pub fn scope(p: &Principal, account_id: Uuid) -> Option<Scope> {
    match p {
        Principal::Support { .. } => Some(Scope::All),
        Principal::User(u) if u.account_id != account_id => None,
        Principal::User(u) if u.is_decision_maker() || u.is_account_phone_manager() => Some(Scope::All),
        Principal::User(u) => {
            let locations: Vec<Uuid> = (u.roles.iter())
                .filter(|g| g.role == Role::PhoneManager)
                .filter_map(|g| g.location_id)
                .collect();
            (!locations.is_empty()).then_some(Scope::Locations(locations))
        }
    }
}

/// The filters of a listing; every one given must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Made by this actor (`user:<id>`, `support:<name>`).
    pub actor: Option<String>,
    /// Of one of these event types (`user.created`, …); empty: any.
    pub kinds: Vec<String>,
    /// About this object, or (for a user) about anything of the user's.
    pub subject: Option<Subject>,
    /// Recorded at or after.
    pub since: Option<DateTime<Utc>>,
    /// Recorded before.
    pub until: Option<DateTime<Utc>>,
}

/// The object a listing is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A user: the events about the user and about anything of theirs (`user_id`).
    User(Uuid),
    /// Another object: its key and the aggregate types its events are recorded under (the
    /// add-on's events are under its account's key, as a user's Connect for Mobile record's are
    /// under the user's).
    Object {
        /// Its key.
        key: Uuid,
        /// Its aggregate types; none matches nothing.
        types: Vec<&'static str>,
    },
}

/// Appends the conditions every read of the account's view shares: the account, the caller's
/// scope and the filters.
fn conditions(sql: &mut Sql, account_id: Uuid, scope: &Scope, filter: &Filter) {
    let account = sql.bind(account_id);
    sql.push(&format!(" WHERE e.account_id = {account}"));
    if let Scope::Locations(locations) = scope {
        // The location of the user each event is about, kept on the event by the database
        // (`m20261210_000001_audit_views`): where the user is now decides.
        let places: Vec<String> = locations.iter().map(|l| sql.bind(*l)).collect();
        sql.push(&format!(" AND e.location_id IN ({})", places.join(", ")));
    }
    if let Some(actor) = &filter.actor {
        let actor = sql.bind(actor.clone());
        sql.push(&format!(" AND e.actor = {actor}"));
    }
    if !filter.kinds.is_empty() {
        let kinds: Vec<String> = filter.kinds.iter().map(|k| sql.bind(k.clone())).collect();
        sql.push(&format!(" AND e.event_type IN ({})", kinds.join(", ")));
    }
    match &filter.subject {
        // Every event about a user (its aggregate the user) has the user as its `user_id` too.
        Some(Subject::User(user)) => {
            let user = sql.bind(*user);
            sql.push(&format!(" AND e.user_id = {user}"));
        }
        Some(Subject::Object { types, .. }) if types.is_empty() => sql.push(" AND 1 = 0"),
        Some(Subject::Object { key, types }) => {
            let key = sql.bind(*key);
            let types: Vec<String> = types.iter().map(|t| sql.bind(*t)).collect();
            sql.push(&format!(
                " AND e.aggregate_id = {key} AND e.aggregate_type IN ({})",
                types.join(", ")
            ));
        }
        None => {}
    }
    if let Some(since) = filter.since {
        let since = sql.bind(since);
        sql.push(&format!(" AND e.occurred_at >= {since}"));
    }
    if let Some(until) = filter.until {
        let until = sql.bind(until);
        sql.push(&format!(" AND e.occurred_at < {until}"));
    }
}

/// A place in the list: an entry's time and position (the list's order), read from the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// When the entry was recorded, as stored.
    pub occurred_at: DateTime<Utc>,
    /// Its position in the log.
    pub position: i64,
}

impl Mark {
    /// The place of `row`.
    pub fn of(row: &outbox_event::Model) -> Self {
        Self {
            occurred_at: row.occurred_at,
            position: row.position,
        }
    }
}

/// One read of the log in list order (newest first) or its reverse.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Rows to read.
    pub limit: u64,
    /// Only entries older than this place (list order: after it).
    pub older_than: Option<Mark>,
    /// Only entries newer than this place (list order: before it).
    pub newer_than: Option<Mark>,
    /// Newest first (the list's order), else oldest first.
    pub newest_first: bool,
}

/// The rows of `window`: the account's entries the scope and filter let through. A view of
/// several locations reads each location's newest by its own index and keeps the newest of
/// those, rather than sort every entry of them all.
pub async fn rows(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    scope: &Scope,
    filter: &Filter,
    window: Window,
) -> Result<Vec<outbox_event::Model>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    match scope {
        Scope::Locations(locations) if locations.len() > 1 => {
            sql.push("SELECT e.* FROM (");
            for (i, location) in locations.iter().enumerate() {
                if i > 0 {
                    sql.push(" UNION ALL ");
                }
                sql.push("SELECT * FROM (");
                select(&mut sql, account_id, &Scope::Locations(vec![*location]), filter, window);
                sql.push(&format!(") l{i}"));
            }
            sql.push(") e");
            order(&mut sql, window);
        }
        _ => select(&mut sql, account_id, scope, filter, window),
    }
    outbox_event::Model::find_by_statement(sql.statement()).all(db).await
}

/// Appends the select of `window`'s rows.
fn select(sql: &mut Sql, account_id: Uuid, scope: &Scope, filter: &Filter, window: Window) {
    sql.push("SELECT e.* FROM outbox_event e");
    conditions(sql, account_id, scope, filter);
    // The list runs by (time, position): the entries beyond a place are those on the far side
    // of its pair. The time is bound as read from the row, so it is stored text again on SQLite.
    for (mark, op) in [(window.older_than, "<"), (window.newer_than, ">")] {
        if let Some(mark) = mark {
            let (at, position) = (sql.bind(mark.occurred_at), sql.bind(mark.position));
            sql.push(&format!(" AND (e.occurred_at, e.position) {op} ({at}, {position})"));
        }
    }
    order(sql, window);
}

/// Appends the list's order (or its reverse) and `window`'s limit.
fn order(sql: &mut Sql, window: Window) {
    let order = if window.newest_first { "DESC" } else { "ASC" };
    sql.push(&format!(
        " ORDER BY e.occurred_at {order}, e.position {order} LIMIT {}",
        window.limit
    ));
}

/// How many entries the view and filters let through.
pub async fn count(db: &impl ConnectionTrait, account_id: Uuid, scope: &Scope, filter: &Filter) -> Result<u64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n FROM outbox_event e");
    conditions(&mut sql, account_id, scope, filter);
    let row = db.query_one_raw(sql.statement()).await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

/// The place of the entry a cursor names, if it is one the caller reads in this account's log
/// (another account's entry, one outside a location Phone Manager's view, or one since pruned
/// is none: a client learns nothing from a cursor it could not have been given).
pub async fn mark(db: &impl ConnectionTrait, account_id: Uuid, scope: &Scope, id: Uuid) -> Result<Option<Mark>, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT e.* FROM outbox_event e");
    conditions(&mut sql, account_id, scope, &Filter::default());
    let id = sql.bind(id);
    sql.push(&format!(" AND e.id = {id}"));
    let found = outbox_event::Model::find_by_statement(sql.statement()).one(db).await?;
    Ok(found.as_ref().map(Mark::of))
}

/// A page of the audit log: its entries with their cursors, and where it sits.
#[derive(Debug)]
pub struct AuditPage {
    /// The entries, in list order.
    pub entries: Vec<(Cursor, Logged)>,
    /// The cursors of the first and last rows read, shown or not: a page of rows this version
    /// cannot show still lets a client page past it.
    pub start: Option<Cursor>,
    /// See `start`.
    pub end: Option<Cursor>,
    /// More entries follow.
    pub has_next_page: bool,
    /// Entries precede.
    pub has_previous_page: bool,
}

/// A connection's cursors, each naming a place this caller reads in the account's log.
pub struct Places {
    /// After this place.
    pub after: Option<Mark>,
    /// Before this place.
    pub before: Option<Mark>,
}

/// A page of the account's entries (a connection's `first`/`after`, `last`/`before`, the
/// cursors' places read with [`mark`]), each decoded. A row this version cannot show (a newer
/// version's event type, or a damaged row: logged) is left out of the entries, not of the page's
/// cursors.
pub async fn page(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    scope: &Scope,
    filter: &Filter,
    req: &PageRequest,
    places: Places,
) -> Result<AuditPage, DbErr> {
    let (limit, backward) = pagination::window(req);
    let window = Window {
        limit: limit + 1,
        older_than: places.after,
        newer_than: places.before,
        newest_first: !backward,
    };
    let found = rows(db, account_id, scope, filter, window).await?;
    let page = pagination::assemble(found, req, |row| Cursor {
        key: String::new(),
        id: row.id,
    });
    let start = page.rows.first().map(|(c, _)| c.clone());
    let end = page.rows.last().map(|(c, _)| c.clone());
    let entries = (page.rows.into_iter())
        .filter_map(|(cursor, row)| decoded(row).map(|logged| (cursor, logged)))
        .collect();
    Ok(AuditPage {
        entries,
        start,
        end,
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

/// A row as an entry, or none (with a log line for a damaged one) when this version cannot
/// show it.
pub fn decoded(row: outbox_event::Model) -> Option<Logged> {
    let id = row.id;
    match Logged::try_from(row) {
        Ok(logged) => Some(logged),
        Err(e @ Undecodable::Unknown(_)) => {
            tracing::debug!(event = %id, error = %e, "an audit entry of a newer version is not shown");
            None
        }
        Err(e) => {
            tracing::error!(event = %id, error = %e, "an audit entry that does not decode is not shown");
            None
        }
    }
}

/// Who made a change, as the log tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorKind {
    /// A user of the account.
    User,
    /// Support staff.
    Support,
    /// Reach itself: the platform sync, a schedule, a plugin ([`SYSTEM_NAMES`]).
    System,
}

/// An actor string (`user:<id>`, `support:<name>`) read: its kind, and the Support or system
/// name or the user's id.
pub fn actor(actor: &str) -> (ActorKind, Result<Uuid, &str>) {
    if let Some(name) = actor.strip_prefix("support:") {
        let kind = if SYSTEM_NAMES.contains(&name) {
            ActorKind::System
        } else {
            ActorKind::Support
        };
        return (kind, Err(name));
    }
    match actor.strip_prefix("user:").map(Uuid::parse_str) {
        Some(Ok(id)) => (ActorKind::User, Ok(id)),
        _ => (ActorKind::System, Err(actor)),
    }
}

/// One changed field: its API name, the value before and the value after, as people read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's API name.
    pub field: String,
    /// Before (none for a creation).
    pub old: Option<String>,
    /// After (none for a removal).
    pub new: Option<String>,
}

/// What the payload keys are called that hold a secret; such a key's value is never shown.
const SECRET_WORDS: [&str; 4] = ["token", "secret", "password", "credential"];

fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// `payload` with every value that a key names as a secret (a token, a secret, a password, a
/// credential, at any depth) replaced by [`REDACTED`], and so the values of a change listed as
/// `{"field": …, "old": …, "new": …}` whose field names one. No event carries one today (a
/// platform connection's event leaves its token out); this keeps it so for events added later.
pub fn redacted(payload: &Json) -> Json {
    match payload {
        Json::Object(map) => {
            let listed_secret = map.get("field").and_then(Json::as_str).is_some_and(is_secret);
            Json::Object(
                map.iter()
                    .map(|(k, v)| {
                        let hidden = is_secret(k) || (listed_secret && matches!(k.as_str(), "old" | "new" | "value"));
                        let v = if hidden && !v.is_null() {
                            Json::String(REDACTED.to_owned())
                        } else if hidden {
                            Json::Null
                        } else {
                            redacted(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// A JSON value as people read it: text as it is, anything else as JSON; null as nothing.
fn shown(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The fields of a payload that describe the object (not the keys that say whose it is or its
/// version), by name.
fn described(payload: &Json) -> BTreeMap<String, Json> {
    let Json::Object(map) = redacted(payload) else {
        return BTreeMap::new();
    };
    map.into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "userId" | "version"))
        .collect()
}

/// The fields an event changed: old → new for an update, each field's value for what it
/// created (no old value), each for what it removed (no new value), none for the rest (a
/// request, a retry, an update recorded as the object's new state without the old one: `data`
/// tells them).
pub fn changes(event: &Event) -> Vec<FieldChange> {
    let listed = |changes: &entity::event::Changes| {
        (changes.iter())
            .map(|(field, c)| {
                let secret = is_secret(field);
                let show = |v: &Json| if secret { Some(REDACTED.to_owned()) } else { shown(v) };
                FieldChange {
                    field: field.clone(),
                    old: show(&c.old),
                    new: show(&c.new),
                }
            })
            .collect()
    };
    let created = || {
        (described(&event.payload()).into_iter())
            .map(|(field, v)| FieldChange {
                field,
                old: None,
                new: shown(&v),
            })
            .collect()
    };
    let removed = || {
        (described(&event.payload()).into_iter())
            .map(|(field, v)| FieldChange {
                field,
                old: shown(&v),
                new: None,
            })
            .collect()
    };
    match event {
        Event::UserUpdated(p) | Event::WebhookEndpointUpdated(p) | Event::AccountUpdated(p) => listed(&p.changes),
        Event::UserNumberUpdated(p) => listed(&p.changes),
        Event::DynamicStatusUpdated(p) => listed(&p.changes),
        Event::MobilitySettingsUpdated(p) => (p.changes.iter())
            .map(|c| {
                let show = |v: &Option<String>| match is_secret(&c.field) {
                    true => v.as_ref().map(|_| REDACTED.to_owned()),
                    false => v.clone(),
                };
                FieldChange {
                    field: c.field.clone(),
                    old: show(&c.old),
                    new: show(&c.new),
                }
            })
            .collect(),
        Event::MobilityUserUpdated(p) => vec![FieldChange {
            field: "mobilityExtension".into(),
            old: shown(&p.mobility_extension.old),
            new: shown(&p.mobility_extension.new),
        }],
        Event::UserClientProfileChanged(p) => vec![FieldChange {
            field: "clientProfileId".into(),
            old: p.previous.map(|id| id.to_string()),
            new: Some(p.client_profile_id.to_string()),
        }],
        Event::ActiveStatusChanged(p) => vec![FieldChange {
            field: "activeStatusId".into(),
            old: p.previous_status_id.map(|id| id.to_string()),
            new: p.active_status_id.map(|id| id.to_string()),
        }],
        Event::MobilityEmailNotificationChanged(p) => vec![FieldChange {
            field: "sendEmailNotification".into(),
            old: Some((!p.enabled).to_string()),
            new: Some(p.enabled.to_string()),
        }],
        Event::AccountCreated(_)
        | Event::LocationCreated(_)
        | Event::AccessNumberCreated(_)
        | Event::RoleAssigned(_)
        | Event::UserCreated(_)
        | Event::DynamicStatusCreated(_)
        | Event::UserNumberCreated(_)
        | Event::ClientProfileCreated(_)
        | Event::MobilityActivationRequested(_)
        | Event::MobilityActivationCompleted(_)
        | Event::MobilityUserEnabled(_)
        | Event::WebhookEndpointCreated(_) => created(),
        Event::RoleRevoked(_)
        | Event::DynamicStatusDeleted(_)
        | Event::UserNumberDeleted(_)
        | Event::MobilityUserDisabled(_)
        | Event::WebhookEndpointDeleted(_) => removed(),
        // Snapshots of the object after the change, without its values before: `data` tells.
        Event::ClientProfileUpdated(_)
        | Event::PlatformConnectionSet(_)
        | Event::PlatformSyncRunCreated(_)
        | Event::PlatformSyncRunUpdated(_)
        | Event::MobilityDeactivated(_)
        | Event::MobilityNotificationQueued(_)
        | Event::NotificationRetryRequested(_)
        | Event::WebhookEndpointSecretRotated(_) => Vec::new(),
    }
}

/// Deletes events recorded before `cutoff` that every plugin with a place in the log has
/// consumed, oldest first, in batches of `batch`; returns how many went. `expected` names the
/// plugins this process runs: while one of them has no place in the log yet (it has not
/// started), nothing is deleted, since it would start from the oldest event kept.
pub async fn prune(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    expected: &[&str],
    batch: u64,
) -> Result<u64, DbErr> {
    let cursors = plugin_cursor::Entity::find().all(db).await?;
    if expected.iter().any(|name| !cursors.iter().any(|c| c.plugin == *name)) {
        return Ok(0);
    }
    let consumed = |e: &outbox_event::Model| {
        cursors
            .iter()
            .all(|c| (e.txid, e.position) <= (c.last_txid, c.last_position))
    };
    let mut deleted = 0;
    loop {
        let oldest = outbox_event::Entity::find()
            .order_by_asc(outbox_event::Column::Position)
            .limit(batch)
            .all(db)
            .await?;
        // The oldest events in log order, up to the first that must stay: the log is read in
        // order, so what follows an event a plugin still needs is needed too.
        let gone: Vec<i64> = (oldest.iter())
            .take_while(|e| e.occurred_at < cutoff && consumed(e))
            .map(|e| e.position)
            .collect();
        if gone.is_empty() {
            return Ok(deleted);
        }
        let whole = gone.len() as u64 == batch;
        let mut sql = Sql::new(db.get_database_backend());
        let places: Vec<String> = gone.iter().map(|p| sql.bind(*p)).collect();
        sql.push(&format!(
            "DELETE FROM outbox_event WHERE position IN ({})",
            places.join(", ")
        ));
        deleted += db.execute_raw(sql.statement()).await?.rows_affected();
        if !whole {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let payload = json!({
            "baseUrl": "https://mx.example",
            "apiToken": "abc",
            "nested": [{"clientSecret": "x", "name": "kept"}],
            "password": null,
            "changes": [{"field": "apiToken", "old": "a", "new": "b"}, {"field": "name", "old": "x", "new": "y"}],
        });
        assert_eq!(
            redacted(&payload),
            json!({
                "baseUrl": "https://mx.example",
                "apiToken": REDACTED,
                "nested": [{"clientSecret": REDACTED, "name": "kept"}],
                "password": null,
                "changes": [{"field": "apiToken", "old": REDACTED, "new": REDACTED}, {"field": "name", "old": "x", "new": "y"}],
            })
        );
    }

    #[test]
    fn actors_read_as_user_support_or_system() {
        let id = Uuid::now_v7();
        assert_eq!(actor(&format!("user:{id}")), (ActorKind::User, Ok(id)));
        assert_eq!(actor("support:sam"), (ActorKind::Support, Err("sam")));
        assert_eq!(
            actor("support:platform-sync"),
            (ActorKind::System, Err("platform-sync"))
        );
        assert_eq!(actor("user:nonsense"), (ActorKind::System, Err("user:nonsense")));
    }
}
