//! A small in-process cache of public GET responses, so a popular article costs a map look-up:
//! the store, held in the application state. `routes::response_cache` serves from it.
//!
//! It stays correct with several instances: entries live at most `MASTHEAD_CACHE_MAX_AGE`
//! seconds, the time any shared cache in front may keep them anyway, so another instance's
//! change shows within that; and every successful write on this instance empties it at once,
//! so its own changes show immediately. Requests with a token are never cached.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use tokio::sync::Notify;

/// The most memory the entries may hold: keys, kept headers and bodies, plus
/// [`ENTRY_OVERHEAD`] for each. Past it the oldest entries go first.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// The most entries kept, whatever their size: many tiny ones cost their overhead too.
pub const MAX_ENTRIES: usize = 4096;
/// Responses larger than this (all counted) are not kept.
pub const MAX_ENTRY: usize = 512 * 1024;
/// What an entry costs besides its bytes: its map slot and queue slot, the `Entry` itself and
/// its header list (measured at about 200 bytes; rounded up).
const ENTRY_OVERHEAD: usize = 256;

#[derive(Clone)]
pub struct Entry {
    pub stored: Instant,
    pub etag: HeaderValue,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Entry {
    /// What keeping this entry under `key` costs, as counted against [`MAX_BYTES`].
    fn size(&self, key: &str) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        ENTRY_OVERHEAD + key.len() + self.etag.len() + headers + self.body.len()
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    /// The sum of the entries' sizes ([`Entry::size`]).
    bytes: usize,
    entries: HashMap<Arc<str>, (Entry, usize)>,
    /// The keys in the order they were stored. Every entry lives as long as every other, so
    /// the front holds the expired ones first, then the oldest: evicting from the front drops
    /// expired entries before anything still fresh, each at most once (amortised O(1)).
    order: VecDeque<Arc<str>>,
    /// Keys whose response one request is computing now; the others asking for it wait for
    /// that one instead of all running the same queries (a popular page that just expired,
    /// or a costly search, would otherwise be computed by every waiting connection at once).
    pending: HashMap<String, Arc<Notify>>,
}

impl Inner {
    /// Drops the oldest entry; `false` when there is none.
    fn evict_oldest(&mut self) -> bool {
        let Some(key) = self.order.pop_front() else {
            return false;
        };
        if let Some((_, size)) = self.entries.remove(&key) {
            self.bytes -= size;
        }
        true
    }

    /// Drops every expired entry (they are all at the front).
    fn evict_expired(&mut self, ttl: Duration, now: Instant) {
        while let Some(key) = self.order.front() {
            let expired = self
                .entries
                .get(key)
                .is_none_or(|(e, _)| now.duration_since(e.stored) >= ttl);
            if !expired || !self.evict_oldest() {
                break;
            }
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

/// What a cache look-up found.
pub enum Lookup {
    Hit(Entry),
    /// Another request is computing this response.
    Wait(Arc<Notify>),
    /// This request computes it; the others wait until the guard is dropped.
    Lead(Leader),
}

/// Held by the request computing a response: dropping it, however that request ends, lets the
/// waiting ones go on.
pub struct Leader {
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

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// Forgets everything: a write succeeded on this instance.
    pub fn invalidate(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation += 1;
            inner.clear();
        }
    }

    /// How many entries are kept and the bytes they count for.
    pub fn usage(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|i| (i.entries.len(), i.bytes))
            .unwrap_or_default()
    }

    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(0)
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        let inner = self.inner.lock().ok()?;
        Self::fresh(&inner, key, self.ttl)
    }

    fn fresh(inner: &Inner, key: &str, ttl: Duration) -> Option<Entry> {
        inner
            .entries
            .get(key)
            .filter(|(e, _)| e.stored.elapsed() < ttl)
            .map(|(e, _)| e.clone())
    }

    pub fn lookup(self: &Arc<Self>, key: &str) -> Option<Lookup> {
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
    pub fn still_pending(&self, key: &str, notify: &Arc<Notify>) -> bool {
        self.inner
            .lock()
            .map(|i| i.pending.get(key).is_some_and(|n| Arc::ptr_eq(n, notify)))
            .unwrap_or(false)
    }

    /// Keeps `entry` unless a write happened since the response was read (`generation`),
    /// evicting expired entries and then the oldest ones until it fits.
    pub fn put(&self, key: &str, mut entry: Entry, generation: u64) {
        let size = entry.size(key);
        if size > MAX_ENTRY {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation {
            return;
        }
        let now = Instant::now();
        // Stamped under the lock, so `order` is in `stored` order.
        entry.stored = now;
        inner.evict_expired(self.ttl, now);
        if let Some((_, old)) = inner.entries.remove(key) {
            // Rare (a fresh entry replaced): its queue slot goes too, so none is left behind.
            inner.bytes -= old;
            inner.order.retain(|k| &**k != key);
        }
        while (inner.bytes + size > MAX_BYTES || inner.order.len() >= MAX_ENTRIES)
            && inner.evict_oldest()
        {}
        let key: Arc<str> = Arc::from(key);
        inner.bytes += size;
        inner.order.push_back(key.clone());
        inner.entries.insert(key, (entry, size));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body_len: usize) -> Entry {
        Entry {
            stored: Instant::now(),
            etag: HeaderValue::from_static("\"e\""),
            headers: vec![(header::CONTENT_TYPE, HeaderValue::from_static("x/y"))],
            body: Bytes::from(vec![b'x'; body_len]),
        }
    }

    fn has(cache: &ResponseCache, key: &str) -> bool {
        cache.get(key).is_some()
    }

    #[test]
    fn the_budget_counts_keys_headers_and_overhead() {
        let cache = ResponseCache::new(60);
        let key = "k".repeat(300);
        cache.put(&key, entry(1000), 0);
        let expected = ENTRY_OVERHEAD + 300 + "\"e\"".len() + "content-type".len() + 3 + 1000;
        assert_eq!(cache.usage(), (1, expected));
    }

    #[test]
    fn past_the_byte_budget_the_oldest_entries_go_first() {
        let cache = ResponseCache::new(60);
        let body = MAX_ENTRY - 1024;
        let fit = MAX_BYTES / entry(body).size("key-000");
        for i in 0..fit + 3 {
            cache.put(&format!("key-{i:03}"), entry(body), 0);
            assert!(cache.usage().1 <= MAX_BYTES, "over budget after {i}");
        }
        assert_eq!(cache.usage().0, fit);
        for i in 0..3 {
            assert!(!has(&cache, &format!("key-{i:03}")), "key-{i:03} kept");
        }
        assert!(has(&cache, &format!("key-{:03}", fit + 2)));
        assert!(has(&cache, "key-003"));
    }

    #[test]
    fn entries_are_capped_in_number_however_small() {
        let cache = ResponseCache::new(60);
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(&i.to_string(), entry(0), 0);
        }
        assert_eq!(cache.usage().0, MAX_ENTRIES);
        assert!(!has(&cache, "9"));
        assert!(has(&cache, "10"));
        let inner = cache.inner.lock().unwrap();
        assert_eq!(inner.order.len(), MAX_ENTRIES);
    }

    #[test]
    fn expired_entries_are_evicted_by_the_next_insert() {
        let cache = ResponseCache::new(1);
        cache.put("old-1", entry(10_000), 0);
        cache.put("old-2", entry(10_000), 0);
        std::thread::sleep(Duration::from_millis(1100));
        cache.put("new", entry(10), 0);
        let (count, bytes) = cache.usage();
        assert_eq!((count, bytes), (1, entry(10).size("new")));
        assert_eq!(cache.inner.lock().unwrap().order.len(), 1);
    }

    #[test]
    fn a_replaced_entry_leaves_nothing_behind() {
        let cache = ResponseCache::new(60);
        cache.put("a", entry(100), 0);
        cache.put("b", entry(100), 0);
        cache.put("a", entry(5000), 0);
        assert_eq!(
            cache.usage(),
            (2, entry(100).size("b") + entry(5000).size("a"))
        );
        let inner = cache.inner.lock().unwrap();
        let order: Vec<&str> = inner.order.iter().map(|k| &**k).collect();
        assert_eq!(order, ["b", "a"]);
    }

    #[test]
    fn an_entry_over_its_own_limit_or_from_an_older_generation_is_not_kept() {
        let cache = ResponseCache::new(60);
        cache.put("big", entry(MAX_ENTRY), 0);
        cache.invalidate();
        cache.put("stale", entry(10), 0);
        assert_eq!(cache.usage(), (0, 0));
    }
}
