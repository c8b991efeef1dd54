//! The problem responses the OpenAPI document references, each with its example: one type per
//! status, so operations name them (`response = BadRequest`) instead of repeating them.

use utoipa::ToResponse;

use super::Problem;

/// Declares a reusable problem response with its example. The attribute stays on one line:
/// rustfmt re-indents multi-line attributes inside macros on every run.
macro_rules! problem_response {
    ($name:ident, $status:literal, $kind:literal, $title:literal, $detail:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(ToResponse)]
        #[response(description = $doc, content_type = "application/problem+json", example = json!({"type": concat!("urn:masthead:problem:", $kind), "title": $title, "status": $status, "detail": $detail}))]
        #[allow(dead_code)]
        pub struct $name(Problem);
    };
}

problem_response!(
    BadRequest,
    400,
    "bad-request",
    "Bad Request",
    "The request body is not valid JSON: EOF while parsing an object at line 1 column 1.",
    "Malformed JSON, or invalid query parameters (listed in `errors`)"
);
problem_response!(
    Unauthorized,
    401,
    "unauthorized",
    "Unauthorized",
    "The bearer token is invalid or expired.",
    "Missing, invalid or expired credentials"
);
problem_response!(
    Forbidden,
    403,
    "forbidden",
    "Forbidden",
    "Your role does not allow this action.",
    "The user's role does not allow this operation"
);
problem_response!(
    NotFound,
    404,
    "not-found",
    "Not Found",
    "No resource exists at this path.",
    "No such resource"
);
problem_response!(
    Conflict,
    409,
    "conflict",
    "Conflict",
    "this username is taken",
    "The request conflicts with stored data (a taken unique value, a rule on the last admin)"
);
problem_response!(
    PreconditionFailed,
    412,
    "precondition-failed",
    "Precondition Failed",
    "the resource changed since the ETag given in If-Match",
    "`If-Match` names an old version: fetch the resource again and reapply the change"
);
problem_response!(
    PayloadTooLarge,
    413,
    "payload-too-large",
    "Payload Too Large",
    "The request body is larger than the server accepts.",
    "The body exceeds the server's limit (3 MiB)"
);
problem_response!(
    UnsupportedMediaType,
    415,
    "unsupported-media-type",
    "Unsupported Media Type",
    "The request body must be JSON (Content-Type: application/json).",
    "The body is not `application/json`"
);
problem_response!(
    PreconditionRequired,
    428,
    "precondition-required",
    "Precondition Required",
    "this write needs an If-Match header with the resource's current ETag",
    "The write needs an `If-Match` header"
);
problem_response!(
    TooManyRequests,
    429,
    "too-many-requests",
    "Too Many Requests",
    "Too many failed logins for this username; try again later.",
    "Rate limited: retry after the number of seconds in `Retry-After`"
);
problem_response!(
    ServiceUnavailable,
    503,
    "unavailable",
    "Service Unavailable",
    "The database is not reachable; try again shortly.",
    "The database is not reachable"
);

/// A body that failed validation: every invalid field is listed in `errors`.
#[derive(ToResponse)]
#[response(
    description = "The body is well-formed JSON but some fields are invalid; each is listed in `errors`",
    content_type = "application/problem+json",
    example = json!({
        "type": "urn:masthead:problem:validation-failed",
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": "The request has 2 invalid fields.",
        "errors": [
            {"field": "username", "message": "must be 1–64 characters of letters, digits, '.', '_', '-' or '@'"},
            {"field": "password", "message": "must be 8–1024 characters long"}
        ]
    })
)]
#[allow(dead_code)]
pub struct ValidationFailed(Problem);
