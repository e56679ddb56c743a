//! What every subscription shares: opening a feed under the limits, turning it into the
//! stream async-graphql sends, the fields every event carries, and a fresh loader per event.

use std::sync::Arc;

use async_graphql::{
    Context, Data, ID, Object, Result,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
    futures_util::Stream,
};
use chrono::{DateTime, Utc};

use super::{
    context,
    directory::loaders::DirectoryLoader,
    errors::{self, coded},
    ids::{self, Kind},
    mobility::types::Actor,
};
use crate::{
    live::{Connection, Delivery, Feed, LimitError, Next, Topic},
    service::directory,
    state::AppState,
};

/// Marks the data of a websocket connection: its subscriptions, counted against its limits.
#[derive(Clone, Debug)]
pub struct LiveSession {
    /// The connection's share of the limits.
    pub connection: Arc<Connection>,
}

/// Opens a feed on `topic` for the caller's connection.
pub fn subscribe(ctx: &Context<'_>, topic: Topic) -> Result<Feed> {
    let live = &ctx.data::<AppState>()?.live;
    let session = ctx
        .data_opt::<LiveSession>()
        .ok_or_else(|| coded("BAD_REQUEST", "subscriptions run over a websocket on /graphql"))?;
    live.subscribe(topic, Some(&session.connection)).map_err(|e| match e {
        LimitError::Stopping | LimitError::Off => coded("UNAVAILABLE", e.to_string()),
        _ => coded("TOO_MANY_SUBSCRIPTIONS", e.to_string()),
    })
}

/// The account a subscription watches: `NOT_FOUND` when the id is not an account the caller
/// may see (another account's id is refused exactly like an unknown one, T1).
pub async fn watched_account(ctx: &Context<'_>, account_id: &ID) -> Result<entity::account::Model> {
    let not_found = || coded("NOT_FOUND", "no account with this id");
    let Some((Kind::Account, id)) = ids::decode(account_id) else {
        return Err(not_found());
    };
    let p = context::principal(ctx)?;
    // Boxed: async-graphql keeps a subscription's resolver future for the subscription's life,
    // so a statement's state inline would be memory each idle subscriber holds.
    Box::pin(directory::account(context::db(ctx)?, p, id))
        .await
        .map_err(errors::db)?
        .ok_or_else(not_found)
}

/// What to do with one delivery.
pub enum Step<T> {
    /// Send this event.
    Emit(T),
    /// Nothing for this subscriber.
    Skip,
    /// End the subscription with this error (the subscriber lost sight of its object).
    End(async_graphql::Error),
}

/// The events of `feed` as `on_event` shapes them. A subscriber that fell too far behind gets a
/// `SLOW_CONSUMER` error and its subscription completes; it may subscribe again and re-read.
pub fn events<T: Send + 'static>(
    feed: Feed,
    on_event: impl FnMut(Arc<Delivery>) -> Step<T> + Send + 'static,
) -> impl Stream<Item = Result<T>> + Send + 'static {
    async_graphql::futures_util::stream::unfold(Some((feed, on_event)), |state| async move {
        let (mut feed, mut on_event) = state?;
        loop {
            match feed.next().await {
                Next::Event(delivery) => match on_event(delivery) {
                    Step::Emit(item) => return Some((Ok(item), Some((feed, on_event)))),
                    Step::Skip => continue,
                    Step::End(error) => return Some((Err(error), None)),
                },
                Next::Overflowed => {
                    let error = coded(
                        "SLOW_CONSUMER",
                        "this subscription fell too far behind and was closed; subscribe again and re-read",
                    );
                    return Some((Err(error), None));
                }
                Next::Closed => return None,
            }
        }
    })
}

/// The fields every event carries.
#[derive(Clone, Debug)]
pub struct Change(pub Arc<Delivery>);

#[Object]
impl Change {
    /// The event's id: the same on every process and every delivery of it.
    async fn event_id(&self) -> ID {
        ID(self.0.event.id.to_string())
    }

    /// When the change was committed.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.event.occurred_at
    }

    /// Who made it.
    async fn changed_by(&self) -> Actor {
        Actor(self.0.event.actor.clone())
    }
}

/// Gives each execution on a websocket (each subscription event, each query) a loader of its
/// own, so an event never shows what an earlier one cached.
pub struct FreshPerEvent;

impl ExtensionFactory for FreshPerEvent {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FreshPerEvent)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for FreshPerEvent {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        match (ctx.data_opt::<LiveSession>(), ctx.data_opt::<AppState>()) {
            (Some(_), Some(app)) => {
                let mut data = Data::default();
                data.insert(DirectoryLoader::for_request(app.db.clone()));
                next.run_with_data(ctx, operation_name, data).await
            }
            _ => next.run(ctx, operation_name).await,
        }
    }
}
