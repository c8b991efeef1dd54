//! Per-request context: a request id, one log line, and cache headers for private responses.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use rand::RngExt;

use crate::domain::FieldError;
use crate::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a caller's request id only when it is short and plain, so it cannot forge log lines.
fn incoming_id(req: &ServiceRequest) -> Option<String> {
    let v = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| v.to_string())
}

/// PostgreSQL cannot hold U+0000 in text, so no resource has a NUL in its name and no filter
/// can match one. Such a request is answered here, before any handler or database sees it, and
/// the same way on both backends: a NUL in the path is a 404, in the query a 400 naming the
/// parameter. (JSON bodies are checked where they are parsed.)
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // A URI cannot carry a raw NUL byte: it is always percent-encoded.
    if req.path().contains("%00") {
        let problem = ApiError::not_found("No resource exists at this path.").error_response();
        return Ok(req.into_response(problem));
    }
    let bad: Vec<FieldError> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| FieldError {
            field: k.replace('\0', ""),
            message: "must not contain NUL (U+0000) characters".into(),
        })
        .collect();
    if !bad.is_empty() {
        let problem = ApiError::InvalidParameters(bad).error_response();
        return Ok(req.into_response(problem));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// 128 random bits as 32 lowercase hex digits, written in one go (not a string per byte).
fn new_id() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = incoming_id(&req).unwrap_or_else(new_id);
    let method = req.method().clone();
    // The path only: query strings may carry search terms or cursors nobody needs in logs.
    let path = req.path().to_string();
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);

    let mut res = next.call(req).await?;

    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if authenticated {
        // Anything answered to a credentialed request may be personal: keep it out of caches.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    tracing::info!(
        target: "masthead::http",
        method = %method,
        path = %path,
        status = res.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    Ok(res)
}
