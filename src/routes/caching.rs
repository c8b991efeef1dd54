//! ETags and conditional requests: strong validators over the exact response bytes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

use crate::config::Config;
use crate::error::ApiError;

pub use crate::api::etag::{check_if_match, etag_of, header_names, to_json};

/// `Cache-Control` for public GETs.
pub fn public_cache_control(config: &Config) -> String {
    format!(
        "public, max-age={}, stale-while-revalidate=300",
        config.cache_max_age
    )
}

/// A 200 with `bytes` as JSON, or a 304 when `If-None-Match` names its ETag.
pub fn cached_json(req: &HttpRequest, config: &Config, bytes: Vec<u8>) -> HttpResponse {
    cached_body(req, config, bytes, "application/json")
}

/// A 200 with `bytes` of `content_type`, or a 304 when `If-None-Match` names its ETag.
pub fn cached_body(
    req: &HttpRequest,
    config: &Config,
    bytes: Vec<u8>,
    content_type: &'static str,
) -> HttpResponse {
    let etag = etag_of(&bytes);
    tagged_body(req, config, bytes, etag, content_type)
}

/// `cached_json` for a body whose ETag is known already (`etag_of` those bytes, stored).
pub fn cached_json_tagged(
    req: &HttpRequest,
    config: &Config,
    bytes: Vec<u8>,
    etag: String,
) -> HttpResponse {
    tagged_body(req, config, bytes, etag, "application/json")
}

fn tagged_body(
    req: &HttpRequest,
    config: &Config,
    bytes: Vec<u8>,
    etag: String,
    content_type: &'static str,
) -> HttpResponse {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| header_names(v, &etag, true));
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, public_cache_control(config)));
    if not_modified {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .body(bytes)
}

/// A permanent redirect from an old slug to `path`, cacheable like the page it points to.
pub fn moved_permanently(config: &Config, path: &str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((
            header::LOCATION,
            format!("{}{path}", config.public_url.as_deref().unwrap_or("")),
        ))
        .insert_header((header::CACHE_CONTROL, public_cache_control(config)))
        .finish()
}

/// The answer to a write: the resource's new representation with its ETag, and its
/// `Location` when one was created.
pub fn written_json(
    status: actix_web::http::StatusCode,
    bytes: Vec<u8>,
    etag: String,
    location: Option<String>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::ETAG, etag));
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    response
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(bytes)
}

/// `If-Match`, when the client sent one.
pub fn optional_if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The `If-Match` a write must carry: missing → 428.
pub fn required_if_match(req: &HttpRequest) -> Result<String, ApiError> {
    optional_if_match(req).ok_or(ApiError::PreconditionRequired)
}
