//! `platformSyncRunUpdated` (SPEC E3, E4): an account's sync runs as they start, progress and
//! finish, for Support, Decision Makers and account-wide Phone Managers of the account. Each
//! event shows the run as that change left it.

use async_graphql::{Context, Result, Subscription, futures_util::stream::BoxStream};
use entity::event::Event;

use super::types::PlatformSyncRun;
use crate::codes::Code;
use crate::{
    graphql::{
        args::IdArg,
        context,
        errors::coded,
        live::{self, Step},
    },
    live::Topic,
    policy::Access,
    service::sync,
};

/// Platform sync subscriptions.
#[derive(Default)]
pub struct SyncSubscription;

#[Subscription]
impl SyncSubscription {
    /// An account's platform sync runs: each change of state or counts.
    async fn platform_sync_run_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account (an `Account` id).")] account_id: IdArg,
    ) -> Result<BoxStream<'static, Result<PlatformSyncRun>>> {
        if let Some(event) = live::replayed(ctx) {
            return Ok(event);
        }
        let account = live::watched_account(ctx, &account_id).await?;
        match sync::may_read_runs(context::principal(ctx)?, account.id) {
            Access::Allowed => {}
            Access::NotFound => return Err(coded(Code::NotFound, "no account with this id")),
            Access::Forbidden(only) => {
                return Err(coded(
                    Code::Forbidden,
                    format!("only {only} may watch the account's sync runs"),
                ));
            }
        }
        let feed = live::subscribe(ctx, Topic::SyncRuns(account.id))?;
        Ok(live::events(ctx, feed, |d| {
            let state = match d.kind() {
                Event::PlatformSyncRunCreated(run) | Event::PlatformSyncRunUpdated(run) => run,
                _ => return Step::Skip,
            };
            let recorded =
                (d.objects.runs.get(&d.event.aggregate_id)).and_then(|current| sync::as_recorded(current, state));
            match recorded {
                Some(run) => Step::Emit(PlatformSyncRun(run)),
                None => Step::Skip,
            }
        }))
    }
}
