//! ETags and conditional requests: strong validators over the exact response bytes.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::ApiError;

/// A strong ETag of a representation: the same bytes always give the same tag, on every
/// instance.
pub fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

/// `Cache-Control` for public GETs.
pub fn public_cache_control(config: &Config) -> String {
    format!(
        "public, max-age={}, stale-while-revalidate=300",
        config.cache_max_age
    )
}

/// Whether a list of entity tags (`If-None-Match`, `If-Match`) names `etag`. `weak` allows
/// `W/` tags to match, as `If-None-Match` does.
pub(crate) fn header_names(value: &str, etag: &str, weak: bool) -> bool {
    value.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(stripped) => weak && stripped == etag,
            None => candidate == etag,
        }
    })
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

/// Checks `If-Match` against the current representation's ETag: stale → 412.
pub fn check_if_match(if_match: &str, current_etag: &str) -> Result<(), ApiError> {
    if header_names(if_match, current_etag, false) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_lists_match_strongly_or_weakly() {
        let tag = etag_of(b"{}");
        assert!(header_names(&tag, &tag, false));
        assert!(header_names(&format!("\"x\", {tag}"), &tag, false));
        assert!(header_names("*", &tag, false));
        assert!(!header_names(&format!("W/{tag}"), &tag, false));
        assert!(header_names(&format!("W/{tag}"), &tag, true));
        assert!(!header_names("\"other\"", &tag, true));
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
