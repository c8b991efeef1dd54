//! The delivery worker: claims due deliveries from the outbox, posts them signed, and records
//! the outcome; failures are retried with exponential backoff. Deliveries are at least once: a
//! crash between sending and recording means the claim lapses and the delivery is sent again.
//!
//! Hooks are served concurrently, each hook's deliveries one after another in the order the
//! events happened: a slow or silent receiver holds up only its own hook.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::signature;
use super::target::{self, PublicOnly, Refused};
use crate::db::models::{Delivery, Webhook};
use crate::db::queries::{self, now};
use crate::state::AppState;

/// The whole of one delivery request, connecting to reading the body.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many due deliveries one claim takes at most. One hook's share of a claim is sent one
/// after another, so it takes at most `BATCH × TIMEOUT` plus recording.
const BATCH: i64 = 5;
/// How many hooks one worker delivers to at once.
const HOOKS_IN_FLIGHT: usize = 16;
/// How long a claim keeps other workers off a delivery: longer than a hook's share of a batch
/// may take, so a slow receiver never has a delivery claimed (and sent) a second time while
/// the first is still in flight. Claims are only taken when there is room to start on them at
/// once, so no claim waits for a free slot.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const MAX_BACKOFF_MS: u64 = 3_600_000;
/// How much of a receiver's answer is read; then the connection is dropped. Reading a little
/// lets a short answer finish (and its connection be reused); a huge or endless one costs
/// no more than this (reading whole answers, one of 300 MiB took the server's peak memory
/// from 49 MB to 669 MB).
const RESPONSE_READ: usize = 64 * 1024;
/// How much of the answer is kept in `last_response`, in bytes (cut on a character boundary).
const RESPONSE_KEPT: usize = 1024;

/// The HTTP client of the deliveries. Redirects are not followed (a redirect could point
/// anywhere, including the internal network); proxies from the environment (`HTTP_PROXY`…)
/// are ignored, since a proxy would connect on our behalf past the address check. Unless
/// private targets are allowed, names resolve only to public addresses.
fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("Masthead-Webhooks/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// Runs until `stop` changes, then lets the deliveries in flight finish.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let client = match client(state.config.webhook_allow_private) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook worker cannot start");
            return;
        }
    };
    let poll = Duration::from_millis(state.config.webhook_poll_ms);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // A full claim means more may be due: claim again at once instead of waiting.
    let mut full = false;
    loop {
        while let Some(done) = in_flight.try_join_next() {
            report_panic(done);
        }
        let free = HOOKS_IN_FLIGHT.saturating_sub(in_flight.len());
        if !full || free == 0 {
            // A hook finishing may leave more of its events due: look again then too.
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(poll) => {}
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => report_panic(done),
            }
        } else if stop.has_changed().unwrap_or(true) {
            break;
        }
        let free = HOOKS_IN_FLIGHT.saturating_sub(in_flight.len());
        if free == 0 {
            full = false;
            continue;
        }
        // At most one hook per claimed row, so every claimed hook has a free slot.
        let limit = BATCH.min(i64::try_from(free).unwrap_or(BATCH));
        let claimed = state
            .db
            .run(move |conn| {
                let now = now();
                Ok(queries::webhooks::claim_due(conn, now, now + LEASE, limit)?)
            })
            .await;
        match claimed {
            Ok(batch) => {
                full = i64::try_from(batch.len()).is_ok_and(|n| n == limit);
                for hook_batch in by_hook(batch) {
                    in_flight.spawn(deliver_in_order(
                        state.clone(),
                        client.clone(),
                        hook_batch,
                        stop.clone(),
                    ));
                }
            }
            Err(e) => {
                full = false;
                tracing::warn!(error = %e, "webhook worker could not claim deliveries");
            }
        }
    }
    while let Some(done) = in_flight.join_next().await {
        report_panic(done);
    }
}

fn report_panic(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        tracing::error!(error = %e, "a webhook delivery task failed");
    }
}

/// The claimed deliveries split by hook, each hook's in the order claimed (event order).
fn by_hook(batch: Vec<(Delivery, Webhook)>) -> Vec<Vec<(Delivery, Webhook)>> {
    let mut groups: Vec<Vec<(Delivery, Webhook)>> = Vec::new();
    for item in batch {
        match groups.iter_mut().find(|g| g[0].1.id == item.1.id) {
            Some(group) => group.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

/// Sends one hook's claimed deliveries one after another. When the worker is stopping, the
/// ones not yet sent are given back.
async fn deliver_in_order(
    state: AppState,
    client: reqwest::Client,
    batch: Vec<(Delivery, Webhook)>,
    stop: watch::Receiver<bool>,
) {
    let mut rest = batch.into_iter();
    while let Some((delivery, hook)) = rest.next() {
        if *stop.borrow() {
            let ids: Vec<i64> = std::iter::once(delivery.id)
                .chain(rest.map(|(d, _)| d.id))
                .collect();
            let released = state
                .db
                .run(move |conn| Ok(queries::webhooks::release(conn, &ids)?))
                .await;
            if let Err(e) = released {
                tracing::warn!(error = %e, "webhook claims not given back; they will lapse");
            }
            return;
        }
        deliver(&state, &client, delivery, hook).await;
    }
}

/// The delay before retry number `attempts` (1-based): base, 2×base, 4×base… at most an hour.
pub fn backoff_ms(base_ms: u64, attempts: i32) -> u64 {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    base_ms
        .saturating_mul(1u64 << doublings)
        .min(MAX_BACKOFF_MS)
}

/// Reads at most `RESPONSE_READ` bytes of the answer and keeps the start of it; the rest is
/// never read (dropping the response then drops the connection).
async fn read_start(res: &mut reqwest::Response) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut read = 0;
    while read < RESPONSE_READ {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = (RESPONSE_KEPT + 3).saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    kept
}

/// At most `RESPONSE_KEPT` bytes of text from the start of `bytes`, cut on a character
/// boundary (invalid UTF-8 shown as U+FFFD).
fn response_prefix(bytes: &[u8]) -> String {
    // Any character starting within the kept bytes ends within three more.
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(RESPONSE_KEPT + 3)]);
    let mut end = text.len().min(RESPONSE_KEPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The refusal of a private target, if that is why a request failed.
fn refusal(e: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Some(r);
        }
        source = s.source();
    }
    None
}

fn not_sent(r: &Refused) -> String {
    format!("not sent: {r}")
}

/// Posts one delivery and returns (status code, error, start of the answer).
async fn attempt(
    state: &AppState,
    client: &reqwest::Client,
    d: &Delivery,
    hook: &Webhook,
) -> (Option<i32>, Option<String>, Option<String>) {
    // reqwest connects to an IP-literal URL without asking the resolver: check it here.
    if !state.config.webhook_allow_private {
        if let Err(r) = target::check_literal(&hook.url) {
            return (None, Some(not_sent(&r)), None);
        }
    }
    let timestamp = Utc::now().timestamp();
    let result = client
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("X-Masthead-Event", &d.event)
        .header("X-Masthead-Event-Id", &d.event_id)
        .header("X-Masthead-Delivery", d.id.to_string())
        .header(
            "X-Masthead-Signature",
            signature(&hook.secret, timestamp, &d.payload),
        )
        .body(d.payload.clone())
        .send()
        .await;
    match result {
        Ok(mut res) => {
            let code = res.status().as_u16();
            let start = read_start(&mut res).await;
            (Some(i32::from(code)), None, Some(response_prefix(&start)))
        }
        Err(e) => match refusal(&e) {
            Some(r) => (None, Some(not_sent(r)), None),
            // The error names the host; the URL's path and query (which may carry a token)
            // are left out.
            None => (None, Some(e.without_url().to_string()), None),
        },
    }
}

async fn deliver(state: &AppState, client: &reqwest::Client, d: Delivery, hook: Webhook) {
    let (code, error, response) = attempt(state, client, &d, &hook).await;
    let ok = code.is_some_and(|c| (200..300).contains(&c));
    let attempts = d.attempts + 1;
    let max = i32::try_from(state.config.webhook_max_attempts).unwrap_or(i32::MAX);
    let status = if ok {
        "delivered"
    } else if attempts >= max {
        "failed"
    } else {
        "pending"
    };
    let base = state.config.webhook_retry_base_ms;
    tracing::info!(
        target: "masthead::webhooks",
        webhook = hook.id,
        delivery = d.id,
        event = %d.event,
        status_code = code.unwrap_or(0),
        outcome = status,
        attempts,
        "webhook delivery"
    );
    let recorded = state
        .db
        .run(move |conn| {
            let now = now();
            let next = now
                + TimeDelta::milliseconds(
                    i64::try_from(backoff_ms(base, attempts)).unwrap_or(i64::MAX),
                );
            Ok(queries::webhooks::record_attempt(
                conn,
                d.id,
                status,
                attempts,
                next,
                code,
                error.as_deref(),
                response.as_deref(),
                ok.then_some(now),
            )?)
        })
        .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "webhook delivery outcome not recorded; it will be retried");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_answer_is_a_short_prefix_cut_on_a_character_boundary() {
        assert_eq!(response_prefix(b"ok"), "ok");
        assert_eq!(response_prefix(b""), "");
        let long = "x".repeat(RESPONSE_READ);
        assert_eq!(response_prefix(long.as_bytes()), "x".repeat(RESPONSE_KEPT));
        // 1023 ASCII bytes then a 3-byte character: it does not fit, and is not cut in half.
        let straddling = format!("{}€€", "a".repeat(RESPONSE_KEPT - 1));
        assert_eq!(
            response_prefix(straddling.as_bytes()),
            "a".repeat(RESPONSE_KEPT - 1)
        );
        let euros = "€".repeat(RESPONSE_KEPT);
        let kept = response_prefix(euros.as_bytes());
        assert_eq!(kept, "€".repeat(RESPONSE_KEPT / 3));
        assert_eq!(response_prefix(&[0xff, b'o', b'k']), "\u{fffd}ok");
    }

    #[test]
    fn a_claim_is_split_by_hook_keeping_each_hooks_order() {
        use crate::db::models::{Delivery, Webhook};
        let t = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let hook = |id| Webhook {
            id,
            url: String::new(),
            events: String::new(),
            secret: String::new(),
            active: true,
            include_private: false,
            description: None,
            created_at: t,
            updated_at: t,
        };
        let delivery = |id| Delivery {
            id,
            webhook_id: 0,
            event_id: String::new(),
            event: String::new(),
            payload: String::new(),
            status: String::new(),
            attempts: 0,
            next_attempt_at: t,
            claimed_until: None,
            last_status_code: None,
            last_error: None,
            last_response: None,
            delivered_at: None,
            created_at: t,
        };
        let batch = vec![
            (delivery(1), hook(7)),
            (delivery(2), hook(8)),
            (delivery(3), hook(7)),
            (delivery(4), hook(9)),
            (delivery(5), hook(7)),
        ];
        let groups: Vec<Vec<(i64, i64)>> = by_hook(batch)
            .into_iter()
            .map(|g| g.into_iter().map(|(d, h)| (h.id, d.id)).collect())
            .collect();
        assert_eq!(
            groups,
            vec![vec![(7, 1), (7, 3), (7, 5)], vec![(8, 2)], vec![(9, 4)]]
        );
    }

    #[test]
    fn a_claim_outlasts_the_batch_it_claims() {
        let batch_time = TimeDelta::from_std(TIMEOUT).unwrap() * i32::try_from(BATCH).unwrap();
        assert!(
            LEASE > batch_time,
            "lease {LEASE} vs a whole batch {batch_time}"
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 2), 2000);
        assert_eq!(backoff_ms(1000, 4), 8000);
        assert_eq!(backoff_ms(1000, 40), MAX_BACKOFF_MS);
    }
}
