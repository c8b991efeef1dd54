//! Webhook queries: hooks, the delivery outbox, and the workers' claims on due deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{Delivery, Webhook, WebhookWrite};
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::DbConn;

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<Webhook>> {
    let mut query = webhooks::table
        .select(Webhook::as_select())
        .order(webhooks::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(webhooks::id.lt(id));
    }
    query.load(conn)
}

/// Every active hook; the caller picks those subscribed to an event.
pub fn active(conn: &mut DbConn) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .load(conn)
}

pub fn insert(conn: &mut DbConn, row: &WebhookWrite) -> QueryResult<Webhook> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .get_result(conn)
}

pub fn update(conn: &mut DbConn, id: i64, row: &WebhookWrite) -> QueryResult<usize> {
    diesel::update(webhooks::table.find(id))
        .set(row)
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn)
}

/// Puts one delivery in the outbox.
pub fn enqueue(
    conn: &mut DbConn,
    webhook_id: i64,
    event_id: &str,
    event: &str,
    payload: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_id.eq(webhook_id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::event.eq(event),
            webhook_deliveries::payload.eq(payload),
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn deliveries(
    conn: &mut DbConn,
    webhook_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(Delivery::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(webhook_deliveries::id.lt(id));
    }
    query.load(conn)
}

/// The advisory lock that serialises claims on PostgreSQL ("mast", "hook").
const CLAIM_LOCK: (i32, i32) = (0x6d61_7374, 0x686f_6f6b);

/// Claims up to `limit` due deliveries until `lease_until`, so no other worker (in this or
/// another instance) takes them meanwhile. On PostgreSQL the candidates are locked with
/// `FOR UPDATE SKIP LOCKED`, so two instances never claim the same row; on SQLite the claim is
/// one write statement, which the database serialises.
///
/// A hook that still has a live claim (a delivery in flight somewhere) is skipped: its later
/// events wait until the earlier ones are recorded, so each hook's events go out in order
/// while other hooks' deliveries proceed.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(Delivery, Webhook)>> {
    use diesel::sql_types::{BigInt, Integer, Timestamp};
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Claimed> = match conn {
        DbConn::Pg(pg) => pg.transaction(|pg| {
            // One claim at a time across instances, each in a statement that starts after the
            // previous claim committed, so it sees that claim: two instances never take rows of
            // one hook at once. (The two-key form keeps this lock apart from the one-key
            // locks used elsewhere.) Claims are short, so waiting for one costs little.
            diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind::<Integer, _>(CLAIM_LOCK.0)
                .bind::<Integer, _>(CLAIM_LOCK.1)
                .execute(pg)?;
            diesel::sql_query(
                "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN ( \
               SELECT id FROM webhook_deliveries \
               WHERE status = 'pending' AND next_attempt_at <= $2 \
                 AND (claimed_until IS NULL OR claimed_until < $2) \
                 AND webhook_id NOT IN ( \
                   SELECT webhook_id FROM webhook_deliveries \
                   WHERE status = 'pending' AND claimed_until >= $2) \
               ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
            )
            .bind::<Timestamp, _>(lease_until)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(pg)
        })?,
        DbConn::Sqlite(lite) => diesel::sql_query(
            "UPDATE webhook_deliveries SET claimed_until = ? WHERE id IN ( \
               SELECT id FROM webhook_deliveries \
               WHERE status = 'pending' AND next_attempt_at <= ? \
                 AND (claimed_until IS NULL OR claimed_until < ?) \
                 AND webhook_id NOT IN ( \
                   SELECT webhook_id FROM webhook_deliveries \
                   WHERE status = 'pending' AND claimed_until >= ?) \
               ORDER BY id LIMIT ?) \
             RETURNING id",
        )
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(lite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.into_iter().map(|c| c.id).collect();
    webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .order(webhook_deliveries::id)
        .select((Delivery::as_select(), Webhook::as_select()))
        .load(conn)
}

/// Gives back claims that were not used (the worker is stopping), so the deliveries and their
/// hooks do not wait for the lease to lapse.
pub fn release(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::status.eq("pending")),
    )
    .set(webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>))
    .execute(conn)
}

/// Records one attempt: delivered, retried at `next_attempt_at`, or given up (`failed`).
#[allow(clippy::too_many_arguments)]
pub fn record_attempt(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    status_code: Option<i32>,
    error: Option<&str>,
    response: Option<&str>,
    delivered_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(next_attempt_at),
            webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(status_code),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::last_response.eq(response),
            webhook_deliveries::delivered_at.eq(delivered_at),
        ))
        .execute(conn)
}
