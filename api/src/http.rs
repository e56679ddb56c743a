//! The HTTP surface of `/graphql`: JSON in, `application/graphql-response+json` or
//! `application/json` out as `Accept` asks; authentication (401), per-token rate limit (429),
//! batches and malformed bodies refused (400), non-JSON (415), mutations over GET (405),
//! parse/validation failures 400, and a request timeout that rolls the transaction back.

use std::{collections::HashMap, num::NonZeroU32, sync::Arc};

use async_graphql::{Request, Response as GqlResponse, parser::types::OperationType};
use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::{
    auth::AuthError,
    graphql::{
        ReachSchema,
        directory::loaders::DirectoryLoader,
        documents::{Documents, Parsed},
        limits,
        verbatim::Verbatim,
    },
    policy::Principal,
    state::AppState,
};

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

/// How long past the request timeout a request may run before it is cut off.
const HARD_LIMIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// Which media type to answer with, from `Accept`; `None` when neither is acceptable.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(JSON);
    };
    let mut best: Option<(&'static str, f32)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE => GRAPHQL_RESPONSE,
            JSON | "application/*" | "*/*" => JSON,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq || (q == bq && candidate == GRAPHQL_RESPONSE)) {
            best = Some((candidate, q));
        }
    }
    best.map(|(m, _)| m)
}

/// A response with GraphQL-shaped errors only.
fn error_response(status: StatusCode, media: &'static str, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
        body.to_string(),
    )
        .into_response()
}

/// The token of an `Authorization` value (`Bearer …`), if any.
pub(crate) fn bearer(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Checks `token` and loads who it is now (roles as of this moment), with a user's records.
pub(crate) async fn authenticate_token(
    app: &AppState,
    token: &str,
) -> Result<(Principal, Option<Own>, crate::auth::Claims), AuthError> {
    let claims = app.tokens.verify(token)?;
    let (principal, records) = app.tokens.principal(&app.db, &app.principals, &claims).await?;
    Ok((principal, records.map(|(user, account)| Own { user, account }), claims))
}

/// A user caller's own records, read with who they are: a request's data, so that reading them
/// (`me`, or `account` with their account's id) needs no statement of its own.
#[derive(Clone, Debug)]
pub struct Own {
    /// The caller's user.
    pub user: entity::user::Model,
    /// The caller's account.
    pub account: entity::account::Model,
}

/// Who the request is from: the principal and a user's own records.
type Caller = (Principal, Option<Own>);

async fn authenticate(app: &AppState, headers: &HeaderMap) -> Result<(Caller, String), AuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .ok_or(AuthError::Missing)?;
    let (principal, account, _) = authenticate_token(app, token).await?;
    let key = crate::auth::rate_key(&principal);
    Ok(((principal, account), key))
}

/// Authentication and rate limiting shared by POST and GET.
async fn admit(state: &ServerState, headers: &HeaderMap, media: &'static str) -> Result<Caller, Response> {
    let (principal, subject) = match authenticate(&state.app, headers).await {
        Ok(found) => found,
        Err(AuthError::Db(e)) => {
            tracing::error!(error = %e, "database error while authenticating");
            return Err(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                "INTERNAL",
                "service unavailable",
            ));
        }
        Err(e) => {
            let mut resp = error_response(StatusCode::UNAUTHORIZED, media, "UNAUTHENTICATED", &e.to_string());
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Err(resp);
        }
    };
    if rate_limited(&state.limiter, &subject) {
        let mut resp = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            media,
            "RATE_LIMITED",
            "too many requests",
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(resp);
    }
    Ok(principal)
}

/// Runs `work` (one query or mutation) under the request deadline: writes check it before they
/// commit (and roll back past it); the hard limit a little later only cuts off work that hangs,
/// dropping its open transaction (a rollback). `None` when the hard limit cut it off. HTTP and
/// the websocket both run their operations through this.
pub(crate) async fn within_deadline<F: std::future::Future>(
    timeout: std::time::Duration,
    work: F,
) -> Option<F::Output> {
    let deadline = std::time::Instant::now() + timeout;
    let work = crate::db::with_deadline(deadline, work);
    tokio::time::timeout(timeout + HARD_LIMIT_GRACE, work).await.ok()
}

/// What a request cut off by the deadline is told.
pub(crate) const TIMEOUT_MESSAGE: &str = "the request took too long and was cancelled";

/// Whether the caller with rate-limit key `subject` ([`crate::auth::rate_key`]) has used up its requests for now.
pub(crate) fn rate_limited(limiter: &Limiter, subject: &str) -> bool {
    limiter.check_key(&subject.to_owned()).is_err()
}

/// What the document of a request runs: a query, or something that may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runs {
    /// Queries only.
    Query,
    /// A mutation (or a subscription, which the schema refuses over HTTP).
    Mutation,
}

/// Checks the text of `request` (length, nesting), parses it once (or copies the document kept
/// for the same text) and hands the document to the execution. `Err` is the response to give: a
/// document that does not parse.
fn parse(state: &ServerState, request: &Request, media: &'static str) -> Result<Parsed, Box<Response>> {
    state
        .documents
        .parse(&state.limits, &request.query)
        .map_err(|e| Box::new(respond(GqlResponse::from_errors(vec![e]), media)))
}

/// Checks the parsed document's limits and sets it on `request`; what it runs.
fn prepare(
    state: &ServerState,
    request: &mut Request,
    parsed: Parsed,
    media: &'static str,
) -> Result<Runs, Box<Response>> {
    let checked = state
        .documents
        .check(&state.limits, &request.query, &parsed, &request.variables);
    if let Err(e) = checked {
        return Err(Box::new(respond(GqlResponse::from_errors(vec![e]), media)));
    }
    let doc = parsed.doc;
    let name = request.operation_name.as_deref();
    let runs = if limits::names_operation_of(&doc, name, OperationType::Query)
        && !limits::names_operation_of(&doc, name, OperationType::Mutation)
        && !limits::names_operation_of(&doc, name, OperationType::Subscription)
    {
        Runs::Query
    } else {
        Runs::Mutation
    };
    request.set_parsed_query(doc);
    Ok(runs)
}

/// Runs one GraphQL request for `principal` within the request timeout, its document parsed and
/// checked by [`prepare`].
async fn execute(state: &ServerState, (principal, own): Caller, request: Request, media: &'static str) -> Response {
    let verbatim = Verbatim::default();
    let mut request = request
        .data(principal)
        .data(DirectoryLoader::for_request(state.app.db.clone()))
        .data(verbatim.clone());
    if let Some(own) = own {
        request = request.data(own);
    }
    let timeout = state.app.settings.request_timeout();
    let Some(response) = within_deadline(timeout, state.plain.execute(request)).await else {
        return error_response(StatusCode::OK, media, "TIMEOUT", TIMEOUT_MESSAGE);
    };
    respond_with(response, media, &verbatim)
}

/// The HTTP answer for a GraphQL response: 400 for an error of the request as a whole.
fn respond(response: GqlResponse, media: &'static str) -> Response {
    respond_with(response, media, &Verbatim::default())
}

/// [`respond`], with the JSON that `verbatim` holds in place of its markers.
fn respond_with(mut response: GqlResponse, media: &'static str, verbatim: &Verbatim) -> Response {
    let status = if is_request_error(&response) {
        // Errors of the request as a whole (validation, an unknown operation) carry no code of
        // their own: mark them, like parse failures.
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| {
                if code_of(&e).is_some() {
                    e
                } else {
                    // Validation (the plain schema has no extension to code it).
                    let code = limits::validation_code(&e.message);
                    limits::with_code(e, code)
                }
            })
            .collect();
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match serde_json::to_vec(&response) {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
            verbatim.splice(body),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a response");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, media, "INTERNAL", "internal error")
        }
    }
}

fn code_of(error: &async_graphql::ServerError) -> Option<&str> {
    match error.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(code)) => Some(code),
        _ => None,
    }
}

/// A request that failed before any field ran: no data, and errors that are either coded as
/// request errors or belong to no field (a field's error always has a path).
fn is_request_error(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            matches!(code_of(e), Some(limits::BAD_REQUEST | limits::TOO_COMPLEX))
                || (code_of(e).is_none() && e.path.is_empty())
        })
}

/// `POST /graphql`. The caller is authenticated before the body is read; the body may then be
/// as large as `limits.max_body_bytes_authenticated` (a 1,000-row bulk mutation fits), and a
/// body declared larger is refused before it is read.
pub async fn graphql_post(State(state): State<ServerState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let Some(media) = negotiate(headers) else {
        return not_acceptable();
    };
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::JSON);
    if !json_body {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "BAD_REQUEST",
            "Content-Type must be application/json",
        );
    }
    let limits = &state.app.settings.limits;
    // Before authenticating (a database read), refuse what no caller may send.
    if declared_length(headers).is_some_and(|n| n > limits.max_body_bytes_authenticated) {
        return too_large(media, limits.max_body_bytes_authenticated);
    }
    let principal = match admit(&state, headers, media).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let body = match read_body(body, limits.max_body_bytes_authenticated).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return too_large(media, limits.max_body_bytes_authenticated),
        Err(BodyError::Unreadable) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                "the body could not be read",
            );
        }
    };
    let request = match read_request(&body) {
        Ok(request) => request,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", message),
    };
    let mut request = request;
    let runs = match parse(&state, &request, media).and_then(|doc| prepare(&state, &mut request, doc, media)) {
        Ok(runs) => runs,
        Err(resp) => return *resp,
    };
    let response = execute(&state, principal, request, media).await;
    // A mutation may commit a change: retire kept principals, and wake this process's plugins
    // rather than let them find it at their next poll.
    if runs == Runs::Mutation {
        state.app.committed();
    }
    response
}

/// The GraphQL request a POST body holds, or why it holds none. An object is read straight
/// into the request (one pass); anything else, and an object that does not read so, is read as
/// JSON first to say what is wrong: not JSON, a batch (an array), or not a request. (A struct
/// also reads from a JSON array, hence the array is looked for first.)
fn read_request(body: &[u8]) -> Result<Request, &'static str> {
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if object && let Ok(request) = serde_json::from_slice::<Request>(body) {
        return Ok(request);
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Err("the body is not valid JSON");
    };
    if value.is_array() {
        return Err("batched requests are not supported");
    }
    serde_json::from_value(value).map_err(|_| "the body must be an object with a `query` string")
}

fn not_acceptable() -> Response {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        JSON,
        "BAD_REQUEST",
        "accept application/graphql-response+json or application/json",
    )
}

fn too_large(media: &'static str, limit: usize) -> Response {
    let message = format!("the request body is larger than {limit} bytes");
    error_response(StatusCode::PAYLOAD_TOO_LARGE, media, "BAD_REQUEST", &message)
}

/// The `Content-Length` a request declares, if any.
fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads at most `limit` bytes of `body`, whatever its `Content-Length` claims.
async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// `GET /graphql?query=…`: queries only. The caller is authenticated and the text checked for
/// length and nesting before it is parsed; a mutation over GET is then 405.
pub async fn graphql_get(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let Some(query) = params.get("query") else {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            "missing `query` parameter",
        );
    };
    let principal = match admit(&state, &headers, media).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let operation = params.get("operationName");
    let mut request = Request::new(query.clone());
    if let Some(op) = operation {
        request = request.operation_name(op.clone());
    }
    let parsed = match parse(&state, &request, media) {
        Ok(parsed) => parsed,
        Err(resp) => return *resp,
    };
    let name = operation.map(String::as_str);
    if limits::names_operation_of(&parsed.doc, name, OperationType::Mutation)
        || limits::names_operation_of(&parsed.doc, name, OperationType::Subscription)
    {
        let mut resp = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "BAD_REQUEST",
            "mutations must use POST",
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    if let Some(vars) = params.get("variables") {
        match serde_json::from_str(vars) {
            Ok(v) => request = request.variables(async_graphql::Variables::from_json(v)),
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    "BAD_REQUEST",
                    "`variables` is not valid JSON",
                );
            }
        }
    }
    match prepare(&state, &mut request, parsed, media) {
        Ok(_) => execute(&state, principal, request, media).await,
        Err(resp) => *resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(header::ACCEPT, v);
        }
        h
    }

    #[test]
    fn a_body_reads_as_one_request_or_says_why_not() {
        let ok = read_request(br#" {"query": "{ a }", "variables": {"x": [1, {"y": null}]}, "operationName": null}"#)
            .map(|r| (r.query, r.variables.into_value().into_json().ok()));
        assert_eq!(
            ok,
            Ok(("{ a }".to_owned(), Some(serde_json::json!({"x": [1, {"y": null}]}))))
        );
        // Duplicate keys read as JSON does (the last wins).
        let twice = read_request(br#"{"query": "{ a }", "query": "{ b }"}"#).map(|r| r.query);
        assert_eq!(twice, Ok("{ b }".to_owned()));
        let why = |body: &[u8]| read_request(body).err();
        assert_eq!(why(b"{\"query\": "), Some("the body is not valid JSON"));
        assert_eq!(why(b""), Some("the body is not valid JSON"));
        assert_eq!(
            why(br#"[{"query": "{ a }"}]"#),
            Some("batched requests are not supported")
        );
        assert_eq!(why(br#"["{ a }"]"#), Some("batched requests are not supported"));
        assert_eq!(
            why(br#"{"query": 5}"#),
            Some("the body must be an object with a `query` string")
        );
        assert_eq!(why(b"42"), Some("the body must be an object with a `query` string"));
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(JSON));
        assert_eq!(negotiate(&accept("application/json")), Some(JSON));
        assert_eq!(negotiate(&accept(GRAPHQL_RESPONSE)), Some(GRAPHQL_RESPONSE));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json, application/json;q=0.9")),
            Some(GRAPHQL_RESPONSE)
        );
        assert_eq!(
            negotiate(&accept("application/json, application/graphql-response+json;q=0.5")),
            Some(JSON)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(JSON));
        assert_eq!(negotiate(&accept("text/html")), None);
    }
}
