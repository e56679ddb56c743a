//! The `webhooks` plugin (`[plugins.webhooks]`): each committed event of an account is queued
//! for the account's endpoints that want its type (in the order of the log), and workers
//! deliver the queue ([`Deliverer`]).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;
use entity::{
    WebhookDeliveryState,
    event::{Event, Logged},
    webhook_delivery, webhook_endpoint,
};
use integrations::{JobContext, Plugin, PluginError, WebhookSettings, host::Job};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tokio::sync::Notify;
use uuid::Uuid;

use super::{body, deliver::Deliverer, event_kinds};
use crate::service::{audit, sync::seal::TokenKey};

/// How long the feed trusts what it read of an account's endpoints (a change of them is also an
/// event, which drops the account's entry at once: this covers another process's feed having
/// handled it meanwhile).
const KEEP_ENDPOINTS: Duration = Duration::from_secs(2);

/// Deliveries written per statement when the feed flushes (17 columns each: far under the
/// databases' limits on bound values).
const FLUSH_ROWS: usize = 500;

/// Accounts whose endpoints the feed keeps at most; past it, it forgets them all.
const KEPT_ACCOUNTS: usize = 10_000;

/// An account's endpoints as read, and when.
type Kept = (Instant, Arc<Vec<webhook_endpoint::Model>>);

/// The webhooks plugin.
pub struct WebhooksPlugin {
    db: DatabaseConnection,
    settings: WebhookSettings,
    key: TokenKey,
    /// Wakes this process's workers when the feed queued something.
    queued: Arc<Notify>,
    /// Each account's endpoints as the feed last read them: a burst of events (a 1,000-user
    /// enable) reads them once, not once per event.
    kept: Mutex<HashMap<Uuid, Kept>>,
    /// Deliveries queued by the events handled since the last flush: written in one statement
    /// before the feed moves past those events.
    gathered: Mutex<Vec<webhook_delivery::ActiveModel>>,
}

impl WebhooksPlugin {
    /// The plugin over `db`.
    pub fn new(db: DatabaseConnection, settings: WebhookSettings, key: TokenKey) -> Self {
        Self {
            db,
            settings,
            key,
            queued: Arc::new(Notify::new()),
            kept: Mutex::new(HashMap::new()),
            gathered: Mutex::new(Vec::new()),
        }
    }

    /// The account's endpoints: kept, or read.
    async fn endpoints(&self, account_id: Uuid) -> Result<Arc<Vec<webhook_endpoint::Model>>, PluginError> {
        if let Some((at, kept)) = self.kept.lock().ok().and_then(|k| k.get(&account_id).cloned())
            && at.elapsed() < KEEP_ENDPOINTS
        {
            return Ok(kept);
        }
        let read = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::AccountId.eq(account_id))
            .all(&self.db)
            .await
            .map_err(|e| PluginError(e.to_string()))?;
        let read = Arc::new(read);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= KEPT_ACCOUNTS {
                kept.clear();
            }
            kept.insert(account_id, (Instant::now(), read.clone()));
        }
        Ok(read)
    }
}

/// The data a delivery carries about `event`: its payload (secrets redacted, as in the audit log)
/// with what it is about and who did it.
fn data(event: &Logged) -> serde_json::Value {
    let (kind, who) = audit::actor(&event.actor);
    let actor = match who {
        Ok(id) => serde_json::json!({"kind": "USER", "userId": id}),
        Err(name) => serde_json::json!({
            "kind": match kind {
                audit::ActorKind::System => "SYSTEM",
                _ => "SUPPORT",
            },
            "name": name,
        }),
    };
    serde_json::json!({
        "eventId": event.id,
        "accountId": event.account_id,
        "subjectType": event.event.aggregate_type(),
        "subjectKey": event.aggregate_id,
        "actor": actor,
        "payload": audit::redacted(&event.event.payload()),
    })
}

#[async_trait::async_trait]
impl Plugin for WebhooksPlugin {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn summary(&self) -> String {
        format!(
            "delivering account events to their endpoints ({} workers)",
            self.settings.workers
        )
    }

    async fn handle(&self, event: &Logged) -> Result<(), PluginError> {
        let Some(account_id) = event.account_id else {
            return Ok(());
        };
        if matches!(
            event.event,
            Event::WebhookEndpointCreated(_)
                | Event::WebhookEndpointUpdated(_)
                | Event::WebhookEndpointDeleted(_)
                | Event::WebhookEndpointSecretRotated(_)
        ) && let Ok(mut kept) = self.kept.lock()
        {
            kept.remove(&account_id);
        }
        let endpoints = self.endpoints(account_id).await?;
        let kind = event.event.kind();
        let now = Utc::now();
        let wanting: Vec<&webhook_endpoint::Model> = (endpoints.iter())
            // An endpoint that is off gets nothing meanwhile (the audit log keeps the events), and
            // none gets what happened before it was registered.
            .filter(|e| e.enabled && event.occurred_at >= e.created_at)
            .filter(|e| {
                let kinds = event_kinds(e);
                kinds.is_empty() || kinds.iter().any(|k| k == kind)
            })
            .collect();
        if wanting.is_empty() {
            return Ok(());
        }
        let body = body(kind, event.occurred_at, &data(event));
        let rows: Vec<webhook_delivery::ActiveModel> = (wanting.into_iter())
            .map(|e| webhook_delivery::ActiveModel {
                id: Set(Uuid::now_v7()),
                endpoint_id: Set(e.id),
                message_id: Set(event.id.to_string()),
                event_type: Set(kind.to_owned()),
                body: Set(body.clone()),
                occurred_at: Set(event.occurred_at),
                state: Set(WebhookDeliveryState::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                lease_owner: Set(None),
                lease_until: Set(None),
                last_status: Set(None),
                last_error: Set(None),
                last_latency_ms: Set(None),
                last_attempt_at: Set(None),
                created_at: Set(now),
                delivered_at: Set(None),
            })
            .collect();
        if !rows.is_empty()
            && let Ok(mut gathered) = self.gathered.lock()
        {
            gathered.extend(rows);
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), PluginError> {
        let rows = match self.gathered.lock() {
            Ok(mut gathered) => std::mem::take(&mut *gathered),
            Err(_) => return Err(PluginError("the webhooks plugin's queue is poisoned".into())),
        };
        if rows.is_empty() {
            return Ok(());
        }
        // An event handed over again (at least once) is queued once per endpoint.
        for chunk in rows.chunks(FLUSH_ROWS) {
            let written = webhook_delivery::Entity::insert_many(chunk.to_vec())
                .on_conflict_do_nothing_on([
                    webhook_delivery::Column::EndpointId,
                    webhook_delivery::Column::MessageId,
                ])
                .exec_without_returning(&self.db)
                .await;
            if let Err(e) = written {
                // The batch comes again; forget what was read of the endpoints (one may be gone).
                if let Ok(mut kept) = self.kept.lock() {
                    kept.clear();
                }
                return Err(PluginError(e.to_string()));
            }
        }
        self.queued.notify_waiters();
        Ok(())
    }

    fn jobs(self: Arc<Self>, ctx: JobContext) -> Vec<Job> {
        let policy = match self.settings.outbound() {
            Ok(policy) => policy,
            Err(why) => {
                tracing::error!(error = %why, "webhooks: the settings do not say where deliveries may go");
                return Vec::new();
            }
        };
        let client = match policy.client(Duration::from_millis(self.settings.timeout_ms)) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: no HTTP client");
                return Vec::new();
            }
        };
        let deliverer = Deliverer {
            db: self.db.clone(),
            key: self.key.clone(),
            settings: self.settings.clone(),
            client,
            policy,
            owner: ctx.owner.clone(),
        };
        (0..self.settings.workers)
            .map(|i| {
                let (deliverer, ctx, queued) = (deliverer.clone(), ctx.clone(), self.queued.clone());
                Box::pin(work(deliverer, ctx, queued, i == 0)) as Job
            })
            .collect()
    }
}

/// One worker: delivers what is due, one delivery at a time, until the process stops. When
/// nothing is due it waits for the feed to queue something, the poll interval, or (the first
/// worker only, so a burst of writes costs one look) a commit of this process: a test ping or a
/// retry asked through the API.
async fn work(deliverer: Deliverer, ctx: JobContext, queued: Arc<Notify>, watches_commits: bool) {
    let mut wake = ctx.wake.subscribe();
    let candidates = deliverer.settings.workers as u64 * 2;
    loop {
        if ctx.stop.is_cancelled() {
            return;
        }
        let claimed = match deliverer.claim(candidates).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the queue");
                None
            }
        };
        let Some((delivery, endpoint)) = claimed else {
            tokio::select! {
                () = ctx.stop.cancelled() => return,
                () = queued.notified() => {}
                _ = wake.changed(), if watches_commits => {}
                () = tokio::time::sleep(ctx.poll) => {}
            }
            continue;
        };
        let attempt = deliverer.attempt(&delivery, &endpoint).await;
        if let Err(e) = deliverer.settle(&delivery, &endpoint, &attempt).await {
            tracing::warn!(error = %e, delivery = %delivery.id, "webhooks: cannot record an attempt");
        }
    }
}
