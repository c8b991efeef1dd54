//! The one error type of the HTTP boundary, rendered as `application/problem+json` (RFC 9457).

pub mod responses;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::FieldError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: every error the server answers has this shape.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:masthead:problem:validation-failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "The request has 1 invalid field.",
    "errors": [{"field": "title", "message": "must be 1–300 characters"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:masthead:problem:<kind>`).
    #[serde(rename = "type")]
    #[schema(example = "urn:masthead:problem:not-found")]
    pub type_: String,
    /// The HTTP reason phrase of `status`.
    #[schema(example = "Not Found")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong, for a person to read.
    #[schema(example = "No article has this slug.")]
    pub detail: String,
    /// For validation failures: every invalid field with its message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's name (a JSON path such as `tags[2]` for nested values, or a query parameter).
    #[schema(example = "title")]
    pub field: String,
    /// Why the value was refused.
    #[schema(example = "must be 1–300 characters")]
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request body with invalid fields (422).
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// Invalid query or path parameters (400).
    #[error("invalid parameters")]
    InvalidParameters(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    Conflict {
        detail: String,
        field: Option<String>,
    },
    /// The stored state is not the one the request said it expected (409); `errors` names
    /// each part that differs.
    #[error("{detail}")]
    StateConflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("the resource changed since the ETag given in If-Match")]
    PreconditionFailed,
    #[error("this write needs an If-Match header with the resource's current ETag")]
    PreconditionRequired,
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A failure of ours: the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The database could not be reached: the cause is logged, never sent.
    #[error("service unavailable: {0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::NotFound(detail.into())
    }

    pub fn conflict(field: &str, detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation-failed",
            ApiError::InvalidParameters(_) => "invalid-parameters",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict { .. } | ApiError::StateConflict { .. } => "conflict",
            ApiError::PreconditionFailed => "precondition-failed",
            ApiError::PreconditionRequired => "precondition-required",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "unavailable",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(errors) | ApiError::InvalidParameters(errors) => {
                let n = errors.len();
                format!(
                    "The request has {n} invalid field{}.",
                    if n == 1 { "" } else { "s" }
                )
            }
            ApiError::PayloadTooLarge => {
                "The request body is larger than the server accepts.".into()
            }
            ApiError::Internal(_) => "The server failed to handle this request.".into(),
            ApiError::Unavailable(_) => "The database is not reachable; try again shortly.".into(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::InvalidParameters(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::StateConflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(error = %cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::error!(error = %cause, "database unavailable"),
            _ => {}
        }
        let errors = match self {
            ApiError::Validation(errors)
            | ApiError::InvalidParameters(errors)
            | ApiError::StateConflict { errors, .. } => errors
                .iter()
                .map(|e| ProblemField {
                    field: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            ApiError::Conflict {
                field: Some(field),
                detail,
            } => vec![ProblemField {
                field: field.clone(),
                message: detail.clone(),
            }],
            _ => Vec::new(),
        };
        let mut response = problem_response(self.status_code(), self.kind(), self.detail(), errors);
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

/// Builds a problem response; the one place the problem body is made.
pub fn problem_response(
    status: StatusCode,
    kind: &str,
    detail: String,
    errors: Vec<ProblemField>,
) -> HttpResponse {
    let problem = Problem {
        type_: format!("urn:masthead:problem:{kind}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail,
        errors,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(problem)
}

/// Gives errors produced by actix itself (unknown route, wrong method, failed extractors) the
/// problem shape. Their own bodies are dropped: they may carry internal text.
pub fn problemize<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (kind, detail) = match status {
        StatusCode::NOT_FOUND => ("not-found", "No resource exists at this path."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "This resource does not support the request's method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large",
            "The request body is larger than the server accepts.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "The request body must be application/json.",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers-too-large", "The request headers are too large.")
        }
        s if s.is_server_error() => ("internal", "The server failed to handle this request."),
        _ => ("bad-request", "The request could not be understood."),
    };
    let (req, old) = res.into_parts();
    let mut response = problem_response(status, kind, detail.to_string(), Vec::new());
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    let res = ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => ApiError::not_found("No such resource."),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let field = unique_violation_field(info.constraint_name(), info.message());
                let detail = match &field {
                    Some(f) => format!("another resource already has this {f}"),
                    None => "a resource with these values already exists".to_string(),
                };
                ApiError::Conflict { detail, field }
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => ApiError::Conflict {
                detail: "other records still refer to this one (a user who wrote articles can be \
                         disabled instead of deleted)"
                    .into(),
                field: None,
            },
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                ApiError::Conflict {
                    detail: "a concurrent change conflicted with this one; retry".into(),
                    field: None,
                }
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Names the column behind a unique violation: PostgreSQL gives a constraint name
/// (`users_username_key`), SQLite only a message (`UNIQUE constraint failed: users.username`).
fn unique_violation_field(constraint: Option<&str>, message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("UNIQUE constraint failed: ") {
        let first = rest.split(',').next()?.trim();
        return first.rsplit('.').next().map(str::to_string);
    }
    let name = constraint?;
    let trimmed = name
        .strip_suffix("_key")
        .or_else(|| name.strip_suffix("_idx"))
        .or_else(|| name.strip_suffix("_unique"))
        .unwrap_or(name);
    // `<table>_<column>`: tables are single words, so the column is what follows the first `_`.
    trimmed.split_once('_').map(|(_, col)| col.to_string())
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_name_the_field_on_both_backends() {
        let cases = [
            (
                None,
                "UNIQUE constraint failed: users.username",
                Some("username"),
            ),
            (
                Some("users_username_key"),
                "duplicate key value",
                Some("username"),
            ),
            (
                Some("articles_slug_key"),
                "duplicate key value",
                Some("slug"),
            ),
            (None, "duplicate key value", None),
        ];
        for (constraint, message, field) in cases {
            assert_eq!(
                unique_violation_field(constraint, message).as_deref(),
                field,
                "{constraint:?} {message}"
            );
        }
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::internal("relation \"users\" does not exist");
        assert!(!err.detail().contains("relation"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
