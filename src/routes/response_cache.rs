//! A small in-process cache of public GET responses, so a popular article costs a map look-up.
//!
//! It stays correct with several instances: entries live at most `MASTHEAD_CACHE_MAX_AGE`
//! seconds, the time any shared cache in front may keep them anyway, so another instance's
//! change shows within that; and every successful write on this instance empties it at once,
//! so its own changes show immediately. Requests with a token are never cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::HttpResponse;

use crate::routes::caching::header_names;
use crate::state::AppState;

/// Past this many bytes of bodies the cache starts over.
const MAX_BYTES: usize = 24 * 1024 * 1024;
/// Bodies larger than this are not kept.
const MAX_ENTRY: usize = 512 * 1024;

#[derive(Clone)]
struct Entry {
    stored: Instant,
    etag: HeaderValue,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    body: Bytes,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    bytes: usize,
    entries: HashMap<String, Entry>,
}

/// Put in a successful write's response extensions by a handler whose change readers cannot
/// see (a comment waiting for a moderator): the cache is then kept.
pub struct NoPublicChange;

pub struct ResponseCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl ResponseCache {
    pub fn new(ttl_secs: u32) -> Self {
        Self {
            ttl: Duration::from_secs(ttl_secs.into()),
            inner: Mutex::default(),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Forgets everything: a write succeeded on this instance.
    pub fn invalidate(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation += 1;
            inner.entries.clear();
            inner.bytes = 0;
        }
    }

    fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(0)
    }

    fn get(&self, key: &str) -> Option<Entry> {
        let inner = self.inner.lock().ok()?;
        inner
            .entries
            .get(key)
            .filter(|e| e.stored.elapsed() < self.ttl)
            .cloned()
    }

    /// Keeps `entry` unless a write happened since the response was read (`generation`).
    fn put(&self, key: String, entry: Entry, generation: u64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation {
            return;
        }
        if inner.bytes + entry.body.len() > MAX_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        inner.bytes += entry.body.len();
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.bytes -= old.body.len();
        }
    }
}

fn cacheable_path(path: &str) -> bool {
    path.starts_with("/api/v1/articles")
        || path.starts_with("/api/v1/series")
        || path == "/feed.atom"
        || path.starts_with("/series/")
}

const KEPT_HEADERS: [header::HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::LINK,
    header::LOCATION,
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
            res.insert_header((name, value));
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
    let Some(cache) = req
        .app_data::<Data<AppState>>()
        .map(|s| s.cache.clone())
        .filter(|c| c.enabled())
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
    let key = match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    if let Some(entry) = cache.get(&key) {
        return Ok(respond(req, entry));
    }
    let generation = cache.generation();
    let res = next.call(req).await?;
    let etag = res.headers().get(header::ETAG).cloned();
    let (Some(etag), StatusCode::OK) = (etag, res.status()) else {
        return Ok(res.map_into_boxed_body());
    };
    let headers: Vec<_> = KEPT_HEADERS
        .iter()
        .filter_map(|h| res.headers().get(h).map(|v| (h.clone(), v.clone())))
        .collect();
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    if bytes.len() <= MAX_ENTRY {
        cache.put(
            key,
            Entry {
                stored: Instant::now(),
                etag,
                headers,
                body: bytes.clone(),
            },
            generation,
        );
    }
    Ok(ServiceResponse::new(
        req,
        head.set_body(bytes).map_into_boxed_body(),
    ))
}
