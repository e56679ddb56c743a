//! One item of a page, applied to the page's [`Work`]: a number Reach knows under the item's id,
//! a number its user has already, or a new one.

use std::collections::HashMap;

use chrono::Utc;
use entity::{NumberOrigin, platform_sync_run, user_number};
use integrations::platform::PlatformNumber;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set};
use uuid::Uuid;

use super::super::{Notes, Scope, user_of};
use super::Work;
use crate::service::{
    outbox::{Entry, ev},
    remote::{MAX_NUMBERS, Ringing, number_changed, number_created, number_deleted, number_updated},
    validate,
};

/// The first step of an item: the number Reach knows under its platform id, if any. One the
/// platform gave to another user is deleted from its present one, to be added to the new one
/// (`false`), unless it was added in Reach or a status of its present user uses it (noted, and
/// left). One of the same user is marked seen and, if it came from the platform, followed
/// ([`follow`]). Answers whether the item is done.
pub(super) async fn take_known(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    page: &mut Work,
    item: &PlatformNumber,
    user_id: Uuid,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
) -> Result<bool, DbErr> {
    let Work {
        by_pid,
        seen,
        owned,
        statuses,
        elsewhere,
        codes,
        events,
        ..
    } = page;
    let no_statuses = Vec::new();
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
                return Ok(true);
            }
            if let Some(s) = user_of(old_statuses, row.id) {
                seen.push(row.id);
                notes.push(format!(
                    "{}: the platform moved it to extension {}, but status {:?} of its present user uses it; kept where it is",
                    item.number, item.user_ref, s.name
                ));
                return Ok(true);
            }
            user_number::Entity::delete_by_id(row.id).exec(txn).await?;
            events.push(number_deleted(&row));
            if let Some(list) = owned.get_mut(&row.user_id) {
                list.retain(|n| n.id != row.id);
            }
            elsewhere.remove(&row.number);
            run.removed += 1;
        } else {
            seen.push(row.id);
            if row.origin == NumberOrigin::Platform {
                follow(txn, scope, &row, item, codes, owned, elsewhere, events, run, notes).await?;
            }
            return Ok(true);
        }
    }
    Ok(false)
}

/// The second step of an item: a number its user has already in Reach. A remote extension Reach
/// exported (or provisioned here) is now found, and linked to the item's id; one linked under
/// another id, or an ordinary number, is noted. Answers whether the item is done.
pub(super) async fn link_own(
    txn: &impl ConnectionTrait,
    scope: &Scope<'_>,
    page: &mut Work,
    item: &PlatformNumber,
    user_id: Uuid,
    notes: &mut Notes,
) -> Result<bool, DbErr> {
    let Work { owned, events, now, .. } = page;
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
                am.platform_linked_at = Set(Some(*now));
                *row = am.update(txn).await?;
                events.push(number_changed(row, "onPlatform", ev::FieldChange::new(false, true)));
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
        return Ok(true);
    }
    Ok(false)
}

/// The last step of an item: a number new to its user, added to the page's inserts as a platform
/// number labelled with the prefix (R5). Another user's remote extension is noted and skipped, or
/// (with `later`, when that holder may be gone from the platform) kept for later; so is a number
/// that breaks R3, one past the user's [`MAX_NUMBERS`], or one whose label is not usable.
pub(super) fn add_new(
    scope: &Scope<'_>,
    page: &mut Work,
    item: &PlatformNumber,
    user_id: Uuid,
    run: &mut platform_sync_run::Model,
    notes: &mut Notes,
    later: Option<&mut Vec<PlatformNumber>>,
) {
    let Work {
        owned,
        elsewhere,
        movable,
        codes,
        now,
        inserts,
        events,
        ..
    } = page;
    let prefix = &scope.remote.admin_label_prefix;
    let mine = owned.entry(user_id).or_default();
    if elsewhere.get(&item.number).is_some_and(|holder| *holder != user_id) {
        if let Some(later) = later
            && movable.contains(&item.number)
        {
            later.push(item.clone());
            return;
        }
        notes.push(format!(
            "{}: another user holds it as a remote extension in Reach (NUMBER_IN_USE_ELSEWHERE); skipped",
            item.number
        ));
        return;
    }
    let number = match validate::remote_extension_number(&["number"], &item.number, codes) {
        Ok(n) => n,
        Err(e) => {
            notes.push(format!("{}: {} (R3); skipped", item.number, e.message));
            return;
        }
    };
    if mine.len() >= MAX_NUMBERS {
        notes.push(format!(
            "{number}: extension {} has {MAX_NUMBERS} numbers already; skipped",
            item.user_ref
        ));
        return;
    }
    let label = match validate::label(&["label"], &format!("{prefix}{number}")) {
        Ok(l) if !mine.iter().any(|n| n.label_key == l.to_lowercase()) => l,
        _ => {
            notes.push(format!(
                "{number}: its label {:?} is not usable for extension {}; skipped",
                format!("{prefix}{number}"),
                item.user_ref
            ));
            return;
        }
    };
    let mut model = platform_number(scope, item, user_id, number, label, *now);
    // How it rings, where the platform says (issue 21 §3); out of range: the defaults, noted.
    let imported = Ringing::DEFAULT.imported(None, &item.ringing);
    if let Some(why) = &imported.refused {
        notes.push(format!(
            "{}: its ringing was not taken ({why}); the defaults apply",
            model.number
        ));
    }
    imported.ringing.on(&mut model);
    model.platform_ringing = imported.said;
    events.push(number_created(&model));
    elsewhere.insert(model.number.clone(), user_id);
    mine.push(model.clone());
    inserts.push(model);
    run.created += 1;
}

/// The new platform number `number` of `user_id`, labelled `label`, linked to the item's id and
/// seen by this run, as of `now`.
fn platform_number(
    scope: &Scope<'_>,
    item: &PlatformNumber,
    user_id: Uuid,
    number: String,
    label: String,
    now: chrono::DateTime<Utc>,
) -> user_number::Model {
    let account_id = scope.account.id;
    user_number::Model {
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
        ring_delay_seconds: user_number::DEFAULT_RING_DELAY_SECONDS,
        answer_too_soon_ms: user_number::DEFAULT_ANSWER_TOO_SOON_MS,
        answer_too_late_ms: user_number::DEFAULT_ANSWER_TOO_LATE_MS,
        require_keypress: false,
        platform_ringing: None,
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
    events: &mut Vec<Entry>,
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
    // Its ringing follows the platform's when that changes there (issue 21 §3).
    let imported = Ringing::of(row).imported(row.platform_ringing.as_deref(), &item.ringing);
    if let Some(why) = &imported.refused {
        notes.push(format!(
            "{}: its new ringing was not taken ({why}); kept as it was",
            row.number
        ));
    }
    if number == row.number
        && label == row.label
        && row.platform_missing_since.is_none()
        && imported.ringing == Ringing::of(row)
    {
        if imported.said != row.platform_ringing {
            // Only the sync's record of what the platform says: kept, no change to report.
            let mut am: user_number::ActiveModel = row.clone().into();
            am.platform_ringing = Set(imported.said);
            let model = am.update(txn).await?;
            if let Some(n) = mine.iter_mut().find(|n| n.id == model.id) {
                *n = model;
            }
        }
        return Ok(());
    }
    let mut changes = ev::Changes::new();
    let mut am: user_number::ActiveModel = row.clone().into();
    imported.ringing.apply(row, &mut am, &mut changes);
    am.platform_ringing = Set(imported.said);
    if label != row.label {
        changes.insert("label".into(), ev::FieldChange::new(&row.label, &label));
        am.label_key = Set(label.to_lowercase());
        am.platform_label = Set(Some(label.clone()));
        am.label = Set(label);
    }
    if number != row.number {
        changes.insert("number".into(), ev::FieldChange::new(&row.number, &number));
        am.remote_number = Set(Some(number.clone()));
        am.platform_number = Set(Some(number.clone()));
        am.number = Set(number);
    }
    if row.platform_missing_since.is_some() {
        changes.insert("onPlatform".into(), ev::FieldChange::new(false, true));
        am.platform_missing_since = Set(None);
    }
    am.platform_seen = Set(Some(scope.run_id));
    am.updated_at = Set(Utc::now());
    let model = am.update(txn).await?;
    if let Some(n) = mine.iter_mut().find(|n| n.id == model.id) {
        *n = model.clone();
    }
    events.push(number_updated(&model, changes));
    run.updated += 1;
    Ok(())
}
