//! What every subscription shares: opening a feed under the limits, turning it into the
//! stream async-graphql sends (or parking it, see [`Park`]), the fields every event carries,
//! and a fresh loader per event.

use std::{
    any::Any,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Context, Data, ID, Object, Result,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute},
};
use chrono::{DateTime, Utc};
use futures::{
    StreamExt, future,
    stream::{self, BoxStream},
};

use super::{
    common::actor::Actor,
    common::loader::DbLoader,
    context,
    errors::{self, coded},
    ids::{self, Kind},
};
use crate::codes::Code;
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
        .ok_or_else(|| coded(Code::BadRequest, "subscriptions run over a websocket on /graphql"))?;
    live.subscribe(topic, Some(&session.connection)).map_err(|e| match e {
        LimitError::Stopping | LimitError::Off => coded(Code::Unavailable, e.to_string()),
        _ => coded(Code::TooManySubscriptions, e.to_string()),
    })
}

/// The account a subscription watches: `NOT_FOUND` when the id is not an account the caller
/// may see (another account's id is refused exactly like an unknown one, T1).
pub async fn watched_account(ctx: &Context<'_>, account_id: &ID) -> Result<entity::account::Model> {
    let not_found = || coded(Code::NotFound, "no account with this id");
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

/// A subscription's feed and what makes each delivery its event.
pub struct Watch<T, F> {
    feed: Feed,
    on_event: F,
    ended: bool,
    item: PhantomData<fn() -> T>,
}

impl<T, F: FnMut(Arc<Delivery>) -> Step<T>> Watch<T, F> {
    fn new(feed: Feed, on_event: F) -> Self {
        Self {
            feed,
            on_event,
            ended: false,
            item: PhantomData,
        }
    }

    /// The next event; an error ends the subscription, and `None` follows it (or the server
    /// stopping). A subscriber that fell too far behind gets a `SLOW_CONSUMER` error; it may
    /// subscribe again and re-read.
    pub async fn next(&mut self) -> Option<Result<T>> {
        if self.ended {
            return None;
        }
        loop {
            let error = match self.feed.next().await {
                Next::Event(delivery) => match (self.on_event)(delivery) {
                    Step::Emit(item) => return Some(Ok(item)),
                    Step::Skip => continue,
                    Step::End(error) => error,
                },
                Next::Overflowed => coded(
                    Code::SlowConsumer,
                    "this subscription fell too far behind and was closed; subscribe again and re-read",
                ),
                Next::Closed => {
                    self.ended = true;
                    return None;
                }
            };
            self.ended = true;
            return Some(Err(error));
        }
    }
}

/// One event of any subscription field, as a parked subscription holds it until it is rendered.
pub type AnyEvent = Box<dyn Any + Send>;

/// A parked subscription's event, with the delivery it came from (whose subscribers may share
/// what they render of it).
pub type ParkedEvent = (Arc<Delivery>, AnyEvent);

/// What makes a delivery a parked subscription's event.
pub type ParkedStep = Box<dyn FnMut(Arc<Delivery>) -> Step<ParkedEvent> + Send>;

/// A subscription parked between its events: its feed, and what makes a delivery its event.
pub type Parked = Watch<ParkedEvent, ParkedStep>;

/// Put in a subscription's request data by the websocket: the resolver leaves its feed here
/// instead of returning a stream, so the socket keeps the feed alone between events (not
/// async-graphql's execution of the whole operation) and renders each event with [`Replay`].
#[derive(Clone, Default)]
pub struct Park(Arc<Mutex<Option<Parked>>>);

impl Park {
    /// Leaves `feed` here.
    fn leave(&self, feed: Parked) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(feed);
    }

    /// The parked feed, once the resolver has left it.
    pub fn take(&self) -> Option<Parked> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Put in the request data of a parked subscription's event: the resolver checks nothing and
/// opens nothing, and yields this event (or error) for async-graphql to render with the
/// operation's selection, exactly as the running subscription would have.
pub struct Replay(Mutex<Option<Result<AnyEvent>>>);

impl Replay {
    /// A replay of `outcome`.
    pub fn new(outcome: Result<AnyEvent>) -> Self {
        Self(Mutex::new(Some(outcome)))
    }
}

/// The event a replay renders, for a subscription resolver to return before any check:
/// `None` when this execution is not a replay.
pub fn replayed<T: Send + 'static>(ctx: &Context<'_>) -> Option<BoxStream<'static, Result<T>>> {
    let replay = ctx.data_opt::<Replay>()?;
    let Some(outcome) = replay.0.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return Some(stream::empty().boxed());
    };
    let event = outcome.and_then(|event| match event.downcast::<T>() {
        Ok(event) => Ok(*event),
        Err(_) => {
            tracing::error!("a replayed event is not the subscription's type");
            Err(coded(Code::Internal, "internal error"))
        }
    });
    Some(stream::once(future::ready(event)).boxed())
}

/// The events of `feed` as `on_event` shapes them (see [`Watch::next`]). Where the websocket
/// parks subscriptions ([`Park`]), the feed is left there and the stream is empty.
pub fn events<T: Send + 'static>(
    ctx: &Context<'_>,
    feed: Feed,
    mut on_event: impl FnMut(Arc<Delivery>) -> Step<T> + Send + 'static,
) -> BoxStream<'static, Result<T>> {
    if let Some(park) = ctx.data_opt::<Park>() {
        let on_event: ParkedStep = Box::new(move |d| match on_event(d.clone()) {
            Step::Emit(event) => Step::Emit((d, Box::new(event))),
            Step::Skip => Step::Skip,
            Step::End(error) => Step::End(error),
        });
        park.leave(Watch::new(feed, on_event));
        return stream::empty().boxed();
    }
    stream::unfold(Watch::new(feed, on_event), |mut watch| async move {
        watch.next().await.map(|event| (event, watch))
    })
    .boxed()
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
                data.insert(DbLoader::for_request(app.db.clone()));
                next.run_with_data(ctx, operation_name, data).await
            }
            _ => next.run(ctx, operation_name).await,
        }
    }
}
