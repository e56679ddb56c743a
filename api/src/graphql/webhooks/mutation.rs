//! `webhookEndpointCreate`, `webhookEndpointUpdate`, `webhookEndpointDelete`,
//! `webhookEndpointRotateSecret`, `webhookEndpointTest` and `webhookDeliveryRetry` (issue 20).

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::types::{WebhookDelivery, WebhookEndpoint};
use crate::{
    graphql::{
        audit::AuditEventKind,
        context,
        errors::{payload, payload_type},
        guard,
        ids::{self, Kind},
    },
    service::webhooks::{self, EndpointPatch, NewEndpoint},
    state::AppState,
};

fn kinds(given: Vec<AuditEventKind>) -> Vec<String> {
    given.into_iter().map(|k| k.event_type().to_owned()).collect()
}

/// Input of `webhookEndpointCreate`.
#[derive(InputObject)]
pub struct WebhookEndpointCreateInput {
    /// The account whose events it gets.
    pub account_id: ID,
    /// Where to post: `https://` (`http://` only where the server allows it), no credentials
    /// or fragment, no loopback, private or link-local address unless the server lists it.
    pub url: String,
    /// What you call it (at most 500 characters).
    #[graphql(default)]
    pub description: String,
    /// The event types to send; empty or left out: all.
    #[graphql(default)]
    pub event_kinds: Vec<AuditEventKind>,
}

payload_type! {
    /// Result of `webhookEndpointCreate`.
    WebhookEndpointCreatePayload {
        /// The endpoint.
        webhook_endpoint: Option<WebhookEndpoint>,
        /// Its signing secret (`whsec_…`): shown this once; keep it to verify deliveries.
        secret: Option<String>,
    }
}

/// Input of `webhookEndpointUpdate`; a field left out keeps its value.
#[derive(InputObject)]
pub struct WebhookEndpointUpdateInput {
    /// The endpoint.
    pub id: ID,
    /// New URL.
    pub url: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New event types (empty: all).
    pub event_kinds: Option<Vec<AuditEventKind>>,
    /// On or off; switching it on clears Reach's reason and failure record.
    pub enabled: Option<bool>,
}

payload_type! {
    /// Result of `webhookEndpointUpdate`.
    WebhookEndpointUpdatePayload {
        /// The endpoint as it is now.
        webhook_endpoint: Option<WebhookEndpoint>,
    }
}

/// Input naming one endpoint.
#[derive(InputObject)]
pub struct WebhookEndpointInput {
    /// The endpoint.
    pub id: ID,
}

/// Input naming one delivery.
#[derive(InputObject)]
pub struct WebhookDeliveryInput {
    /// The delivery.
    pub id: ID,
}

payload_type! {
    /// Result of `webhookEndpointDelete`.
    WebhookEndpointDeletePayload {
        /// The id of the endpoint deleted.
        deleted_id: Option<ID>,
    }
}

/// Input of `webhookEndpointRotateSecret`.
#[derive(InputObject)]
pub struct WebhookEndpointRotateSecretInput {
    /// The endpoint.
    pub id: ID,
    /// Hours the old secret keeps signing beside the new one (0–720; default: the server's
    /// setting, 24).
    pub grace_hours: Option<u32>,
}

payload_type! {
    /// Result of `webhookEndpointRotateSecret`.
    WebhookEndpointRotateSecretPayload {
        /// The endpoint.
        webhook_endpoint: Option<WebhookEndpoint>,
        /// The new secret: shown this once.
        secret: Option<String>,
    }
}

payload_type! {
    /// Result of `webhookEndpointTest` and `webhookDeliveryRetry`.
    WebhookDeliveryPayload {
        /// The delivery, queued.
        delivery: Option<WebhookDelivery>,
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

/// Webhook mutations (Support and the account's Decision Makers).
#[Object]
impl WebhookMutation {
    /// Registers an endpoint for the account's events; the answer holds its secret, once.
    async fn webhook_endpoint_create(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: WebhookEndpointCreateInput,
    ) -> Result<WebhookEndpointCreatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let state = ctx.data::<AppState>()?;
        let new = NewEndpoint {
            url: input.url,
            description: input.description,
            event_kinds: kinds(input.event_kinds),
        };
        let account_id = ids::decode_as(&input.account_id, Kind::Account);
        let settings = &state.settings.plugins.webhooks;
        let result = guard
            .run(webhooks::create(
                &state.db,
                p,
                &state.token_key,
                settings,
                account_id,
                new,
            ))
            .await;
        let (made, user_errors) = payload(result)?;
        let (endpoint, secret) = made.map_or((None, None), |(e, s)| (Some(WebhookEndpoint(e)), Some(s)));
        Ok(WebhookEndpointCreatePayload {
            webhook_endpoint: endpoint,
            secret,
            user_errors,
        })
    }

    /// Changes an endpoint.
    async fn webhook_endpoint_update(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes.")] input: WebhookEndpointUpdateInput,
    ) -> Result<WebhookEndpointUpdatePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let state = ctx.data::<AppState>()?;
        let patch = EndpointPatch {
            url: input.url,
            description: input.description,
            event_kinds: input.event_kinds.map(kinds),
            enabled: input.enabled,
        };
        let id = ids::decode_as(&input.id, Kind::WebhookEndpoint);
        let settings = &state.settings.plugins.webhooks;
        let result = guard.run(webhooks::update(&state.db, p, settings, id, patch)).await;
        let (endpoint, user_errors) = payload(result)?;
        Ok(WebhookEndpointUpdatePayload {
            webhook_endpoint: endpoint.map(WebhookEndpoint),
            user_errors,
        })
    }

    /// Deletes an endpoint; its deliveries not made are dropped.
    async fn webhook_endpoint_delete(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: WebhookEndpointInput,
    ) -> Result<WebhookEndpointDeletePayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = ids::decode_as(&input.id, Kind::WebhookEndpoint);
        let result = guard.run(webhooks::delete(context::db(ctx)?, p, id)).await;
        let (gone, user_errors) = payload(result)?;
        Ok(WebhookEndpointDeletePayload {
            deleted_id: gone.map(|e| ids::encode(Kind::WebhookEndpoint, e.id)),
            user_errors,
        })
    }

    /// Gives an endpoint a new secret; deliveries carry a signature under each secret while the
    /// old one's grace lasts. The answer holds the new secret, once.
    async fn webhook_endpoint_rotate_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: WebhookEndpointRotateSecretInput,
    ) -> Result<WebhookEndpointRotateSecretPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let state = ctx.data::<AppState>()?;
        let id = ids::decode_as(&input.id, Kind::WebhookEndpoint);
        let settings = &state.settings.plugins.webhooks;
        let result = guard
            .run(webhooks::rotate(
                &state.db,
                p,
                &state.token_key,
                settings,
                id,
                input.grace_hours,
            ))
            .await;
        let (made, user_errors) = payload(result)?;
        let (endpoint, secret) = made.map_or((None, None), |(e, s)| (Some(WebhookEndpoint(e)), Some(s)));
        Ok(WebhookEndpointRotateSecretPayload {
            webhook_endpoint: endpoint,
            secret,
            user_errors,
        })
    }

    /// Queues a `ping` to an endpoint, after what it already waits for.
    async fn webhook_endpoint_test(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] input: WebhookEndpointInput,
    ) -> Result<WebhookDeliveryPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = ids::decode_as(&input.id, Kind::WebhookEndpoint);
        let result = guard.run(webhooks::test(context::db(ctx)?, p, id)).await;
        let (delivery, user_errors) = payload(result)?;
        Ok(WebhookDeliveryPayload {
            delivery: delivery.map(WebhookDelivery),
            user_errors,
        })
    }

    /// Sends a `FAILED` delivery again, now.
    async fn webhook_delivery_retry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The delivery.")] input: WebhookDeliveryInput,
    ) -> Result<WebhookDeliveryPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let id = ids::decode_as(&input.id, Kind::WebhookDelivery);
        let result = guard.run(webhooks::retry(context::db(ctx)?, p, id)).await;
        let (delivery, user_errors) = payload(result)?;
        Ok(WebhookDeliveryPayload {
            delivery: delivery.map(WebhookDelivery),
            user_errors,
        })
    }
}
