//! Stored-render look-ups by slug, gathered into one statement on PostgreSQL.
//!
//! On PostgreSQL a look-up of one row costs mostly what any statement costs: a round trip to a
//! server process, the wake-ups on both sides, an executor started and torn down. Readers
//! asking for articles while a look-up is running wait for the next one, which reads all their
//! slugs at once (`slug = ANY($1)`); a reader alone is still one statement. One look-up runs at
//! a time, on a pooled connection on the blocking thread pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::db::queries::renders::{self, Lookup};
use crate::db::Pool;

/// Look-ups running at once. One gathers the most readers into each statement; measured at
/// 100,000 articles and 64 connections (uncached article GETs per second, two alternations):
/// 1 runner 33.9k/35.4k, 2 runners 29.0k/31.0k, 3 24.4k/28.6k, 4 20.4k/24.8k, and one
/// statement per reader 15.0k-21.1k. The price: look-ups that must wait for the disk wait one
/// after another.
const RUNNERS: usize = 1;
/// Slugs read by one statement at most.
const MAX_BATCH: usize = 64;

/// The look-up of one slug: `Some(found)` when it was made, `None` when it failed (the caller
/// looks the slug up again on its own, and meets the error there).
type Answer = Option<Option<Lookup>>;

pub struct RenderLookups {
    pool: Pool,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<(String, oneshot::Sender<Answer>)>,
    running: usize,
}

impl RenderLookups {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            queue: Mutex::default(),
        }
    }

    /// The article with `slug` and its stored render, read with whatever other slugs are asked
    /// for meanwhile.
    pub async fn by_slug(self: &Arc<Self>, slug: &str) -> Answer {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().ok()?;
            queue.waiting.push((slug.to_string(), reply));
            let start = queue.running < RUNNERS;
            if start {
                queue.running += 1;
            }
            start
        };
        if start {
            let this = self.clone();
            actix_web::rt::task::spawn_blocking(move || this.run());
        }
        answer.await.ok().flatten()
    }

    /// Reads batches until nobody waits.
    fn run(&self) {
        // Should this end early, another runner may start in its place.
        struct Running<'a>(Option<&'a Mutex<Queue>>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                if let Some(Ok(mut queue)) = self.0.map(Mutex::lock) {
                    queue.running -= 1;
                }
            }
        }
        let mut running = Running(Some(&self.queue));
        loop {
            let batch: Vec<_> = {
                let Ok(mut queue) = self.queue.lock() else {
                    return;
                };
                if queue.waiting.is_empty() {
                    // Under the same lock as the look at the queue: a reader arriving after it
                    // sees no runner and starts one.
                    queue.running -= 1;
                    running.0 = None;
                    return;
                }
                let n = queue.waiting.len().min(MAX_BATCH);
                queue.waiting.drain(..n).collect()
            };
            let slugs: Vec<&str> = batch.iter().map(|(slug, _)| slug.as_str()).collect();
            let found = self
                .pool
                .get()
                .ok()
                .and_then(|mut conn| renders::by_slugs(&mut conn, &slugs).ok());
            let Some(found) = found else {
                // Dropping the senders tells every waiter that no look-up was made.
                continue;
            };
            let mut found: HashMap<String, Option<Lookup>> = found
                .into_iter()
                .map(|(slug, lookup)| (slug, Some(lookup)))
                .collect();
            for (slug, reply) in batch {
                let answer = match found.get_mut(&slug) {
                    // Asked for twice in one batch: the second asker reads it on its own.
                    Some(lookup) => lookup.take().map(Some),
                    None => Some(None),
                };
                let _ = reply.send(answer);
            }
        }
    }
}
