//! `platformConnectionSet` and `platformSyncRun` (SPEC E3).

use async_graphql::{Context, ID, InputObject, Object, Result};

use super::types::{PlatformConnection, PlatformSyncRun};
use crate::{
    graphql::{
        context,
        errors::{payload, payload_type},
        guard,
        ids::{self, Kind},
        objects::Account,
    },
    service::sync::{self, connection::ConnectionInput},
    state::AppState,
};

/// Input of `platformConnectionSet`.
#[derive(InputObject)]
pub struct PlatformConnectionSetInput {
    /// The MX-ONE account.
    pub account_id: ID,
    /// The platform's base URL: `https://` (`http://` only where the server allows it), no
    /// credentials, query or fragment, and no loopback, private or link-local address unless the
    /// server lists it.
    pub base_url: String,
    /// The bearer token Reach presents to the platform; stored sealed and never readable back.
    #[graphql(secret)]
    pub token: String,
    /// The account's name on the platform (the `account` of the adapter contract).
    pub platform_account: String,
}

payload_type! {
    /// Result of `platformConnectionSet`.
    PlatformConnectionSetPayload {
        /// The account.
        account: Option<Account>,
        /// The connection as stored (without the token).
        platform_connection: Option<PlatformConnection>,
    }
}

/// Input of `platformSyncRun`.
#[derive(InputObject)]
pub struct PlatformSyncRunInput {
    /// The MX-ONE account.
    pub account_id: ID,
}

payload_type! {
    /// Result of `platformSyncRun`.
    PlatformSyncRunPayload {
        /// The run: a new `PENDING` one, or the one already under way for the account.
        sync_run: Option<PlatformSyncRun>,
        /// Whether this request created the run (false: it joined the one under way).
        created: bool,
    }
    errors: "Why nothing happened."
}

/// Platform sync mutations.
#[derive(Default)]
pub struct SyncMutation;

/// Platform sync mutations.
#[Object]
impl SyncMutation {
    /// Sets where an MX-ONE account's communication platform is and the token to reach it
    /// (Support only). The account's next sync is due at once.
    async fn platform_connection_set(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The connection.")] input: PlatformConnectionSetInput,
    ) -> Result<PlatformConnectionSetPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let state = ctx.data::<AppState>()?;
        let account_id = ids::decode_as(&input.account_id, Kind::Account);
        let fields = ConnectionInput {
            base_url: input.base_url,
            token: input.token,
            platform_account: input.platform_account,
        };
        let policy = state.settings.plugins.platform.outbound();
        let result = guard
            .run(sync::connection::set_connection(
                &state.db,
                p,
                &state.token_key,
                &policy,
                account_id,
                fields,
            ))
            .await;
        let (conn, user_errors) = payload(result)?;
        let account = match &conn {
            Some(c) => crate::service::directory::accounts_by_id(&state.db, &[c.account_id])
                .await
                .map_err(crate::graphql::errors::db)?
                .remove(&c.account_id)
                .map(Account::new),
            None => None,
        };
        Ok(PlatformConnectionSetPayload {
            account,
            platform_connection: conn.map(PlatformConnection),
            user_errors,
        })
    }

    /// Asks for a sync run of an MX-ONE account now (Support, Decision Makers, account-wide
    /// Phone Managers). One run at a time per account: while one is under way, that run is the
    /// answer. Follow it with `platformSyncRunUpdated` or `node(id)`.
    async fn platform_sync_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account.")] input: PlatformSyncRunInput,
    ) -> Result<PlatformSyncRunPayload> {
        let guard = guard::check(&input);
        let p = context::principal(ctx)?;
        let account_id = ids::decode_as(&input.account_id, Kind::Account);
        let result = guard.run(sync::request_run(context::db(ctx)?, p, account_id)).await;
        let (run, user_errors) = payload(result)?;
        Ok(PlatformSyncRunPayload {
            created: run.as_ref().is_some_and(|(_, new)| *new),
            sync_run: run.map(|(r, _)| PlatformSyncRun(r)),
            user_errors,
        })
    }
}
