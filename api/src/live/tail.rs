//! The task that tails the outbox for this process's subscribers.

use std::{sync::Arc, time::Duration};

use entity::event::Logged;
use integrations::{
    Wake,
    log::{self, Cursor},
};
use sea_orm::{DatabaseConnection, DbErr};
use tokio_util::sync::CancellationToken;

use crate::auth::cache::PrincipalCache;

use super::{
    Delivery, Live, Topic,
    load::{Needs, per_user, topics},
};

/// Events read per statement.
const BATCH: u64 = 500;
/// The first second look when committed events wait behind an older transaction, and the
/// longest wait between such looks (a small query each).
const FIRST_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY: Duration = Duration::from_millis(200);

/// Where the log ends now: the reader's starting place, taken before the server accepts a
/// connection, so that every subscription sees each event committed after it was opened.
pub async fn start(live: &Live, db: &DatabaseConnection) -> Result<Cursor, DbErr> {
    let cursor = log::head(db).await?;
    live.advanced(cursor);
    Ok(cursor)
}

/// Follows the log from `cursor` until `stop`: after each wake-up (a local commit, a `NOTIFY`)
/// and every `catch_up` in any case, delivers every event committed since. Each new event also
/// retires the kept principals (it may come from another process that changed a role).
pub async fn run(
    live: Live,
    db: DatabaseConnection,
    wake: Wake,
    principals: PrincipalCache,
    mut cursor: Cursor,
    catch_up: Duration,
    stop: CancellationToken,
) {
    let mut woken = wake.subscribe();
    // Set while committed events wait behind an older transaction (PostgreSQL): look again
    // after this, doubling up to `MAX_RETRY`, instead of waiting for the next wake-up.
    let mut again: Option<Duration> = None;
    loop {
        woken.borrow_and_update();
        let mut pending = false;
        loop {
            match step(&live, &db, &principals, cursor).await {
                Ok(Some(next)) => {
                    cursor = next;
                    live.advanced(cursor);
                }
                Ok(None) => {
                    pending = log::pending_after(&db, cursor).await.unwrap_or(false);
                    break;
                }
                Err(e) => {
                    // The same events are read again at the next wake-up: none is skipped.
                    tracing::warn!(error = %e, "live events: cannot read the log; retrying");
                    break;
                }
            }
        }
        again = pending.then(|| again.map_or(FIRST_RETRY, |d| d * 2).min(MAX_RETRY).min(catch_up));
        tokio::select! {
            () = stop.cancelled() => return,
            _ = woken.changed() => {}
            () = tokio::time::sleep(again.unwrap_or(catch_up)) => {}
        }
    }
}

/// Delivers the next batch after `cursor`; the new cursor, or `None` when there was nothing new.
async fn step(
    live: &Live,
    db: &DatabaseConnection,
    principals: &PrincipalCache,
    cursor: Cursor,
) -> Result<Option<Cursor>, DbErr> {
    let batch = log::read_after(db, cursor, BATCH).await?;
    let Some(next) = batch.last else {
        return Ok(None);
    };
    principals.invalidate();
    publish(live, db, batch.events).await?;
    Ok(Some(next))
}

/// One change as subscribers see it: consecutive per-user mobility events of one kind, account,
/// actor and transaction become one delivery naming all their users.
fn group(batch: Vec<Logged>) -> Vec<(Logged, Vec<uuid::Uuid>)> {
    let mut changes: Vec<(Logged, Vec<uuid::Uuid>)> = Vec::new();
    for event in batch {
        let per_user = per_user(&event.event);
        if per_user
            && let Some((first, users)) = changes.last_mut()
            && first.event.kind() == event.event.kind()
            && first.account_id == event.account_id
            && first.actor == event.actor
            && first.txid == event.txid
        {
            users.push(event.aggregate_id);
            continue;
        }
        let users = if per_user { vec![event.aggregate_id] } else { Vec::new() };
        changes.push((event, users));
    }
    changes
}

/// Loads what the watched events show and hands them out, in log order.
async fn publish(live: &Live, db: &DatabaseConnection, batch: Vec<Logged>) -> Result<(), DbErr> {
    let mut watched: Vec<(Vec<Topic>, Logged, Vec<uuid::Uuid>)> = Vec::new();
    for (event, subjects) in group(batch) {
        let targets: Vec<Topic> = topics(&event).into_iter().filter(|t| live.watched(t)).collect();
        if !targets.is_empty() {
            watched.push((targets, event, subjects));
        }
    }
    if watched.is_empty() {
        return Ok(());
    }
    let mut needs = Needs::default();
    for (_, event, subjects) in &watched {
        needs.add(event, subjects);
    }
    let objects = Arc::new(needs.load(db).await?);
    let deliveries: Vec<_> = watched
        .into_iter()
        .map(|(targets, event, subjects)| {
            let delivery = Delivery {
                event,
                subjects,
                objects: objects.clone(),
                shared: Default::default(),
            };
            (targets, Arc::new(delivery))
        })
        .collect();
    live.dispatch(&deliveries);
    Ok(())
}
