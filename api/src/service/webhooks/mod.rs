//! Webhooks (issue 20): the endpoints an account registers to be told of its events, signed as
//! the Standard Webhooks specification says ([`sign`]), delivered by the `webhooks` plugin
//! ([`plugin`], [`deliver`]).
//!
//! Support and the account's Decision Makers manage them; the secret is shown once, when an
//! endpoint is created or its secret rotated, and kept sealed (never in clear, never in an
//! event).

pub mod deliver;
pub mod plugin;
pub mod sign;

use std::collections::HashMap;

use chrono::{Duration, Utc};
use entity::{WebhookDeliveryState, event::KINDS, webhook_delivery, webhook_endpoint};
use integrations::{WebhookSettings, outbound::OutboundPolicy};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryTrait, Set};
use serde_json::json;
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    error::{ErrorCode, UserError, check, not_found},
    outbox::{self, Event, ev},
    sync::seal::TokenKey,
};
use crate::{
    db,
    policy::{Access, Principal},
};

/// Longest endpoint URL.
const MAX_URL: usize = 2_000;
/// Longest description.
const MAX_DESCRIPTION: usize = 500;
/// Endpoints per account.
pub const MAX_ENDPOINTS: usize = 20;
/// Deliveries of an endpoint an admin sees (the newest).
pub const RECENT_DELIVERIES: u64 = 20;
/// The `type` of a test delivery.
pub const PING: &str = "ping";
/// The version of the delivered payload's shape (`{type, timestamp, data}`).
pub const PAYLOAD_VERSION: &str = "1";

/// Who manages an account's webhooks: Support and its Decision Makers.
pub fn may_manage(p: &Principal, account_id: Uuid) -> Access {
    p.directory_admin(account_id)
}

fn invalid(field: &str, message: impl Into<String>) -> UserError {
    UserError::new(ErrorCode::ValidationFailed, &[field], message)
}

/// An endpoint's URL: `https://` (plain `http://` only where the settings allow it), a host, no
/// credentials or fragment, and not an address the settings refuse (names are checked when
/// they are resolved, at every delivery).
pub fn url(raw: &str, policy: &OutboundPolicy) -> Result<String, UserError> {
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(invalid("url", format!("at most {MAX_URL} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| invalid("url", format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("url", "must be an https:// URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("url", "must not carry credentials"));
    }
    if url.fragment().is_some() {
        return Err(invalid("url", "must not have a fragment"));
    }
    policy
        .check_url(&url)
        .map_err(|refused| invalid("url", refused.to_string()))?;
    Ok(url.to_string())
}

fn description(raw: &str) -> Result<String, UserError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION || trimmed.chars().any(char::is_control) {
        return Err(invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters, no control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn kinds(given: Vec<String>) -> Result<Vec<String>, UserError> {
    let mut kinds = Vec::with_capacity(given.len());
    for kind in given {
        if !KINDS.contains(&kind.as_str()) {
            return Err(invalid("eventKinds", format!("{kind:?} is not an event type")));
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// The event types an endpoint gets (empty: all).
pub fn event_kinds(endpoint: &webhook_endpoint::Model) -> Vec<String> {
    serde_json::from_value(endpoint.event_kinds.clone()).unwrap_or_default()
}

/// What events say of an endpoint's URL: its origin (`https://host:port`). The rest of a webhook
/// URL often holds a token (a path or query a receiver checks), and events reach the audit log's
/// readers and other endpoints.
pub fn origin(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| String::new(), |u| u.origin().ascii_serialization())
}

/// Where a secret is sealed: bound to the account and to this endpoint (a tag no platform base
/// URL can take, so a sealed secret opens nowhere else).
fn context(endpoint_id: Uuid) -> String {
    format!("webhook-secret:{endpoint_id}")
}

/// An endpoint's secrets that sign now: the current one, and the previous one during its grace.
pub fn secrets(key: &TokenKey, endpoint: &webhook_endpoint::Model) -> Vec<secrecy::SecretString> {
    let mut out = Vec::new();
    let context = context(endpoint.id);
    if let Ok(s) = key.open(endpoint.account_id, &context, &endpoint.secret_sealed) {
        out.push(s);
    }
    let grace = endpoint.previous_secret_until.is_some_and(|until| until > Utc::now());
    if let (true, Some(previous)) = (grace, &endpoint.previous_secret_sealed)
        && let Ok(s) = key.open(endpoint.account_id, &context, previous)
    {
        out.push(s);
    }
    out
}

/// A new endpoint's fields.
#[derive(Clone, Debug, Default)]
pub struct NewEndpoint {
    /// Where to post.
    pub url: String,
    /// What the admins call it.
    pub description: String,
    /// The event types to send (empty: all).
    pub event_kinds: Vec<String>,
}

/// Registers an endpoint; returns it and its secret (shown this once).
pub async fn create(
    db: &impl db::Db,
    p: &Principal,
    key: &TokenKey,
    settings: &WebhookSettings,
    account_id: Option<Uuid>,
    new: NewEndpoint,
) -> ServiceResult<(webhook_endpoint::Model, String)> {
    let account = super::directory::accounts::account_for_change(
        db,
        p,
        account_id,
        &["accountId"],
        "account",
        "manage the account's webhooks",
        |id| may_manage(p, id),
    )
    .await?;
    let policy = settings
        .outbound()
        .map_err(|why| ServiceError::Db(sea_orm::DbErr::Custom(why)))?;
    let url = url(&new.url, &policy)?;
    let description = description(&new.description)?;
    let kinds = kinds(new.event_kinds)?;
    let txn = db::begin_write(db).await?;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AccountId.eq(account.id))
        .all(&txn)
        .await?;
    if existing.len() >= MAX_ENDPOINTS {
        return Err(invalid(
            "accountId",
            format!("an account has at most {MAX_ENDPOINTS} webhook endpoints"),
        )
        .into());
    }
    let id = Uuid::now_v7();
    let secret = sign::new_secret();
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        id: Set(id),
        account_id: Set(account.id),
        url: Set(url.clone()),
        description: Set(description.clone()),
        event_kinds: Set(json!(kinds)),
        secret_sealed: Set(key.seal(account.id, &context(id), &secret)),
        previous_secret_sealed: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    let event = Event::WebhookEndpointCreated(ev::WebhookEndpoint {
        url: origin(&url),
        description,
        event_kinds: kinds,
    });
    outbox::record(&txn, p, event.about(account.id, id)).await?;
    super::commit(txn).await?;
    Ok((model, secret))
}

/// The endpoint `id` names, for a change by `p` (T1: another account's is unknown).
async fn for_change(
    db: &impl ConnectionTrait,
    p: &Principal,
    id: Option<Uuid>,
    action: &str,
) -> ServiceResult<webhook_endpoint::Model> {
    let found = match id {
        Some(id) => webhook_endpoint::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let Some(endpoint) = found.filter(|e| p.sees_account(e.account_id)) else {
        return Err(not_found(&["id"], "webhook endpoint"));
    };
    check(may_manage(p, endpoint.account_id), &["id"], "webhook endpoint", action)?;
    Ok(endpoint)
}

/// Changes to an endpoint; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct EndpointPatch {
    /// New URL.
    pub url: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New event types (empty: all).
    pub event_kinds: Option<Vec<String>>,
    /// On (its failure record cleared) or off.
    pub enabled: Option<bool>,
}

/// Changes an endpoint.
pub async fn update(
    db: &impl db::Db,
    p: &Principal,
    settings: &WebhookSettings,
    id: Option<Uuid>,
    patch: EndpointPatch,
) -> ServiceResult<webhook_endpoint::Model> {
    let policy = settings
        .outbound()
        .map_err(|why| ServiceError::Db(sea_orm::DbErr::Custom(why)))?;
    let url = patch.url.as_deref().map(|u| url(u, &policy)).transpose()?;
    let description = patch.description.as_deref().map(description).transpose()?;
    let kinds = patch.event_kinds.map(kinds).transpose()?;
    let txn = db::begin_write(db).await?;
    let current = for_change(&txn, p, id, "change the account's webhooks").await?;
    let mut changes = ev::Changes::new();
    let mut am: webhook_endpoint::ActiveModel = current.clone().into();
    if let Some(url) = url.filter(|u| *u != current.url) {
        changes.insert("url".into(), ev::FieldChange::new(origin(&current.url), origin(&url)));
        am.url = Set(url);
    }
    if let Some(d) = description.filter(|d| *d != current.description) {
        changes.insert("description".into(), ev::FieldChange::new(&current.description, &d));
        am.description = Set(d);
    }
    if let Some(k) = kinds.filter(|k| *k != event_kinds(&current)) {
        changes.insert("eventKinds".into(), ev::FieldChange::new(event_kinds(&current), &k));
        am.event_kinds = Set(json!(k));
    }
    if let Some(on) = patch.enabled.filter(|on| *on != current.enabled) {
        changes.insert("enabled".into(), ev::FieldChange::new(current.enabled, on));
        am.enabled = Set(on);
        if on {
            am.disabled_reason = Set(None);
            am.failing_since = Set(None);
        }
    }
    if changes.is_empty() {
        return Ok(current);
    }
    am.updated_at = Set(Utc::now());
    am.version = Set(current.version + 1);
    let model = am.update(&txn).await?;
    if patch.enabled == Some(true) && !current.enabled {
        // What waited while it was off goes now, not after its last backoff.
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(webhook_delivery::Column::EndpointId.eq(model.id))
            .filter(webhook_delivery::Column::State.eq(WebhookDeliveryState::Pending))
            .exec(&txn)
            .await?;
    }
    let event = Event::WebhookEndpointUpdated(ev::Changed { changes });
    outbox::record(&txn, p, event.about(model.account_id, model.id)).await?;
    super::commit(txn).await?;
    Ok(model)
}

/// Deletes an endpoint and its deliveries (those not made are not made).
pub async fn delete(db: &impl db::Db, p: &Principal, id: Option<Uuid>) -> ServiceResult<webhook_endpoint::Model> {
    let txn = db::begin_write(db).await?;
    let endpoint = for_change(&txn, p, id, "delete the account's webhooks").await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(endpoint.id).exec(&txn).await?;
    let event = Event::WebhookEndpointDeleted(ev::WebhookEndpoint {
        url: origin(&endpoint.url),
        description: endpoint.description.clone(),
        event_kinds: event_kinds(&endpoint),
    });
    outbox::record(&txn, p, event.about(endpoint.account_id, endpoint.id)).await?;
    super::commit(txn).await?;
    Ok(endpoint)
}

/// Gives an endpoint a new secret; the previous one keeps signing beside it for `grace_hours`
/// (default: the settings'). Returns the endpoint and the new secret (shown this once).
pub async fn rotate(
    db: &impl db::Db,
    p: &Principal,
    key: &TokenKey,
    settings: &WebhookSettings,
    id: Option<Uuid>,
    grace_hours: Option<u32>,
) -> ServiceResult<(webhook_endpoint::Model, String)> {
    let grace = u64::from(grace_hours.unwrap_or(u32::try_from(settings.rotation_grace_hours).unwrap_or(u32::MAX)));
    if grace > 24 * 30 {
        return Err(invalid("graceHours", "at most 720 (30 days)").into());
    }
    let txn = db::begin_write(db).await?;
    let current = for_change(&txn, p, id, "rotate the account's webhook secrets").await?;
    let secret = sign::new_secret();
    let now = Utc::now();
    let until = now + Duration::hours(grace as i64);
    let mut am: webhook_endpoint::ActiveModel = current.clone().into();
    am.previous_secret_sealed = Set(Some(current.secret_sealed.clone()));
    am.previous_secret_until = Set(Some(until));
    am.secret_sealed = Set(key.seal(current.account_id, &context(current.id), &secret));
    am.updated_at = Set(now);
    am.version = Set(current.version + 1);
    let model = am.update(&txn).await?;
    let event = Event::WebhookEndpointSecretRotated(ev::SecretRotated {
        previous_valid_until: until,
    });
    outbox::record(&txn, p, event.about(model.account_id, model.id)).await?;
    super::commit(txn).await?;
    Ok((model, secret))
}

/// The body of a delivery: the public event (`type`, `timestamp`, `data`), versioned.
pub fn body(kind: &str, at: chrono::DateTime<Utc>, data: &serde_json::Value) -> String {
    json!({
        "type": kind,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "version": PAYLOAD_VERSION,
        "data": data,
    })
    .to_string()
}

/// Queues a `ping` to an endpoint (at the end of its queue, as any delivery).
pub async fn test(db: &impl db::Db, p: &Principal, id: Option<Uuid>) -> ServiceResult<webhook_delivery::Model> {
    let txn = db::begin_write(db).await?;
    let endpoint = for_change(&txn, p, id, "test the account's webhooks").await?;
    let now = Utc::now();
    let message = Uuid::now_v7();
    let data = json!({ "endpointId": endpoint.id, "accountId": endpoint.account_id });
    let delivery = webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        endpoint_id: Set(endpoint.id),
        message_id: Set(message.to_string()),
        event_type: Set(PING.into()),
        body: Set(body(PING, now, &data)),
        occurred_at: Set(now),
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
    }
    .insert(&txn)
    .await?;
    super::commit(txn).await?;
    Ok(delivery)
}

/// Sends a failed delivery again, now (in its place in the endpoint's order).
pub async fn retry(
    db: &impl db::Db,
    p: &Principal,
    delivery_id: Option<Uuid>,
) -> ServiceResult<webhook_delivery::Model> {
    let txn = db::begin_write(db).await?;
    let found = match delivery_id {
        Some(id) => webhook_delivery::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    };
    let Some(delivery) = found else {
        return Err(not_found(&["id"], "webhook delivery"));
    };
    // Another tenant's delivery is unknown, as its endpoint would be (T1).
    let named = for_change(
        &txn,
        p,
        Some(delivery.endpoint_id),
        "retry the account's webhook deliveries",
    )
    .await;
    if let Err(ServiceError::Rejected(errors)) = &named
        && errors.iter().any(|e| e.code == ErrorCode::NotFound)
    {
        return Err(not_found(&["id"], "webhook delivery"));
    }
    named?;
    if delivery.state != WebhookDeliveryState::Failed {
        return Err(ServiceError::reject(
            ErrorCode::InvalidState,
            &["id"],
            "only a FAILED delivery can be retried",
        ));
    }
    let mut am: webhook_delivery::ActiveModel = delivery.into();
    am.state = Set(WebhookDeliveryState::Pending);
    am.next_attempt_at = Set(Utc::now());
    am.lease_owner = Set(None);
    am.lease_until = Set(None);
    let model = am.update(&txn).await?;
    super::commit(txn).await?;
    Ok(model)
}

/// Deletes deliveries queued before `cutoff` that are done (`SUCCEEDED`, `FAILED`), and those
/// still waiting for an endpoint that is off; returns how many. Their bodies hold the events'
/// data, which is not kept longer than the settings say.
pub async fn prune_deliveries(db: &impl ConnectionTrait, cutoff: chrono::DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let off = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .filter(webhook_endpoint::Column::Enabled.eq(false))
        .into_query();
    let done = webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::CreatedAt.lt(cutoff))
        .filter(
            sea_orm::Condition::any()
                .add(webhook_delivery::Column::State.ne(WebhookDeliveryState::Pending))
                .add(webhook_delivery::Column::EndpointId.in_subquery(off)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// An account's endpoints, oldest first.
pub async fn endpoints_of(
    db: &impl ConnectionTrait,
    account_id: Uuid,
) -> Result<Vec<webhook_endpoint::Model>, sea_orm::DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::AccountId.eq(account_id))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await
}

/// The newest deliveries of an endpoint, newest first.
pub async fn recent_deliveries(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
) -> Result<Vec<webhook_delivery::Model>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(RECENT_DELIVERIES)
        .all(db)
        .await
}

/// A delivery and its endpoint, in one query.
pub async fn delivery(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(webhook_delivery::Model, webhook_endpoint::Model)>, sea_orm::DbErr> {
    let Some(d) = webhook_delivery::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let e = webhook_endpoint::Entity::find_by_id(d.endpoint_id).one(db).await?;
    Ok(e.map(|e| (d, e)))
}

/// Endpoints by id, in one query.
pub async fn endpoints_by_id(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, webhook_endpoint::Model>, sea_orm::DbErr> {
    let rows = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_to_public_hosts_without_credentials() {
        let strict = OutboundPolicy::default();
        assert!(url("https://hooks.example.com/in?x=1", &strict).is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "https://user:pw@hooks.example.com",
            "https://hooks.example.com/#frag",
            "https://127.0.0.1/in",
            "https://[::1]/in",
            "https://10.1.2.3/in",
            "ftp://hooks.example.com",
            "not a url",
        ] {
            assert!(url(bad, &strict).is_err(), "{bad}");
        }
        assert!(kinds(vec!["user.created".into(), "nope".into()]).is_err());
        assert_eq!(
            kinds(vec!["user.created".into(), "user.created".into()]).ok(),
            Some(vec!["user.created".to_owned()])
        );
    }
}
