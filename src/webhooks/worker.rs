//! The delivery worker: claims due deliveries from the outbox, posts them signed, and records
//! the outcome; failures are retried with exponential backoff. Deliveries are at least once: a
//! crash between sending and recording means the claim lapses and the delivery is sent again.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokio::sync::watch;

use super::signature;
use crate::db::models::{Delivery, Webhook};
use crate::db::queries::{self, now};
use crate::state::AppState;

/// The whole of one delivery request, connecting to reading the body.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many due deliveries one claim takes. They are sent one after another, in the order the
/// events happened, so a claimed batch takes at most `BATCH × TIMEOUT` plus recording.
const BATCH: i64 = 5;
/// How long a claim keeps other workers off a delivery: longer than a whole batch may take, so
/// a slow receiver never has a delivery claimed (and sent) a second time while the first is
/// still in flight.
const LEASE: TimeDelta = TimeDelta::seconds(60);
const MAX_BACKOFF_MS: u64 = 3_600_000;
const RESPONSE_KEPT: usize = 1000;

/// Runs until `stop` changes.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Masthead-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook worker cannot start");
            return;
        }
    };
    let poll = Duration::from_millis(state.config.webhook_poll_ms);
    let mut full = false;
    loop {
        // A full batch means more may be due: claim again at once instead of waiting.
        if !full {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(poll) => {}
            }
        } else if stop.has_changed().unwrap_or(true) {
            return;
        }
        let claimed = state
            .db
            .run(|conn| {
                let now = now();
                Ok(queries::webhooks::claim_due(conn, now, now + LEASE, BATCH)?)
            })
            .await;
        match claimed {
            Ok(batch) => {
                full = i64::try_from(batch.len()).is_ok_and(|n| n == BATCH);
                for (delivery, hook) in batch {
                    deliver(&state, &client, delivery, hook).await;
                }
            }
            Err(e) => {
                full = false;
                tracing::warn!(error = %e, "webhook worker could not claim deliveries");
            }
        }
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

async fn deliver(state: &AppState, client: &reqwest::Client, d: Delivery, hook: Webhook) {
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
    let (code, error, response) = match result {
        Ok(res) => {
            let code = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            (
                Some(i32::from(code)),
                None,
                Some(text.chars().take(RESPONSE_KEPT).collect::<String>()),
            )
        }
        // The error names the host; the URL's path and query (which may carry a token) are
        // left out.
        Err(e) => (None, Some(e.without_url().to_string()), None),
    };
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
