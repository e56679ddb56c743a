//! What the client gets back: a refusal before execution ([`HttpError`]) or a GraphQL response
//! turned into HTTP, as the GraphQL-over-HTTP spec asks: an error of the request as a whole has
//! no `data` entry, and is HTTP 400 under `application/graphql-response+json` but 200 under
//! `application/json` (where any well-formed GraphQL response is 200).

use std::borrow::Cow;

use async_graphql::Response as GqlResponse;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::media::{GRAPHQL_RESPONSE, JSON};
use crate::{
    codes::Code,
    graphql::{errors::code_of, limits, verbatim::Verbatim},
};

/// A request answered before (or instead of) its GraphQL execution. It turns itself into the
/// response, so the handlers refuse with `?`.
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
    pub(super) fn new(
        status: StatusCode,
        media: &'static str,
        code: Code,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Refused {
            status,
            media,
            code,
            message: message.into(),
            header: None,
        }
    }

    /// A `BAD_REQUEST` refusal with HTTP 400.
    pub(super) fn bad_request(media: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, media, Code::BadRequest, message)
    }

    /// With the header `name: value`.
    pub(super) fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Self {
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

/// The GraphQL response of a request refused with `error`.
pub(super) fn answered(error: async_graphql::ServerError, media: &'static str) -> HttpError {
    HttpError::Answered(Box::new(respond(GqlResponse::from_errors(vec![error]), media)))
}

/// The HTTP answer for a GraphQL response.
fn respond(response: GqlResponse, media: &'static str) -> Response {
    respond_with(response, media, &Verbatim::default())
}

/// [`respond`], with the JSON that `verbatim` holds in place of its markers.
pub(super) fn respond_with(mut response: GqlResponse, media: &'static str, verbatim: &Verbatim) -> Response {
    let body = if is_request_error(&response) {
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
        let status = if media == GRAPHQL_RESPONSE {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        // Nothing ran, so there is no `data` entry (not even `null`).
        serde_json::to_vec(&RequestError {
            errors: &response.errors,
            extensions: &response.extensions,
        })
        .map(|body| (status, body))
    } else {
        serde_json::to_vec(&response).map(|body| (StatusCode::OK, verbatim.splice(body)))
    };
    match body {
        Ok((status, body)) => (status, [(header::CONTENT_TYPE, HeaderValue::from_static(media))], body).into_response(),
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

/// The body of a request refused as a whole: its errors, and no `data` entry.
#[derive(serde::Serialize)]
struct RequestError<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// A request that failed before any field ran: no data, and errors that belong to no field (a
/// field's error always has a path; one at the root that nulls `data` still ran) and are coded
/// as request errors or not at all.
pub(super) fn is_request_error(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            e.path.is_empty()
                && code_of(e).is_none_or(|c| c == Code::BadRequest.as_str() || c == Code::QueryTooComplex.as_str())
        })
}

pub(super) fn not_acceptable() -> HttpError {
    let message = "accept application/graphql-response+json or application/json";
    HttpError::new(StatusCode::NOT_ACCEPTABLE, JSON, Code::BadRequest, message)
}

pub(super) fn too_large(media: &'static str, limit: usize) -> HttpError {
    let message = format!("the request body is larger than {limit} bytes");
    HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, media, Code::BadRequest, message)
}
