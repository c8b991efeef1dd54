//! The middleware that serves public GETs from the response cache (`state::response_cache`)
//! and empties it after every successful write on this instance.

use std::time::Instant;

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::HttpResponse;

use crate::api::etag::header_names;
use crate::config::Config;
use crate::routes::feeds::request_origin;
use crate::state::response_cache::{Entry, Lookup, MAX_ENTRY};
use crate::state::AppState;

/// Requests with a longer query string are not cached: no filter or cursor this API reads
/// needs more, and a flood of unique long queries would otherwise fill the budget with keys.
pub const MAX_QUERY: usize = 512;
/// The query parameters of the cached routes (the public lists' filters and page controls). A
/// request with any other parameter is answered but not kept: an unknown parameter changes
/// nothing in the answer, so caching it would only let anyone multiply entries. A filter added
/// later and not listed here is merely not cached.
const KNOWN_PARAMS: [&str; 10] = [
    "limit",
    "cursor",
    "tag",
    "series",
    "author",
    "q",
    "published_after",
    "published_before",
    "order",
    "status",
];

/// Put in a successful write's response extensions by a handler whose change readers cannot
/// see (a comment waiting for a moderator): the cache is then kept.
pub struct NoPublicChange;

/// The cache key of a request, or `None` when its answer is not to be kept: its query is long
/// or has a parameter the cached routes do not read.
///
/// Without `MASTHEAD_PUBLIC_URL`, answers with absolute links (feeds) build them from the
/// request's origin (`feeds::request_origin`: its `Host`, or a trusted proxy's forwarded
/// headers), so the key starts with that origin: a request sent with another `Host` gets an
/// entry of its own and never changes what other readers are served. Every cached answer is
/// keyed so, not only feeds, so that an answer that comes to carry an absolute link cannot
/// reopen the hole; the byte and entry budget bounds what many hosts can add.
fn cache_key(req: &ServiceRequest, config: &Config) -> Option<String> {
    let query = req.query_string();
    let known = query.len() <= MAX_QUERY
        && form_urlencoded::parse(query.as_bytes()).all(|(k, _)| KNOWN_PARAMS.contains(&&*k));
    if !known {
        return None;
    }
    let origin = match &config.public_url {
        Some(_) => String::new(),
        None => request_origin(req.request(), config),
    };
    Some(match query {
        "" => format!("{origin}{}", req.path()),
        q => format!("{origin}{}?{q}", req.path()),
    })
}

fn cacheable_path(path: &str) -> bool {
    path.starts_with("/api/v1/articles")
        || path.starts_with("/api/v1/series")
        || path == "/feed.atom"
        || path.starts_with("/series/")
}

const KEPT_HEADERS: [header::HeaderName; 5] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::LINK,
    header::LOCATION,
    header::VARY,
];

fn respond(req: ServiceRequest, e: Entry) -> ServiceResponse<BoxBody> {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .zip(e.etag.to_str().ok())
        .is_some_and(|(inm, etag)| header_names(inm, etag, true));
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, e.etag));
    for (name, value) in e.headers {
        if !(not_modified && name == header::CONTENT_TYPE) {
            res.append_header((name, value));
        }
    }
    let res = if not_modified {
        res.finish()
    } else {
        res.body(e.body)
    };
    req.into_response(res)
}

pub async fn serve_cached(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some((cache, config)) = req
        .app_data::<Data<AppState>>()
        .map(|s| (s.cache.clone(), s.config.clone()))
        .filter(|(c, _)| c.enabled())
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let method = req.method().clone();
    if method != Method::GET {
        let res = next.call(req).await?;
        if method != Method::HEAD
            && method != Method::OPTIONS
            && res.status().is_success()
            && res
                .response()
                .extensions()
                .get::<NoPublicChange>()
                .is_none()
        {
            cache.invalidate();
        }
        return Ok(res.map_into_boxed_body());
    }
    if req.headers().contains_key(header::AUTHORIZATION) || !cacheable_path(req.path()) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let Some(key) = cache_key(&req, &config) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let _leader = match cache.lookup(&key) {
        Some(Lookup::Hit(entry)) => return Ok(respond(req, entry)),
        Some(Lookup::Wait(notify)) => {
            // Registered before the check, so the leader's wake-up cannot slip in between.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cache.still_pending(&key, &notify) {
                notified.await;
            }
            if let Some(entry) = cache.get(&key) {
                return Ok(respond(req, entry));
            }
            // Not kept (not a 200, too large, or a write came between): compute it here.
            None
        }
        Some(Lookup::Lead(leader)) => Some(leader),
        None => None,
    };
    let generation = cache.generation();
    let res = next.call(req).await?;
    let etag = res.headers().get(header::ETAG).cloned();
    let (Some(etag), StatusCode::OK) = (etag, res.status()) else {
        return Ok(res.map_into_boxed_body());
    };
    let headers: Vec<_> = KEPT_HEADERS
        .iter()
        .flat_map(|h| res.headers().get_all(h).map(|v| (h.clone(), v.clone())))
        .collect();
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    if bytes.len() <= MAX_ENTRY {
        cache.put(
            &key,
            Entry {
                stored: Instant::now(),
                etag,
                headers,
                // A copy of exactly its length: the response's buffer may have spare capacity
                // that the budget would not see.
                body: Bytes::copy_from_slice(&bytes),
            },
            generation,
        );
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_and_unknown_parameters_are_not_cached() {
        let mut config = Config::from_lookup(|_| None).expect("default config");
        config.public_url = Some("https://news.example".into());
        let key = |uri: &str| {
            cache_key(
                &actix_web::test::TestRequest::get()
                    .uri(uri)
                    .to_srv_request(),
                &config,
            )
        };
        assert_eq!(key("/api/v1/series").as_deref(), Some("/api/v1/series"));
        assert_eq!(
            key("/api/v1/articles?tag=x&limit=5").as_deref(),
            Some("/api/v1/articles?tag=x&limit=5")
        );
        assert_eq!(key("/api/v1/series?x1=a"), None);
        assert_eq!(key("/api/v1/articles?tag=x&utm_source=y"), None);
        let long = format!("/api/v1/articles?q={}", "a".repeat(MAX_QUERY));
        assert_eq!(key(&long), None);
        let fits = format!("/api/v1/articles?q={}", "a".repeat(MAX_QUERY - 2));
        assert!(key(&fits).is_some());
    }

    #[test]
    fn without_a_public_url_the_key_holds_the_requests_origin() {
        let config = Config::from_lookup(|_| None).expect("default config");
        let key = |host: &str| {
            cache_key(
                &actix_web::test::TestRequest::get()
                    .uri("/feed.atom")
                    .insert_header(("Host", host))
                    .to_srv_request(),
                &config,
            )
        };
        assert_eq!(
            key("News.Example:8080").as_deref(),
            Some("http://news.example:8080/feed.atom")
        );
        assert_ne!(key("evil.example"), key("news.example"));
    }
}
