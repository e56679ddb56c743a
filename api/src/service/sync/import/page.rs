//! One page of the platform's numbers, applied in one transaction: the page's rows read in a
//! fixed handful of statements, each item applied ([`item`]), then the new numbers inserted, their
//! events recorded and what was seen marked.

mod item;

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{NumberOrigin, dynamic_status, platform_sync_run, platform_withdrawal, user_number};
use integrations::platform::PlatformNumber;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::{Notes, Scope, lock_users, save};
use crate::{
    db,
    service::{
        extension_claims::CHUNK,
        outbox::{self, Entry, ev},
        remote,
        sync::withdraw,
    },
};

/// What applying one page works on: the rows it read, and the writes it gathers.
struct Work {
    /// The account's numbers the page's ids name, by platform id.
    by_pid: HashMap<String, user_number::Model>,
    /// The numbers the page saw, to be marked seen by the run.
    seen: Vec<Uuid>,
    /// The numbers of the users concerned, by user.
    owned: HashMap<Uuid, Vec<user_number::Model>>,
    /// The statuses of the users concerned, by user.
    statuses: HashMap<Uuid, Vec<dynamic_status::Model>>,
    /// Who holds each of the page's numbers as a remote extension.
    elsewhere: HashMap<String, Uuid>,
    /// Holders that may be gone from the platform: the account's platform numbers not seen yet.
    movable: HashSet<String>,
    /// The account's destination codes (R3).
    codes: Vec<String>,
    /// When the page is applied.
    now: chrono::DateTime<Utc>,
    /// The new numbers to insert.
    inserts: Vec<user_number::Model>,
    /// The events to record.
    events: Vec<Entry>,
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
    let txn = db::begin_write(db).await?;
    let (by_pid, pending) = read_known(&txn, scope, items).await?;
    let (seen, wanted) = sort_items(scope, items, &by_pid, &pending, notes, withdrawals);
    let mut page = read_holders(&txn, scope, &wanted, by_pid, seen).await?;
    for (item, user_id) in wanted {
        if item::take_known(&txn, scope, &mut page, item, user_id, run, notes).await? {
            continue;
        }
        if item::link_own(&txn, scope, &mut page, item, user_id, notes).await? {
            continue;
        }
        item::add_new(scope, &mut page, item, user_id, run, notes, later.as_deref_mut());
    }
    let Work {
        mut inserts,
        mut events,
        seen,
        ..
    } = page;
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

/// The first step of a page: the account's numbers the page's usable ids name (by platform id),
/// and the pending withdrawals the page's ids or numbers match.
async fn read_known(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    items: &[PlatformNumber],
) -> Result<(HashMap<String, user_number::Model>, Vec<platform_withdrawal::Model>), DbErr> {
    let account_id = scope.account.id;
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
            .all(txn)
            .await?;
        by_pid.extend(rows.into_iter().filter_map(|r| r.platform_id.clone().map(|id| (id, r))));
    }
    // Numbers users deleted or changed in Reach: never imported again, withdrawn instead.
    let pending = withdraw::matching(txn, account_id, &all_ids, &all_numbers).await?;
    Ok((by_pid, pending))
}

/// The second step of a page, with no statement: sorts the page's items into those to apply, by
/// their user (answered with the ids of the known numbers seen among the rest), those a pending
/// withdrawal names (added to `withdrawals`), and those that cannot be applied (an unusable id, a
/// number listed twice, an unknown `userRef`: noted and skipped). An id listed twice is applied
/// once.
fn sort_items<'i>(
    scope: &Scope<'_>,
    items: &'i [PlatformNumber],
    by_pid: &HashMap<String, user_number::Model>,
    pending: &[platform_withdrawal::Model],
    notes: &mut Notes,
    withdrawals: &mut Vec<(platform_withdrawal::Model, String)>,
) -> (Vec<Uuid>, Vec<(&'i PlatformNumber, Uuid)>) {
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
    (seen, wanted)
}

/// The third step of a page: locks the users concerned (those the items name and those holding
/// the known numbers), reads their numbers and statuses, and who holds each of the page's numbers
/// as a remote extension; answers the page's [`Work`], with nothing written yet.
async fn read_holders(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    wanted: &[(&PlatformNumber, Uuid)],
    by_pid: HashMap<String, user_number::Model>,
    seen: Vec<Uuid>,
) -> Result<Work, DbErr> {
    let account_id = scope.account.id;
    let mut user_ids: Vec<Uuid> = wanted.iter().map(|(_, u)| *u).collect();
    user_ids.extend(by_pid.values().map(|r| r.user_id));
    user_ids.sort();
    user_ids.dedup();
    lock_users(txn, scope.p, scope.remote, &user_ids).await?;
    let owned = remote::numbers_of_users(txn, &user_ids).await?;
    let statuses = remote::statuses_of_users(txn, &user_ids).await?;
    let page_numbers: Vec<String> = wanted.iter().map(|(i, _)| i.number.clone()).collect();
    let mut elsewhere: HashMap<String, Uuid> = HashMap::new();
    // Holders that may be gone from the platform: the account's platform numbers not seen yet.
    let mut movable: HashSet<String> = HashSet::new();
    for chunk in page_numbers.chunks(CHUNK) {
        let rows = user_number::Entity::find()
            .filter(user_number::Column::RemoteNumber.is_in(chunk.to_vec()))
            .all(txn)
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
    Ok(Work {
        by_pid,
        seen,
        owned,
        statuses,
        elsewhere,
        movable,
        codes: scope.account.destination_codes(),
        now: Utc::now(),
        inserts: Vec::new(),
        events: Vec::new(),
    })
}

/// Inserts the page's new numbers in number order (so two accounts' imports lock the unique
/// numbers in one order), passing over any that a concurrent change took meanwhile (another
/// user's remote extension, a label): those are reported instead, and their events dropped.
async fn insert_new(
    txn: &impl ConnectionTrait,
    inserts: &mut [user_number::Model],
    events: &mut Vec<Entry>,
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
    events.retain(|e| !matches!(e.event, ev::Event::UserNumberCreated(_)) || landed.contains(&e.aggregate_id));
    Ok(())
}
