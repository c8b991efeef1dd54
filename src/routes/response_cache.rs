//! A small in-process cache of public GET responses, so a popular article costs a map look-up.
//!
//! It stays correct with several instances: entries live at most `MASTHEAD_CACHE_MAX_AGE`
//! seconds, the time any shared cache in front may keep them anyway, so another instance's
//! change shows within that; and every successful write on this instance empties it at once,
//! so its own changes show immediately. Requests with a token are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::HttpResponse;
use tokio::sync::Notify;

use crate::routes::caching::header_names;
use crate::state::AppState;

/// Past this many bytes of bodies the cache starts over.
const MAX_BYTES: usize = 16 * 1024 * 1024;
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
    /// Keys whose response one request is computing now; the others asking for it wait for
    /// that one instead of all running the same queries (a popular page that just expired,
    /// or a costly search, would otherwise be computed by every waiting connection at once).
    pending: HashMap<String, Arc<Notify>>,
}

/// What a cache look-up found.
enum Lookup {
    Hit(Entry),
    /// Another request is computing this response.
    Wait(Arc<Notify>),
    /// This request computes it; the others wait until the guard is dropped.
    Lead(Leader),
}

/// Held by the request computing a response: dropping it, however that request ends, lets the
/// waiting ones go on.
struct Leader {
    cache: Arc<ResponseCache>,
    key: String,
    notify: Arc<Notify>,
}

impl Drop for Leader {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.cache.inner.lock() {
            inner.pending.remove(&self.key);
        }
        self.notify.notify_waiters();
    }
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
        Self::fresh(&inner, key, self.ttl)
    }

    fn fresh(inner: &Inner, key: &str, ttl: Duration) -> Option<Entry> {
        inner
            .entries
            .get(key)
            .filter(|e| e.stored.elapsed() < ttl)
            .cloned()
    }

    fn lookup(self: &Arc<Self>, key: &str) -> Option<Lookup> {
        let mut inner = self.inner.lock().ok()?;
        if let Some(entry) = Self::fresh(&inner, key, self.ttl) {
            return Some(Lookup::Hit(entry));
        }
        if let Some(notify) = inner.pending.get(key) {
            return Some(Lookup::Wait(notify.clone()));
        }
        let notify = Arc::new(Notify::new());
        inner.pending.insert(key.to_string(), notify.clone());
        Some(Lookup::Lead(Leader {
            cache: self.clone(),
            key: key.to_string(),
            notify,
        }))
    }

    /// Whether `notify`'s computation of `key` is still running.
    fn still_pending(&self, key: &str, notify: &Arc<Notify>) -> bool {
        self.inner
            .lock()
            .map(|i| i.pending.get(key).is_some_and(|n| Arc::ptr_eq(n, notify)))
            .unwrap_or(false)
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
