//! How the socket's operations run: each counted against the rate limit, queries and mutations
//! under the request deadline, and subscriptions that can park handed to [`super::parked`].

use std::sync::Arc;

use async_graphql::{
    Data, Executor, Request, Response as GqlResponse, ServerError, futures_util::stream::BoxStream,
    parser::types::OperationType,
};
use futures::{StreamExt, future, stream};

use super::parked;
use crate::codes::Code;
use crate::{
    graphql::{limits, live::LiveSession, order::Shape},
    http::{self, ServerState},
    metrics::{Metrics, Operation, Transport},
    telemetry,
};
use tracing::Instrument;

/// Runs the socket's operations with the admission HTTP gives a request: each one (query,
/// mutation or subscription) counts against the token subject's rate limit, and a query or
/// mutation runs under the request deadline (rolled back past it), with the same error codes.
/// A mutation wakes this process's readers of the log.
#[derive(Clone)]
pub(super) struct Exec {
    pub(super) server: Arc<ServerState>,
    /// The `traceparent` the upgrade request carried, when spans are exported: the socket's
    /// queries and mutations are children of the caller's span.
    pub(super) trace: Option<Arc<str>>,
}

impl Exec {
    /// A response carrying one coded error, as HTTP words it.
    fn refusal(code: Code, message: &str) -> GqlResponse {
        GqlResponse::from_errors(vec![limits::with_code(ServerError::new(message, None), code)])
    }
}

impl Executor for Exec {
    async fn execute(&self, request: Request) -> GqlResponse {
        self.server.schema.execute(request).await
    }

    fn execute_stream(&self, mut request: Request, session_data: Option<Arc<Data>>) -> BoxStream<'static, GqlResponse> {
        let app = &self.server.app;
        let subject = session_data
            .as_ref()
            .and_then(|d| d.get(&std::any::TypeId::of::<LiveSession>()))
            .and_then(|s| s.downcast_ref::<LiveSession>())
            .map(|s| s.connection.subject.clone());
        // async-graphql runs no operation before `connection_ack`, so there is always a subject.
        let Some(subject) = subject else {
            return stream::once(future::ready(Self::refusal(
                Code::Unauthenticated,
                "missing bearer token",
            )))
            .boxed();
        };
        if http::rate_limited(&self.server.limiter, &subject) {
            app.metrics.rate_limited();
            return stream::once(future::ready(Self::refusal(Code::RateLimited, "too many requests"))).boxed();
        }
        // The text is checked before it is parsed here, as the schema's own parse does.
        let name = request.operation_name.clone();
        // Never parsed before the precheck passed: a text nested too deep can overflow the
        // parser's stack (the schema's own parse, in its extension, refuses it with a code).
        let prechecked = limits::precheck(&request.query, app.settings.limits.max_query_length).is_ok();
        // The text for the operation's span, only when asked for (`[tracing] document`).
        let text = app.settings.tracing.document.then(|| request.query.clone());
        let kept = self.server.documents.kept(&request.query);
        let (subscription, parks, shape, operation, span) = if prechecked && let Ok(doc) = request.parsed_query() {
            let operation = http::metrics::operation_of(doc, name.as_deref());
            let subscription = limits::names_operation_of(doc, name.as_deref(), OperationType::Subscription);
            // The order answers go in. A subscription holds it as long as it is open: the
            // document its text's subscribers share once one has started (a copy each was
            // 1.7 KiB of every idle subscription's memory); else the picked operation's own
            // small copy. Either way `Shape` picks the operation by its name.
            let ordered = match kept.filter(|_| subscription) {
                Some(shared) => shared,
                None => {
                    let mut picked = doc.clone();
                    crate::graphql::picked::keep_picked(&mut picked, name.as_deref());
                    Arc::new(picked)
                }
            };
            (
                subscription,
                parked::parks(doc, name.as_deref()),
                Shape::of(ordered, name.as_deref()),
                operation,
                (!subscription).then(|| telemetry::spans::operation(operation, doc, name.as_deref(), text.as_deref())),
            )
        } else {
            (false, false, None, Operation::None, None)
        };
        // A query or mutation is validated and counted against the complexity limit as the
        // picked operation alone. A subscription keeps its whole document: parked ones share
        // documents by their text with HTTP's kept ones.
        if !subscription
            && prechecked
            && let Ok(doc) = request.parsed_query()
        {
            let mut doc = doc.clone();
            crate::graphql::picked::keep_picked(&mut doc, name.as_deref());
            request.set_parsed_query(doc);
        }
        let metrics = app.metrics.clone();
        let started = std::time::Instant::now();
        let responses = if let (true, Some(session)) = (subscription && parks, &session_data) {
            counted_at_first_answer(
                parked::subscribe(self.server.clone(), request, session.clone()),
                metrics,
                operation,
            )
        } else if subscription {
            let responses = Executor::execute_stream(&self.server.schema, request, session_data);
            counted_at_first_answer(responses, metrics, operation)
        } else {
            let app = app.clone();
            let mut responses = Executor::execute_stream(&self.server.schema, request, session_data);
            // Queries and mutations are traced as over HTTP; a subscription is not (a span
            // would live, and cost memory, as long as the subscription).
            let span = span.unwrap_or_else(tracing::Span::none);
            integrations::trace_context::follow(&span, self.trace.as_deref());
            stream::once(async move {
                let response = http::within_deadline(&app, responses.next())
                    .instrument(span.clone())
                    .await
                    .map(|r| r.unwrap_or_default())
                    .unwrap_or_else(|| Self::refusal(Code::Timeout, http::TIMEOUT_MESSAGE));
                telemetry::spans::outcome(&span, &response);
                let outcome = Metrics::outcome_of(&response);
                let seconds = Some(started.elapsed().as_secs_f64());
                metrics.operation(Transport::Websocket, operation, outcome, seconds);
                response
            })
            .boxed()
        };
        match shape {
            // Each response's fields in the order the document asks for them.
            Some(shape) => responses
                .map(move |mut response| {
                    shape.restore(&mut response.data);
                    response
                })
                .boxed(),
            None => responses,
        }
    }
}

/// A subscription counted in the metrics once, at its first answer: refused (the first answer's
/// error code), or `ok` at its first event, or when it ends (or the client stops it) before any.
fn counted_at_first_answer(
    responses: BoxStream<'static, GqlResponse>,
    metrics: Metrics,
    operation: Operation,
) -> BoxStream<'static, GqlResponse> {
    let mut once = Once {
        metrics,
        operation,
        counted: false,
    };
    responses
        .map(move |response| {
            once.count(Metrics::outcome_of(&response));
            response
        })
        .boxed()
}

/// Counts a subscription once: at its first answer, else (`ok`) when it goes.
struct Once {
    metrics: Metrics,
    operation: Operation,
    counted: bool,
}

impl Once {
    fn count(&mut self, outcome: Option<&str>) {
        if !self.counted {
            self.counted = true;
            (self.metrics).operation(Transport::Websocket, self.operation, outcome, None);
        }
    }
}

impl Drop for Once {
    fn drop(&mut self) {
        self.count(None);
    }
}
