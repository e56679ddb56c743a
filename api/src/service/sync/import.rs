//! The import side of a run (SPEC E3, R5): one page of the platform's numbers applied in one
//! transaction, and after the last page the numbers the platform no longer has.
//!
//! A page costs a fixed handful of statements whatever its size: the numbers the page's ids
//! already name, the page's users' numbers and statuses, the numbers held by other users, then
//! one insert of the new numbers, one of their events and one update marking what was seen. The
//! users concerned are locked (`remote_user`, in key order) as every other write to their
//! numbers does, so the checks hold against what commits.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{
    NumberOrigin, account, dynamic_status, platform_sync_run, platform_withdrawal, remote_user, user, user_number,
};
use integrations::platform::PlatformNumber;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::withdraw;
use crate::{
    db,
    policy::Principal,
    service::{
        extensions::CHUNK,
        outbox::{self, Event},
        remote::{self, MAX_NUMBERS, RemoteSettings, deleted_payload, number_event, number_payload},
        validate,
    },
};

/// Most error lines a run keeps; the rest are counted.
const MAX_NOTES: usize = 100;

/// Longest error line a run keeps, in characters.
const MAX_NOTE: usize = 300;

/// What a run reports beside its counts: items it could not apply, numbers it kept.
///
/// Lines are Reach's words; the values they quote from the platform's listing (a number, an id,
/// a `userRef`) are data the platform was asked for, but still untrusted: every line is kept
/// free of control characters and cut at [`MAX_NOTE`] characters, so a listing cannot write
/// pages of text, forged line breaks or terminal escapes into what account admins read.
#[derive(Debug, Default)]
pub struct Notes {
    lines: Vec<String>,
    more: usize,
}

impl Notes {
    /// Adds a line (or counts it, past the first hundred).
    pub fn push(&mut self, line: String) {
        if self.lines.len() < MAX_NOTES {
            self.lines.push(clean(&line));
        } else {
            self.more += 1;
        }
    }

    /// The lines as the run's `errors`.
    pub fn to_json(&self) -> Value {
        let mut all: Vec<Value> = self.lines.iter().map(|l| json!(l)).collect();
        if self.more > 0 {
            all.push(json!(format!("… and {} more", self.more)));
        }
        Value::Array(all)
    }
}

/// `line` without control characters (each becomes `?`), cut at [`MAX_NOTE`] characters.
fn clean(line: &str) -> String {
    let mut out: String = line
        .chars()
        .take(MAX_NOTE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if line.chars().nth(MAX_NOTE).is_some() {
        out.push('…');
    }
    out
}

/// What the import of one account needs at hand.
pub struct Scope<'a> {
    /// The process holding the run, and for how long each save renews it.
    pub hold: (&'a str, chrono::Duration),
    /// The account.
    pub account: &'a account::Model,
    /// Its users by extension (the platform's `userRef`).
    pub users: &'a HashMap<String, Uuid>,
    /// Label prefix and default statuses.
    pub remote: &'a RemoteSettings,
    /// The run.
    pub run_id: Uuid,
    /// When the run's listing began.
    pub started: chrono::DateTime<Utc>,
    /// Who acts.
    pub p: &'a Principal,
}

/// The extensions of the account's users.
pub async fn users_by_extension(db: &impl ConnectionTrait, account_id: Uuid) -> Result<HashMap<String, Uuid>, DbErr> {
    let rows: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Extension)
        .filter(user::Column::AccountId.eq(account_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, ext)| (ext, id)).collect())
}

/// How many of the account's numbers Reach holds linked to the platform.
pub async fn linked_count(db: &impl ConnectionTrait, account_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    user_number::Entity::find()
        .filter(user_number::Column::AccountId.eq(account_id))
        .filter(user_number::Column::PlatformId.is_not_null())
        .count(db)
        .await
}

/// Locks the users' Remote Extension records in key order (creating missing ones with their
/// default statuses first), as every write to a user's numbers does.
async fn lock_users(
    txn: &impl ConnectionTrait,
    p: &Principal,
    cfg: &RemoteSettings,
    ids: &[Uuid],
) -> Result<(), DbErr> {
    let mut sorted = ids.to_vec();
    sorted.sort();
    let mut held = HashSet::new();
    for chunk in sorted.chunks(CHUNK) {
        let rows = remote_user::Entity::find()
            .filter(remote_user::Column::UserId.is_in(chunk.to_vec()))
            .order_by_asc(remote_user::Column::UserId)
            .lock_exclusive()
            .all(txn)
            .await?;
        held.extend(rows.into_iter().map(|r| r.user_id));
    }
    let missing: Vec<Uuid> = sorted.into_iter().filter(|id| !held.contains(id)).collect();
    if !missing.is_empty() {
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(missing))
            .all(txn)
            .await?;
        for u in users {
            remote::ensure_user(txn, p, cfg, &u).await.map_err(into_db)?;
            remote_user::Entity::find_by_id(u.id).lock_exclusive().one(txn).await?;
        }
    }
    Ok(())
}

fn into_db(e: crate::service::ServiceError) -> DbErr {
    match e {
        crate::service::ServiceError::Db(e) => e,
        other => DbErr::Custom(other.to_string()),
    }
}

/// The status of `statuses` that uses `number`, if one does.
fn user_of(statuses: &[dynamic_status::Model], number: Uuid) -> Option<&dynamic_status::Model> {
    statuses.iter().find(|s| s.numbers().any(|n| n == number))
}

/// Applies one page of the platform's numbers: creates the new ones (origin `PLATFORM`, labelled
/// with the prefix, R5), relabels the ones whose label the user never changed when the prefix
/// changed, follows a number the platform changed under the same id, links user-created numbers
/// the platform turns out to hold, and marks everything it saw. What it cannot apply (an unknown
/// `userRef`, a number that breaks R3/R4) goes to `notes`; nothing else stops the page.
///
/// A number another user of the account holds from the platform, under an id this run has not
/// seen yet, may have moved (the platform deleted it there and created it here): with `later`
/// given, such an item is put there, to be applied again once the numbers gone from the platform
/// are removed.
pub async fn apply_page(
    db: &impl db::Db,
    scope: &Scope<'_>,
    items: &[PlatformNumber],
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
    mut later: Option<&mut Vec<PlatformNumber>>,
    withdrawals: &mut Vec<(platform_withdrawal::Model, String)>,
) -> Result<bool, DbErr> {
    let account_id = scope.account.id;
    let txn = db::begin_write(db).await?;
    // Every usable id is looked up, also of items that cannot be applied, so that what the
    // platform still lists is never taken for gone.
    let usable: Vec<&PlatformNumber> = items.iter().filter(|i| !i.id.is_empty() && i.id.len() <= 128).collect();
    let all_ids: Vec<String> = usable.iter().map(|i| i.id.clone()).collect();
    let all_numbers: Vec<String> = usable.iter().map(|i| i.number.clone()).collect();
    let mut by_pid: HashMap<String, user_number::Model> = HashMap::new();
    for chunk in all_ids.chunks(CHUNK) {
        let rows = user_number::Entity::find()
            .filter(user_number::Column::AccountId.eq(account_id))
            .filter(user_number::Column::PlatformId.is_in(chunk.to_vec()))
            .all(&txn)
            .await?;
        by_pid.extend(rows.into_iter().filter_map(|r| r.platform_id.clone().map(|id| (id, r))));
    }
    // Numbers users deleted or changed in Reach: never imported again, withdrawn instead.
    let pending = withdraw::matching(&txn, account_id, &all_ids, &all_numbers).await?;
    let mut seen: Vec<Uuid> = Vec::new();
    let mut ids = HashSet::new();
    let mut numbers = HashSet::new();
    let mut wanted: Vec<(&PlatformNumber, Uuid)> = Vec::with_capacity(items.len());
    for item in items {
        if item.id.is_empty() || item.id.len() > 128 {
            notes.push(format!(
                "the platform listed {} without a usable id; skipped",
                item.number
            ));
            continue;
        }
        if !ids.insert(item.id.as_str()) {
            continue;
        }
        if let Some(w) = pending.iter().find(|w| {
            w.platform_id.as_deref() == Some(item.id.as_str())
                || (w.platform_id.is_none() && w.number == item.number && w.user_ref == item.user_ref)
        }) {
            withdrawals.push((w.clone(), item.id.clone()));
            continue;
        }
        let known = by_pid.get(&item.id).map(|r| r.id);
        if !numbers.insert(item.number.as_str()) {
            seen.extend(known);
            notes.push(format!(
                "the platform lists {} twice; the second (id {}) is skipped",
                item.number, item.id
            ));
            continue;
        }
        match scope.users.get(&item.user_ref) {
            Some(user_id) => wanted.push((item, *user_id)),
            None => {
                seen.extend(known);
                notes.push(format!(
                    "{} (id {}): no user has extension {:?} in this account; skipped{}",
                    item.number,
                    item.id,
                    item.user_ref,
                    if known.is_some() {
                        " (Reach keeps the number it has)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    let mut user_ids: Vec<Uuid> = wanted.iter().map(|(_, u)| *u).collect();
    user_ids.extend(by_pid.values().map(|r| r.user_id));
    user_ids.sort();
    user_ids.dedup();
    lock_users(&txn, scope.p, scope.remote, &user_ids).await?;
    let mut owned = remote::numbers_of_users(&txn, &user_ids).await?;
    let statuses = remote::statuses_of_users(&txn, &user_ids).await?;
    let page_numbers: Vec<String> = wanted.iter().map(|(i, _)| i.number.clone()).collect();
    let mut elsewhere: HashMap<String, Uuid> = HashMap::new();
    // Holders that may be gone from the platform: the account's platform numbers not seen yet.
    let mut movable: HashSet<String> = HashSet::new();
    for chunk in page_numbers.chunks(CHUNK) {
        let rows = user_number::Entity::find()
            .filter(user_number::Column::RemoteNumber.is_in(chunk.to_vec()))
            .all(&txn)
            .await?;
        for row in rows {
            if row.account_id == account_id
                && row.origin == NumberOrigin::Platform
                && row.platform_seen != Some(scope.run_id)
            {
                movable.insert(row.number.clone());
            }
            elsewhere.insert(row.number, row.user_id);
        }
    }
    let codes = scope.account.destination_codes();
    let prefix = &scope.remote.admin_label_prefix;
    let now = Utc::now();
    let no_statuses = Vec::new();

    let mut inserts: Vec<user_number::Model> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    for (item, user_id) in wanted {
        if let Some(row) = by_pid.get(&item.id).cloned() {
            if row.user_id != user_id {
                // The platform gave the number to another user.
                let old_statuses = statuses.get(&row.user_id).unwrap_or(&no_statuses);
                if row.origin != NumberOrigin::Platform {
                    seen.push(row.id);
                    notes.push(format!(
                        "{}: the platform names another user ({}) for a number added in Reach; left as it is",
                        item.number, item.user_ref
                    ));
                    continue;
                }
                if let Some(s) = user_of(old_statuses, row.id) {
                    seen.push(row.id);
                    notes.push(format!(
                        "{}: the platform moved it to extension {}, but status {:?} of its present user uses it; kept where it is",
                        item.number, item.user_ref, s.name
                    ));
                    continue;
                }
                user_number::Entity::delete_by_id(row.id).exec(&txn).await?;
                events.push(number_event("user_number.deleted", &row, deleted_payload(&row)));
                if let Some(list) = owned.get_mut(&row.user_id) {
                    list.retain(|n| n.id != row.id);
                }
                elsewhere.remove(&row.number);
                run.removed += 1;
            } else {
                seen.push(row.id);
                if row.origin == NumberOrigin::Platform {
                    follow(
                        &txn,
                        scope,
                        &row,
                        item,
                        &codes,
                        &mut owned,
                        &elsewhere,
                        &mut events,
                        run,
                        notes,
                    )
                    .await?;
                }
                continue;
            }
        }
        let mine = owned.entry(user_id).or_default();
        if let Some(row) = mine.iter_mut().find(|n| n.number == item.number) {
            match (&row.platform_id, row.is_remote_extension) {
                (None, true) => {
                    // Exported by Reach (or provisioned here) and now found: link it.
                    let mut am: user_number::ActiveModel = row.clone().into();
                    am.platform_id = Set(Some(item.id.clone()));
                    am.platform_number = Set(Some(item.number.clone()));
                    am.platform_seen = Set(Some(scope.run_id));
                    am.platform_missing_since = Set(None);
                    am.platform_error = Set(None);
                    am.platform_linked_at = Set(Some(now));
                    *row = am.update(&txn).await?;
                    events.push(number_event(
                        "user_number.updated",
                        row,
                        json!({"userId": row.user_id, "changes": {"onPlatform": {"old": false, "new": true}}}),
                    ));
                }
                (Some(_), true) => notes.push(format!(
                    "{}: the platform holds it under two ids; id {} is skipped",
                    item.number, item.id
                )),
                (_, false) => notes.push(format!(
                    "{}: extension {} has it as an ordinary number in Reach; skipped",
                    item.number, item.user_ref
                )),
            }
            continue;
        }
        if elsewhere.get(&item.number).is_some_and(|holder| *holder != user_id) {
            if let Some(later) = later.as_deref_mut()
                && movable.contains(&item.number)
            {
                later.push(item.clone());
                continue;
            }
            notes.push(format!(
                "{}: another user holds it as a remote extension in Reach (NUMBER_IN_USE_ELSEWHERE); skipped",
                item.number
            ));
            continue;
        }
        let number = match validate::remote_extension_number(&["number"], &item.number, &codes) {
            Ok(n) => n,
            Err(e) => {
                notes.push(format!("{}: {} (R3); skipped", item.number, e.message));
                continue;
            }
        };
        if mine.len() >= MAX_NUMBERS {
            notes.push(format!(
                "{number}: extension {} has {MAX_NUMBERS} numbers already; skipped",
                item.user_ref
            ));
            continue;
        }
        let label = match validate::label(&["label"], &format!("{prefix}{number}")) {
            Ok(l) if !mine.iter().any(|n| n.label_key == l.to_lowercase()) => l,
            _ => {
                notes.push(format!(
                    "{number}: its label {:?} is not usable for extension {}; skipped",
                    format!("{prefix}{number}"),
                    item.user_ref
                ));
                continue;
            }
        };
        let model = user_number::Model {
            id: Uuid::now_v7(),
            user_id,
            account_id,
            label_key: label.to_lowercase(),
            platform_label: Some(label.clone()),
            label,
            remote_number: Some(number.clone()),
            platform_number: Some(number.clone()),
            number,
            is_remote_extension: true,
            origin: NumberOrigin::Platform,
            call_through: false,
            created_at: now,
            created_by: scope.p.actor(),
            updated_at: now,
            platform_id: Some(item.id.clone()),
            platform_seen: Some(scope.run_id),
            platform_missing_since: None,
            platform_error: None,
            platform_linked_at: Some(now),
        };
        events.push(number_event("user_number.created", &model, number_payload(&model)));
        elsewhere.insert(model.number.clone(), user_id);
        mine.push(model.clone());
        inserts.push(model);
        run.created += 1;
    }
    insert_new(&txn, &mut inserts, &mut events, run, notes).await?;
    for chunk in seen.chunks(CHUNK) {
        user_number::Entity::update_many()
            .col_expr(user_number::Column::PlatformSeen, Expr::value(scope.run_id))
            .filter(user_number::Column::Id.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    outbox::record_many(&txn, scope.p, events).await?;
    save(txn, scope, run, notes).await
}

/// Inserts the page's new numbers in number order (so two accounts' imports lock the unique
/// numbers in one order), passing over any that a concurrent change took meanwhile (another
/// user's remote extension, a label): those are reported instead, and their events dropped.
async fn insert_new(
    txn: &impl ConnectionTrait,
    inserts: &mut [user_number::Model],
    events: &mut Vec<Event>,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
) -> Result<(), DbErr> {
    if inserts.is_empty() {
        return Ok(());
    }
    inserts.sort_by(|a, b| a.number.cmp(&b.number));
    for chunk in inserts.chunks(CHUNK) {
        user_number::Entity::insert_many(chunk.iter().cloned().map(user_number::ActiveModel::from))
            .on_conflict_do_nothing()
            .exec_without_returning(txn)
            .await?;
    }
    let wanted: Vec<Uuid> = inserts.iter().map(|n| n.id).collect();
    let mut landed = HashSet::new();
    for chunk in wanted.chunks(CHUNK) {
        let ids: Vec<Uuid> = user_number::Entity::find()
            .select_only()
            .column(user_number::Column::Id)
            .filter(user_number::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(txn)
            .await?;
        landed.extend(ids);
    }
    if landed.len() == inserts.len() {
        return Ok(());
    }
    for n in inserts.iter().filter(|n| !landed.contains(&n.id)) {
        run.created -= 1;
        notes.push(format!(
            "{}: taken in Reach while the page was applied (another user's remote extension, or a label); skipped",
            n.number
        ));
    }
    events.retain(|e| e.event_type != "user_number.created" || landed.contains(&e.aggregate_id));
    Ok(())
}

/// Commits a step of the run with its counts, while this process still holds the run (false:
/// it lost it, and the step is rolled back).
async fn save(
    txn: sea_orm::DatabaseTransaction,
    scope: &Scope<'_>,
    run: &mut platform_sync_run::Model,
    notes: &Notes,
) -> Result<bool, DbErr> {
    run.errors = notes.to_json();
    let before = run.clone();
    if super::progress_in(&txn, run, scope.hold.0, scope.hold.1).await? {
        txn.commit().await?;
        Ok(true)
    } else {
        txn.rollback().await?;
        *run = before;
        Ok(false)
    }
}

/// A platform number seen again under its id: follows a number the platform changed, gives the
/// prefix label again where the user kept the one the sync gave (R5), clears a missing flag.
#[allow(clippy::too_many_arguments)]
async fn follow(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    row: &user_number::Model,
    item: &PlatformNumber,
    codes: &[String],
    owned: &mut HashMap<Uuid, Vec<user_number::Model>>,
    elsewhere: &HashMap<String, Uuid>,
    events: &mut Vec<Event>,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
) -> Result<(), DbErr> {
    let mine = owned.entry(row.user_id).or_default();
    let mut number = row.number.clone();
    if item.number != row.number {
        let taken_here = mine.iter().any(|n| n.id != row.id && n.number == item.number);
        let taken_there = elsewhere.get(&item.number).is_some_and(|u| *u != row.user_id);
        match validate::remote_extension_number(&["number"], &item.number, codes) {
            Ok(n) if !taken_here && !taken_there => number = n,
            Ok(_) => notes.push(format!(
                "{}: the platform changed {} to a number Reach has already; kept as it was",
                item.number, row.number
            )),
            Err(e) => notes.push(format!(
                "{}: the platform changed {} to it, but {} (R3); kept as it was",
                item.number, row.number, e.message
            )),
        }
    }
    // The label follows the prefix and the number while the user has not changed it.
    let auto = row.platform_label.as_deref() == Some(row.label.as_str());
    let wanted = format!("{}{number}", scope.remote.admin_label_prefix);
    let mut label = row.label.clone();
    if auto
        && wanted != row.label
        && let Ok(l) = validate::label(&["label"], &wanted)
        && !mine.iter().any(|n| n.id != row.id && n.label_key == l.to_lowercase())
    {
        label = l;
    }
    if number == row.number && label == row.label && row.platform_missing_since.is_none() {
        return Ok(());
    }
    let mut changes = serde_json::Map::new();
    let mut am: user_number::ActiveModel = row.clone().into();
    if label != row.label {
        changes.insert("label".into(), json!({"old": row.label, "new": label}));
        am.label_key = Set(label.to_lowercase());
        am.platform_label = Set(Some(label.clone()));
        am.label = Set(label);
    }
    if number != row.number {
        changes.insert("number".into(), json!({"old": row.number, "new": number}));
        am.remote_number = Set(Some(number.clone()));
        am.platform_number = Set(Some(number.clone()));
        am.number = Set(number);
    }
    if row.platform_missing_since.is_some() {
        changes.insert("onPlatform".into(), json!({"old": false, "new": true}));
        am.platform_missing_since = Set(None);
    }
    am.platform_seen = Set(Some(scope.run_id));
    am.updated_at = Set(Utc::now());
    let model = am.update(txn).await?;
    if let Some(n) = mine.iter_mut().find(|n| n.id == model.id) {
        *n = model.clone();
    }
    events.push(number_event(
        "user_number.updated",
        &model,
        json!({"userId": model.user_id, "changes": Value::Object(changes)}),
    ));
    run.updated += 1;
    Ok(())
}

/// After a complete listing: the account's numbers the run did not see on the platform. A
/// platform number no status uses is removed; one a status uses is kept, flagged
/// (`platform_missing_since`) and reported, so no status is left pointing at nothing. A
/// user-created number the platform lost is unlinked, to be exported again.
pub async fn remove_unseen(
    db: &impl db::Db,
    scope: &Scope<'_>,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
) -> Result<bool, DbErr> {
    use user_number::Column;
    let mut after = Uuid::nil();
    loop {
        let txn = db::begin_write(db).await?;
        let rows = user_number::Entity::find()
            .filter(Column::AccountId.eq(scope.account.id))
            .filter(Column::PlatformId.is_not_null())
            .filter(
                sea_orm::Condition::any()
                    .add(Column::PlatformSeen.is_null())
                    .add(Column::PlatformSeen.ne(scope.run_id)),
            )
            .filter(Column::Id.gt(after))
            .order_by_asc(Column::Id)
            .limit(CHUNK as u64)
            .all(&txn)
            .await?;
        let Some(last) = rows.last() else {
            txn.commit().await?;
            return Ok(true);
        };
        after = last.id;
        let user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        lock_users(&txn, scope.p, scope.remote, &user_ids).await?;
        let statuses = remote::statuses_of_users(&txn, &user_ids).await?;
        let no_statuses: Vec<dynamic_status::Model> = Vec::new();
        let mut gone = Vec::new();
        let mut unlink = Vec::new();
        let mut events = Vec::new();
        for row in rows {
            if row.origin != NumberOrigin::Platform {
                // Linked before this listing began and not in it: the platform lost it; it is
                // sent again. One linked since (sent while the run listed) stays linked.
                if row.platform_linked_at.is_none_or(|at| at < scope.started) {
                    events.push(number_event(
                        "user_number.updated",
                        &row,
                        json!({"userId": row.user_id, "changes": {"onPlatform": {"old": true, "new": false}}}),
                    ));
                    unlink.push(row.id);
                }
                continue;
            }
            let user_statuses = statuses.get(&row.user_id).unwrap_or(&no_statuses);
            if let Some(s) = user_of(user_statuses, row.id) {
                run.kept += 1;
                notes.push(format!(
                    "{}: gone from the platform, but status {:?} uses it; kept and flagged",
                    row.number, s.name
                ));
                if row.platform_missing_since.is_none() {
                    let mut am: user_number::ActiveModel = row.clone().into();
                    am.platform_missing_since = Set(Some(Utc::now()));
                    am.updated_at = Set(Utc::now());
                    let model = am.update(&txn).await?;
                    events.push(number_event(
                        "user_number.updated",
                        &model,
                        json!({"userId": model.user_id, "changes": {"onPlatform": {"old": true, "new": false}}}),
                    ));
                }
                continue;
            }
            events.push(number_event("user_number.deleted", &row, deleted_payload(&row)));
            gone.push(row.id);
            run.removed += 1;
        }
        if !gone.is_empty() {
            user_number::Entity::delete_many()
                .filter(Column::Id.is_in(gone))
                .exec(&txn)
                .await?;
        }
        if !unlink.is_empty() {
            user_number::Entity::update_many()
                .col_expr(Column::PlatformId, Expr::value(Option::<String>::None))
                .col_expr(Column::PlatformNumber, Expr::value(Option::<String>::None))
                .col_expr(
                    Column::PlatformLinkedAt,
                    Expr::value(Option::<chrono::DateTime<Utc>>::None),
                )
                .filter(Column::Id.is_in(unlink))
                .exec(&txn)
                .await?;
        }
        outbox::record_many(&txn, scope.p, events).await?;
        if !save(txn, scope, run, notes).await? {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // issue 16 item 6: what the platform listed reaches admins without control characters and
    // bounded in length.
    #[test]
    fn notes_quote_the_platform_cleanly_and_briefly() {
        let mut notes = Notes::default();
        notes.push(format!("{}: skipped", "070\u{1b}[31m\nforged line"));
        notes.push("x".repeat(10_000));
        let lines = notes.to_json();
        let lines: Vec<&str> = lines
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str())
            .collect();
        assert_eq!(lines[0], "070?[31m?forged line: skipped");
        assert_eq!(lines[1].chars().count(), MAX_NOTE + 1);
    }
}
