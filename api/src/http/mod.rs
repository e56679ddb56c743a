//! The HTTP surface of `/graphql`: JSON in, `application/graphql-response+json` or
//! `application/json` out as `Accept` asks; authentication (401), per-token rate limit (429),
//! batches and malformed bodies refused (400), non-JSON (415), mutations over GET (405),
//! parse/validation failures 400, a request timeout that rolls the transaction back, and a
//! browser opening `/graphql` sent to GraphiQL (303).

mod body;
mod media;
pub mod metrics;
mod response;

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Request,
    parser::types::{ExecutableDocument, OperationType},
};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::Instrument;

use crate::{
    auth::{AuthError, Own},
    codes::Code,
    graphql::{
        ReachSchema,
        common::loader::DbLoader,
        direct::Direct,
        documents::{Documents, Parsed, Validation},
        errors::code_of,
        limits,
        order::Shape,
        picked,
        verbatim::Verbatim,
    },
    metrics::{Metrics, Operation, Transport},
    policy::Principal,
    state::AppState,
    telemetry,
};
use body::{BodyError, declared_length, read_body, read_request};
use media::negotiate;
use response::{answered, not_acceptable, respond_with, too_large};

pub use response::HttpError;

/// Per-token-subject request rate limiter.
pub type Limiter = DefaultKeyedRateLimiter<String>;

/// State of the HTTP layer.
#[derive(Clone)]
pub struct ServerState {
    /// Shared application state.
    pub app: AppState,
    /// The executable schema (with the app state as data) with its extensions: everything on
    /// the websocket.
    pub schema: ReachSchema,
    /// The same schema without extensions, for queries and mutations over HTTP
    /// ([`crate::startup::plain_schema`]).
    pub plain: ReachSchema,
    /// `plain` without the validation rules a document passed already: for a kept document
    /// without variables that passed them before ([`Documents::validation`]).
    pub validated: ReachSchema,
    /// The document limits of the settings, which HTTP checks itself before `plain` runs.
    pub limits: limits::DocumentLimits,
    /// Documents that passed those limits, kept parsed by their text.
    pub documents: Arc<Documents>,
    /// Rate limiter keyed by token subject.
    pub limiter: Arc<Limiter>,
}

/// A limiter allowing `per_second` requests a second with `burst` on top, per key.
pub fn limiter(per_second: u32, burst: u32) -> Arc<Limiter> {
    let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)))
}

/// Where a browser that opens `/graphql` is sent: the GraphiQL page.
const GRAPHIQL: &str = "/graphiql";

/// How long past the request timeout a request may run before it is cut off.
const HARD_LIMIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The token of an `Authorization` value (`Bearer …`), if any.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Who the request is from: the principal and a user's own records.
type Caller = (Principal, Option<Own>);

async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<(Caller, String), AuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .ok_or(AuthError::Missing)?;
    let (principal, account, _) = app.authenticate(token).await?;
    let key = crate::auth::rate_key(&principal);
    Ok(((principal, account), key))
}

/// Authentication and rate limiting shared by POST and GET.
async fn admit(state: &ServerState, headers: &HeaderMap, media: &'static str) -> Result<Caller, HttpError> {
    let (principal, subject) = authenticate(&state.app, headers).await.map_err(|e| match e {
        AuthError::Db(e) => {
            tracing::error!(error = %e, "database error while authenticating");
            HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                Code::Internal,
                "service unavailable",
            )
        }
        e => HttpError::new(StatusCode::UNAUTHORIZED, media, Code::Unauthenticated, e.to_string())
            .with_header(header::WWW_AUTHENTICATE, "Bearer"),
    })?;
    if rate_limited(&state.limiter, &subject) {
        state.app.metrics.rate_limited();
        let refused = HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            media,
            Code::RateLimited,
            "too many requests",
        );
        return Err(refused.with_header(header::RETRY_AFTER, "1"));
    }
    Ok(principal)
}

/// Runs `work` (one query or mutation) under the request deadline: writes check it before they
/// commit (and roll back past it); the hard limit a little later only cuts off work that hangs,
/// dropping its open transaction (a rollback). `None` when the hard limit cut it off. HTTP and
/// the websocket both run their operations through this.
///
/// When a write of `work` committed (`service::commit` says so), kept principals are retired
/// and this process's plugins and readers of the log are woken, rather than left to find the
/// change at their next poll.
pub(crate) async fn within_deadline<F: std::future::Future>(app: &AppState, work: F) -> Option<F::Output> {
    let timeout = app.settings.request_timeout();
    let deadline = std::time::Instant::now() + timeout;
    let committed = Arc::new(AtomicBool::new(false));
    let work = crate::db::within_scope(deadline, committed.clone(), work);
    let done = tokio::time::timeout(timeout + HARD_LIMIT_GRACE, work).await.ok();
    if committed.load(Ordering::Relaxed) {
        app.committed();
    }
    done
}

/// What a request cut off by the deadline is told.
pub(crate) const TIMEOUT_MESSAGE: &str = "the request took too long and was cancelled";

/// Whether the caller with rate-limit key `subject` ([`crate::auth::rate_key`]) has used up its requests for now.
pub(crate) fn rate_limited(limiter: &Limiter, subject: &str) -> bool {
    limiter.check_key(&subject.to_owned()).is_err()
}

/// Checks the text of `request` (length, nesting), parses it once (or copies the document kept
/// for the same text) and hands the document to the execution. `Err` is the response to give: a
/// document that does not parse.
fn parse(state: &ServerState, request: &Request, media: &'static str) -> Result<Parsed, HttpError> {
    state
        .documents
        .parse(&state.limits, &request.query)
        .map_err(|e| refused_document(state, e, media))
}

/// The answer to a document refused before it ran (it does not parse, or breaks a limit),
/// counted as an operation of no type.
fn refused_document(state: &ServerState, error: async_graphql::ServerError, media: &'static str) -> HttpError {
    let code = code_of(&error);
    (state.app.metrics).operation(
        Transport::Http,
        Operation::None,
        Some(code.unwrap_or("bad_request")),
        None,
    );
    answered(error, media)
}

/// Checks the parsed document's limits; answers what running it needs from the document: the
/// document itself, the operation's type, its span and whether it passed validation before.
fn prepare(state: &ServerState, request: &Request, parsed: Parsed, media: &'static str) -> Result<Prepared, HttpError> {
    (state.documents)
        .check(&state.limits, &request.query, &parsed, &request.variables)
        .map_err(|e| refused_document(state, e, media))?;
    let name = request.operation_name.as_deref();
    let validation = state.documents.validation(&request.query, name, &parsed);
    let operation = metrics::operation_of(&parsed.doc, name);
    let document = state.app.settings.tracing.document.then_some(request.query.as_str());
    let span = telemetry::spans::operation(operation, &parsed.doc, name, document);
    Ok(Prepared {
        doc: parsed.doc,
        operation,
        span,
        validation,
    })
}

/// What answering a request needs from its checked document.
struct Prepared {
    /// The document (shared with the kept one).
    doc: Arc<ExecutableDocument>,
    /// The operation's type, for the metrics.
    operation: Operation,
    /// The operation's span (a child of the request's).
    span: tracing::Span,
    /// Whether its document passed validation before, or is to be recorded when it does.
    validation: Validation,
}

/// Runs one GraphQL request for `principal` within the request timeout, its document parsed and
/// checked by [`prepare`]: answered directly ([`Direct`]) when its document passed validation
/// before and is one of those, else by the executor.
async fn execute(
    state: &ServerState,
    caller: Caller,
    (request, prepared): (Request, Prepared),
    media: &'static str,
) -> Response {
    let started = std::time::Instant::now();
    let verbatim = Verbatim::default();
    if prepared.validation == Validation::Passed
        && let Some(direct) = Direct::of(&prepared.doc, request.operation_name.as_deref(), &verbatim)
        && let Some(response) = answer_directly(state, &caller, &direct, &prepared, (media, started), &verbatim).await
    {
        return response;
    }
    let (principal, own) = caller;
    let name = request.operation_name.as_deref();
    // The response is put in the order of the operation picked: the document as sent serves.
    let shape = Shape::of(prepared.doc.clone(), name);
    let mut doc = Arc::unwrap_or_clone(prepared.doc);
    // Only the picked operation is validated and counted against the complexity limit.
    picked::keep_picked(&mut doc, name);
    // Shared with a direct answer that fell back to the executor: it held nothing (a page is
    // held only when it is answered), and a text held but never marked would only be unused.
    let mut request = request
        .data(principal)
        .data(DbLoader::for_request(state.app.db.clone()))
        .data(verbatim.clone());
    request.set_parsed_query(doc);
    if let Some(own) = own {
        request = request.data(own);
    }
    let metrics = &state.app.metrics;
    let span = prepared.span;
    let schema = match prepared.validation {
        Validation::Passed => &state.validated,
        Validation::Record(_) | Validation::Always => &state.plain,
    };
    // Boxed once here, the execution's large future is not copied again by each wrapper below
    // and by every future that holds this one (about 25 KB a request, issue 17).
    let run = Box::pin(schema.execute(request));
    let work = within_deadline(&state.app, run).instrument(span.clone());
    let Some(mut response) = work.await else {
        return timed_out(state, &span, prepared.operation, started, media);
    };
    if let Validation::Record(key) = &prepared.validation
        && !response::is_request_error(&response)
    {
        state.documents.passed(key);
    }
    telemetry::spans::outcome(&span, &response);
    let outcome = Metrics::outcome_of(&response);
    metrics.operation(
        Transport::Http,
        prepared.operation,
        outcome,
        Some(started.elapsed().as_secs_f64()),
    );
    if let Some(shape) = shape {
        shape.restore(&mut response.data);
    }
    respond_with(response, media, &verbatim)
}

/// The answer to a request [`Direct`] can answer; `None` when the executor is to answer it
/// after all (the caller, the arguments or the database).
async fn answer_directly(
    state: &ServerState,
    (principal, own): &Caller,
    direct: &Direct<'_>,
    prepared: &Prepared,
    (media, started): (&'static str, std::time::Instant),
    verbatim: &Verbatim,
) -> Option<Response> {
    let work = direct.answer(&state.app.db, principal, own.as_ref());
    let span = &prepared.span;
    let Some(data) = within_deadline(&state.app, work).instrument(span.clone()).await else {
        return Some(timed_out(state, span, prepared.operation, started, media));
    };
    let response = async_graphql::Response::new(data?);
    telemetry::spans::outcome(span, &response);
    let metrics = &state.app.metrics;
    let seconds = started.elapsed().as_secs_f64();
    metrics.operation(Transport::Http, prepared.operation, None, Some(seconds));
    metrics.answered_directly();
    Some(respond_with(response, media, verbatim))
}

/// The answer to a request the hard limit cut off.
fn timed_out(
    state: &ServerState,
    span: &tracing::Span,
    operation: Operation,
    started: std::time::Instant,
    media: &'static str,
) -> Response {
    span.record("otel.status_code", "ERROR");
    let seconds = started.elapsed().as_secs_f64();
    (state.app.metrics).operation(Transport::Http, operation, Some(Code::Timeout.as_str()), Some(seconds));
    HttpError::new(StatusCode::OK, media, Code::Timeout, TIMEOUT_MESSAGE).into_response()
}

/// `POST /graphql`. The caller is authenticated before the body is read; the body may then be
/// as large as `limits.max_body_bytes_authenticated` (a 1,000-row bulk mutation fits), and a
/// body declared larger is refused before it is read.
pub async fn graphql_post(
    State(state): State<ServerState>,
    request: axum::extract::Request,
) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let media = negotiate(headers).ok_or_else(not_acceptable)?;
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::JSON);
    if !json_body {
        let message = "Content-Type must be application/json";
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            Code::BadRequest,
            message,
        ));
    }
    let limit = state.app.settings.limits.max_body_bytes_authenticated;
    // Before authenticating (a database read), refuse what no caller may send.
    if declared_length(headers).is_some_and(|n| n > limit) {
        return Err(too_large(media, limit));
    }
    let principal = admit(&state, headers, media).await?;
    let body = read_body(body, limit).await.map_err(|e| match e {
        BodyError::TooLarge => too_large(media, limit),
        BodyError::Unreadable => HttpError::bad_request(media, "the body could not be read"),
    })?;
    let request = read_request(&body).map_err(|message| HttpError::bad_request(media, message))?;
    let parsed = parse(&state, &request, media)?;
    let prepared = prepare(&state, &request, parsed, media)?;
    Ok(execute(&state, principal, (request, prepared), media).await)
}

/// `GET /graphql?query=…`: queries only. The caller is authenticated and the text checked for
/// length and nesting before it is parsed; a mutation over GET is then 405. A browser opening
/// the address (an `Accept` that prefers `text/html`, no `query`) is sent to GraphiQL instead
/// (303), before authentication: it has no token to send.
pub async fn graphql_get(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    if !params.contains_key("query") && media::prefers_html(&headers) {
        return Ok(Redirect::to(GRAPHIQL).into_response());
    }
    let media = negotiate(&headers).ok_or_else(not_acceptable)?;
    let query = (params.get("query")).ok_or_else(|| HttpError::bad_request(media, "missing `query` parameter"))?;
    let principal = admit(&state, &headers, media).await?;
    let operation = params.get("operationName");
    let mut request = Request::new(query.clone());
    if let Some(op) = operation {
        request = request.operation_name(op.clone());
    }
    let parsed = parse(&state, &request, media)?;
    let name = operation.map(String::as_str);
    if limits::names_operation_of(&parsed.doc, name, OperationType::Mutation)
        || limits::names_operation_of(&parsed.doc, name, OperationType::Subscription)
    {
        let refused = HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            Code::BadRequest,
            "mutations must use POST",
        );
        return Err(refused.with_header(header::ALLOW, "POST"));
    }
    if let Some(vars) = params.get("variables") {
        let v =
            serde_json::from_str(vars).map_err(|_| HttpError::bad_request(media, "`variables` is not valid JSON"))?;
        request = request.variables(async_graphql::Variables::from_json(v));
    }
    let prepared = prepare(&state, &request, parsed, media)?;
    Ok(execute(&state, principal, (request, prepared), media).await)
}
