//! The HTTP surface of `/graphql`: JSON in, `application/graphql-response+json` or
//! `application/json` out as `Accept` asks; authentication (401), per-token rate limit (429),
//! batches and malformed bodies refused (400), non-JSON (415), mutations over GET (405),
//! parse/validation failures 400, and a request timeout that rolls the transaction back.

use std::{
    borrow::Cow,
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

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
    codes::Code,
    graphql::{
        ReachSchema,
        common::loader::DbLoader,
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

/// A request answered before (or instead of) its GraphQL execution. It turns itself into the
/// response, so the handlers below refuse with `?`.
pub enum HttpError {
    /// Refused with one coded error, in GraphQL's shape, and maybe a header saying what to do.
    Refused {
        /// The HTTP status.
        status: StatusCode,
        /// The negotiated media type.
        media: &'static str,
        /// The error's code.
        code: Code,
        /// What the client is told.
        message: Cow<'static, str>,
        /// A header the status calls for (`WWW-Authenticate`, `Retry-After`, `Allow`).
        header: Option<(header::HeaderName, &'static str)>,
    },
    /// The GraphQL response that answers it (a document that does not parse, or breaks a limit).
    Answered(Box<Response>),
}

impl HttpError {
    /// Refused with `status` and one error of `code`.
    fn new(status: StatusCode, media: &'static str, code: Code, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Refused {
            status,
            media,
            code,
            message: message.into(),
            header: None,
        }
    }

    /// A `BAD_REQUEST` refusal with HTTP 400.
    fn bad_request(media: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, media, Code::BadRequest, message)
    }

    /// With the header `name: value`.
    fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        if let Self::Refused { header, .. } = &mut self {
            *header = Some((name, value));
        }
        self
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused {
                status,
                media,
                code,
                message,
                header,
            } => {
                let body = json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
                let mut resp = (
                    status,
                    [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
                    body.to_string(),
                )
                    .into_response();
                if let Some((name, value)) = header {
                    resp.headers_mut().insert(name, HeaderValue::from_static(value));
                }
                resp
            }
            Self::Answered(resp) => *resp,
        }
    }
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
        .map_err(|e| answered(e, media))
}

/// The GraphQL response of a request refused with `error`.
fn answered(error: async_graphql::ServerError, media: &'static str) -> HttpError {
    HttpError::Answered(Box::new(respond(GqlResponse::from_errors(vec![error]), media)))
}

/// Checks the parsed document's limits and sets it on `request`.
fn prepare(state: &ServerState, request: &mut Request, parsed: Parsed, media: &'static str) -> Result<(), HttpError> {
    (state.documents)
        .check(&state.limits, &request.query, &parsed, &request.variables)
        .map_err(|e| answered(e, media))?;
    request.set_parsed_query(parsed.doc);
    Ok(())
}

/// Runs one GraphQL request for `principal` within the request timeout, its document parsed and
/// checked by [`prepare`].
async fn execute(state: &ServerState, (principal, own): Caller, request: Request, media: &'static str) -> Response {
    let verbatim = Verbatim::default();
    let mut request = request
        .data(principal)
        .data(DbLoader::for_request(state.app.db.clone()))
        .data(verbatim.clone());
    if let Some(own) = own {
        request = request.data(own);
    }
    let Some(response) = within_deadline(&state.app, state.plain.execute(request)).await else {
        return HttpError::new(StatusCode::OK, media, Code::Timeout, TIMEOUT_MESSAGE).into_response();
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
                    let code = limits::validation_code(&e);
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
            HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                Code::Internal,
                "internal error",
            )
            .into_response()
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
            code_of(e).is_some_and(|c| c == Code::BadRequest.as_str() || c == Code::QueryTooComplex.as_str())
                || (code_of(e).is_none() && e.path.is_empty())
        })
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
    let mut request = read_request(&body).map_err(|message| HttpError::bad_request(media, message))?;
    let parsed = parse(&state, &request, media)?;
    prepare(&state, &mut request, parsed, media)?;
    Ok(execute(&state, principal, request, media).await)
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

fn not_acceptable() -> HttpError {
    let message = "accept application/graphql-response+json or application/json";
    HttpError::new(StatusCode::NOT_ACCEPTABLE, JSON, Code::BadRequest, message)
}

fn too_large(media: &'static str, limit: usize) -> HttpError {
    let message = format!("the request body is larger than {limit} bytes");
    HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, media, Code::BadRequest, message)
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
) -> Result<Response, HttpError> {
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
    prepare(&state, &mut request, parsed, media)?;
    Ok(execute(&state, principal, request, media).await)
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
