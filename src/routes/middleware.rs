//! Per-request context: a request id, one log line, and cache headers for private responses;
//! request size limits answered as problems; security and `Vary` headers.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use rand::RngExt;

use crate::domain::FieldError;
use crate::error::{problem_response, ApiError};

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

/// The longest request target (path and query) the application reads: twice the 8,000 octets
/// RFC 9110 asks every server to support, far above any filter or cursor this API takes, and
/// well under the 128 KiB request head actix-http parses at most (past which it answers a bare
/// 431 and closes the connection before any of this code runs).
pub const MAX_URI: usize = 16 * 1024;
/// The most header bytes (names and values) the application reads, for the same reason.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What HTML pages (the interactive docs) may load: their own scripts, styles, images and API,
/// nothing from elsewhere, no inline script, and never inside a frame. Swagger UI's icons are
/// `data:` images in its stylesheet; its bundle (5.32.6, vendored) inserts one `<style>`
/// element, allowed by its hash rather than by 'unsafe-inline' (checked in headless Chromium:
/// the docs render, expand and raise no CSP violation; a new Swagger UI may need a new hash).
pub const HTML_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Everything else (JSON, feeds, problems) loads nothing and runs nothing, even when opened
/// in a browser.
pub const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds `token` to the response's `Vary`, kept as one header line (actix-cors merges into the
/// first line only and drops the others).
pub fn add_vary(headers: &mut actix_web::http::header::HeaderMap, token: &str) {
    let current: Vec<String> = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if current
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token) || t == "*")
    {
        return;
    }
    let joined = current
        .into_iter()
        .chain(std::iter::once(token.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(header::VARY, value);
    }
}

/// Refuses a request target or headers over the limits above with a problem (414, 431), and
/// gives every answer its `Content-Security-Policy` and, for the API's reads, `Vary:
/// Authorization`: an editor's token shows drafts and statuses the public answer lacks, so a
/// shared cache must not hand one's answer to the other.
pub async fn harden(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let reads_api =
        matches!(*req.method(), Method::GET | Method::HEAD) && req.path().starts_with("/api/v1/");
    let mut res = match over_limits(&req) {
        Some(problem) => req.into_response(problem),
        None => next.call(req).await?.map_into_boxed_body(),
    };
    let headers = res.headers_mut();
    if reads_api {
        add_vary(headers, "Authorization");
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let html = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let policy = if html { HTML_POLICY } else { DATA_POLICY };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    Ok(res)
}

/// The problem answering a request whose target or headers are over the limits.
fn over_limits(req: &ServiceRequest) -> Option<HttpResponse> {
    let uri_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI {
        return Some(problem_response(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            format!("The request target is {uri_len} bytes; the server reads at most {MAX_URI}."),
            Vec::new(),
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (header_bytes > MAX_HEADER_BYTES).then(|| {
        problem_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!(
                "The request headers are {header_bytes} bytes; the server reads at most \
                 {MAX_HEADER_BYTES}."
            ),
            Vec::new(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderMap;

    #[test]
    fn vary_tokens_are_merged_into_one_line_once() {
        let mut headers = HeaderMap::new();
        add_vary(&mut headers, "Authorization");
        assert_eq!(headers.get(header::VARY).unwrap(), "Authorization");
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        add_vary(&mut headers, "authorization");
        add_vary(&mut headers, "Accept-Encoding");
        let all: Vec<_> = headers.get_all(header::VARY).collect();
        assert_eq!(all, ["Authorization, Origin, Accept-Encoding"]);
        let mut star = HeaderMap::new();
        star.insert(header::VARY, HeaderValue::from_static("*"));
        add_vary(&mut star, "Authorization");
        assert_eq!(star.get(header::VARY).unwrap(), "*");
    }
}
