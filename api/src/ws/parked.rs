//! Subscriptions that keep only their feed between events (issue 17: memory per idle
//! subscription).
//!
//! Run as async-graphql runs it, a subscription holds its whole execution for as long as it is
//! open — the parsed operation, the query environment, the stream of its root field and their
//! futures, about 8 KiB — though it spends nearly all that time waiting for an event. Here it is
//! started as before (the document's limits, validation, the resolver's checks of the caller's
//! rights, the feed opened under the limits), but the resolver leaves its feed in a [`Park`]
//! and the execution ends. The socket then holds the operation's text and variables and the
//! feed. Each event the feed gives is rendered by running the operation once more with the
//! event in a [`Replay`]: the resolver checks nothing and opens nothing, and async-graphql
//! shapes the event (or the error that ends the subscription) exactly as the running
//! subscription would have, with a loader of its own.
//!
//! A delivery's subscribers that would render it alike — the same document (subscriptions of one
//! text share it), operation, variables and principal — render it once: the first keeps what it
//! rendered on the delivery for the others.
//!
//! Only an operation with one root field, without directives, is parked (every client's
//! subscription is one); anything else runs as async-graphql runs it.

use std::{any::TypeId, sync::Arc};

use async_graphql::{
    Data, Request, Response, Result, ServerError, Value, Variables,
    futures_util::stream::BoxStream,
    parser::types::{DocumentOperations, ExecutableDocument, Selection},
};
use futures::{StreamExt, stream};
use tokio::sync::OnceCell;

use crate::codes::Code;
use crate::{
    graphql::{
        common::loader::DbLoader,
        limits,
        live::{AnyEvent, Park, Parked, ParkedEvent, Replay},
    },
    http::ServerState,
    live::ParkedCount,
    policy::Principal,
};

/// Whether the operation to run is a subscription of one plain root field (see the module).
pub fn parks(doc: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => op,
            None => return false,
        },
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => match ops.values().next() {
            Some(op) => op,
            None => return false,
        },
        _ => return false,
    };
    match operation.node.selection_set.node.items.as_slice() {
        [one] => matches!(&one.node, Selection::Field(f)
            if f.node.directives.is_empty() && f.node.name.node.as_str() != "__typename"),
        _ => false,
    }
}

/// What a parked subscription keeps to render its events.
struct Operation {
    /// Shared by the subscriptions of the same text ([`crate::graphql::documents::Documents::share`]).
    doc: Arc<ExecutableDocument>,
    variables: Variables,
    operation_name: Option<String>,
}

enum Stage {
    /// The operation runs once to leave its feed; any response it gives (an error) is passed on.
    Starting {
        start: BoxStream<'static, Response>,
        park: Park,
        query: String,
        /// The operation as the request gave it, until the start has passed the limits.
        given: Option<(ExecutableDocument, Variables, Option<String>)>,
    },
    Parked(Parked, Operation),
}

struct Subscription {
    server: Arc<ServerState>,
    session: Arc<Data>,
    stage: Stage,
    /// Counted in [`crate::live::Live::parked`] once parked.
    counted: Option<ParkedCount>,
}

/// The responses of the subscription `request` (which [`parks`]), run on `server`'s schema
/// with the socket's `session` data.
pub fn subscribe(server: Arc<ServerState>, mut request: Request, session: Arc<Data>) -> BoxStream<'static, Response> {
    // `ws` parsed it to see that it parks; a copy is kept until the start has passed the limits.
    let Ok(doc) = request.parsed_query().cloned() else {
        return server.schema.execute_stream_with_session_data(request, session);
    };
    let park = Park::default();
    let query = request.query.clone();
    request.data.insert(park.clone());
    let given = Some((doc, request.variables.clone(), request.operation_name.clone()));
    let start = server.schema.execute_stream_with_session_data(request, session.clone());
    let subscription = Subscription {
        server,
        session,
        stage: Stage::Starting {
            start,
            park,
            query,
            given,
        },
        counted: None,
    };
    stream::unfold(subscription, |mut s| async move {
        loop {
            match &mut s.stage {
                Stage::Starting {
                    start,
                    park,
                    query,
                    given,
                } => {
                    if let Some(response) = start.next().await {
                        return Some((response, s));
                    }
                    let feed = park.take()?;
                    let (doc, variables, operation_name) = given.take()?;
                    let doc = s.server.documents.share(query, doc);
                    let op = Operation {
                        doc,
                        variables,
                        operation_name,
                    };
                    s.stage = Stage::Parked(feed, op);
                    s.counted = Some(s.server.app.live.count_parked());
                }
                Stage::Parked(feed, op) => {
                    let outcome = feed.next().await?;
                    // Boxed: inline, the rendering's state (a whole request) would be part of
                    // every idle subscription's (232 bytes boxed, about 1 KiB inline).
                    let response = Box::pin(shared_render(&s.server, &s.session, op, outcome)).await;
                    return Some((response, s));
                }
            }
        }
    })
    .boxed()
}

/// An event as rendered for one document, operation, variables and principal: the same for
/// every subscriber of the delivery with the same four (the rendering reads nothing else).
struct Rendered {
    doc: Arc<ExecutableDocument>,
    operation_name: Option<String>,
    variables: Variables,
    principal: Option<Principal>,
    /// Set by the first subscriber to render it; the others wait for it.
    response: OnceCell<(Value, Vec<ServerError>)>,
}

/// The response for one event, rendered once for the delivery's subscribers that would render
/// it alike (100 sockets of one user watching their status: one rendering, not 100).
async fn shared_render(
    server: &ServerState,
    session: &Arc<Data>,
    op: &Operation,
    outcome: Result<ParkedEvent>,
) -> Response {
    let (delivery, event) = match outcome {
        Ok(delivered) => delivered,
        Err(ending) => return render(server, session, op, Err(ending)).await,
    };
    let principal = session
        .get(&TypeId::of::<Principal>())
        .and_then(|p| p.downcast_ref::<Principal>());
    let same = |r: &Rendered| {
        Arc::ptr_eq(&r.doc, &op.doc)
            && r.operation_name == op.operation_name
            && r.variables == op.variables
            && r.principal.as_ref() == principal
    };
    let make = || Rendered {
        doc: op.doc.clone(),
        operation_name: op.operation_name.clone(),
        variables: op.variables.clone(),
        principal: principal.cloned(),
        response: OnceCell::new(),
    };
    let Some(shared) = delivery.shared.get_or_keep(same, make) else {
        return render(server, session, op, Ok(event)).await;
    };
    let (data, errors) = shared
        .response
        .get_or_init(|| async {
            let response = render(server, session, op, Ok(event)).await;
            (response.data, response.errors)
        })
        .await;
    let mut response = Response::new(data.clone());
    response.errors = errors.clone();
    response
}

/// The response for one event (or the error that ends the subscription).
async fn render(server: &ServerState, session: &Arc<Data>, op: &Operation, outcome: Result<AnyEvent>) -> Response {
    // The document passed every limit when the subscription started; its text is not read
    // again (the plain schema has no extension).
    let mut request = Request::new(String::new()).variables(op.variables.clone());
    request.operation_name = op.operation_name.clone();
    request.set_parsed_query(op.doc.as_ref().clone());
    let request = request
        .data(Replay::new(outcome))
        .data(DbLoader::for_request(server.app.db.clone()));
    let mut responses = server.plain.execute_stream_with_session_data(request, session.clone());
    responses.next().await.unwrap_or_else(|| {
        tracing::error!("a parked subscription's event rendered nothing");
        let error = ServerError::new("internal error", None);
        Response::from_errors(vec![limits::with_code(error, Code::Internal)])
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::parks;

    fn parks_text(text: &str, name: Option<&str>) -> bool {
        parks(&parse_query(text).unwrap(), name)
    }

    #[test]
    fn only_one_plain_root_field_is_parked() {
        assert!(parks_text("subscription { a { b } }", None));
        assert!(parks_text("subscription S { x: a(i: 1) { b } }", None));
        assert!(parks_text(
            "subscription S { a { b } } subscription T { a { b } c }",
            Some("S")
        ));
        // Two fields, a directive, a fragment or `__typename` at the root: run whole.
        assert!(!parks_text("subscription { a { b } c { d } }", None));
        assert!(!parks_text("subscription { a @include(if: true) { b } }", None));
        assert!(!parks_text("subscription { ... on Subscription { a { b } } }", None));
        assert!(!parks_text("subscription { __typename }", None));
        // Which operation runs is not clear, or names none there is: async-graphql says why.
        assert!(!parks_text(
            "subscription S { a { b } } subscription T { a { b } }",
            None
        ));
        assert!(!parks_text("subscription S { a { b } }", Some("T")));
        assert!(!parks_text(
            "subscription S { a { b } } subscription T { a { b } c }",
            Some("T")
        ));
    }
}
