//! `GET /metrics`: on the main listener for Support tokens only; on `[metrics] listen` for
//! whoever reaches that address. And what an HTTP operation counts as ([`operation_of`]).

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{HttpError, ServerState, bearer, media::JSON};
use crate::{
    codes::Code,
    metrics::{CONTENT_TYPE, Operation},
    policy::Principal,
    state::AppState,
};

/// `/metrics` on the main listener: Support only (the figures describe every tenant).
pub async fn for_support(State(state): State<ServerState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .ok_or_else(|| unauthenticated("missing bearer token"))?;
    let (principal, _, _) = state
        .app
        .authenticate(token)
        .await
        .map_err(|e| unauthenticated(e.to_string()))?;
    if !matches!(principal, Principal::Support { .. }) {
        let message =
            "only Support may read /metrics here; set `metrics.listen` to serve them on an address of their own";
        return Err(HttpError::new(StatusCode::FORBIDDEN, JSON, Code::Forbidden, message));
    }
    Ok(open(State(state.app)).await)
}

/// `/metrics` on `[metrics] listen`: no token.
pub async fn open(State(app): State<AppState>) -> Response {
    match app.metrics.render(&app.db).await {
        Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the metrics from the database");
            (StatusCode::SERVICE_UNAVAILABLE, "the database did not answer").into_response()
        }
    }
}

fn unauthenticated(message: impl Into<std::borrow::Cow<'static, str>>) -> HttpError {
    HttpError::new(StatusCode::UNAUTHORIZED, JSON, Code::Unauthenticated, message)
        .with_header(header::WWW_AUTHENTICATE, "Bearer")
}

/// The type of the operation `name` picks in `doc` (`None` when it picks none).
pub(crate) fn operation_of(doc: &ExecutableDocument, name: Option<&str>) -> Operation {
    let ty = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    };
    match ty {
        Some(OperationType::Query) => Operation::Query,
        Some(OperationType::Mutation) => Operation::Mutation,
        Some(OperationType::Subscription) => Operation::Subscription,
        None => Operation::None,
    }
}
