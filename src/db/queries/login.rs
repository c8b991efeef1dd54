//! Failed logins, kept in the database so every instance sees the same count.
//!
//! An attempt is counted before its password is checked: [`reserve`] records it as a failure
//! (or refuses it), and [`succeeded`] forgets it when the password was right. Checking takes
//! the time of an Argon2 hash; counting afterwards would let every attempt that started
//! during that time through, where reserving first lets exactly the allowed number through,
//! however many arrive at once, and the connection is not held while the hash is checked.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::login_failures;
use crate::db::{write_statement, write_transaction, DbConn};

/// How many failures are allowed within the window, per username and per client address.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_username: i64,
    pub per_address: i64,
}

/// The answer of [`reserve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Counted as a failure until [`succeeded`] forgets it: the password may be checked.
    Reserved,
    /// The username had its allowed failures; the oldest of them is from `oldest`.
    UsernameThrottled { oldest: Option<NaiveDateTime> },
    /// The client address had its allowed failures; the oldest of them is from `oldest`.
    AddressThrottled { oldest: Option<NaiveDateTime> },
}

/// In one short write transaction: counts the failures since `since` for `username` and for `address_key` (the client's hashed rate-limit key, if known), and either
/// refuses or records this attempt as a failure at `now`. Exact under concurrency: on SQLite
/// the transaction holds the write lock; on PostgreSQL it first takes transaction-scoped
/// advisory locks on the username and the address, so two attempts on either never count at
/// once.
pub fn reserve(
    conn: &mut DbConn,
    username: &str,
    address_key: Option<&str>,
    limits: Limits,
    since: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<Attempt> {
    write_transaction(conn, |conn| {
        let mut keys = vec![lock_key("username", username)];
        if let Some(address) = address_key {
            keys.push(lock_key("address", address));
        }
        // Always in ascending order, so two attempts never wait for each other's second lock.
        keys.sort_unstable();
        for key in keys {
            advisory_lock(conn, key)?;
        }
        if let Some(address) = address_key {
            let (failures, oldest) = login_failures::table
                .filter(login_failures::address_key.eq(address))
                .filter(login_failures::failed_at.gt(since))
                .select((count_star(), min(login_failures::failed_at)))
                .get_result::<(i64, Option<NaiveDateTime>)>(conn)?;
            if failures >= limits.per_address {
                return Ok(Attempt::AddressThrottled { oldest });
            }
        }
        let (failures, oldest) = login_failures::table
            .filter(login_failures::username.eq(username))
            .filter(login_failures::failed_at.gt(since))
            .select((count_star(), min(login_failures::failed_at)))
            .get_result::<(i64, Option<NaiveDateTime>)>(conn)?;
        if failures >= limits.per_username {
            return Ok(Attempt::UsernameThrottled { oldest });
        }
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::username.eq(username),
                login_failures::failed_at.eq(now),
                login_failures::address_key.eq(address_key),
            ))
            .execute(conn)?;
        Ok(Attempt::Reserved)
    })
}

/// After a successful login: forgets `username`'s failures since `since` (this attempt's
/// reservation among them), so a user who finally gets the password right starts afresh.
/// (Older ones are `forget_expired`'s: the two never delete the same rows, so they never wait
/// for each other on PostgreSQL.)
pub fn succeeded(conn: &mut DbConn, username: &str, since: NaiveDateTime) -> QueryResult<usize> {
    write_statement(conn, |conn| {
        diesel::delete(
            login_failures::table
                .filter(login_failures::username.eq(username))
                .filter(login_failures::failed_at.gt(since)),
        )
        .execute(conn)
    })
}

/// Deletes every failure from `since` or before: they no longer count, and the client
/// addresses they hold are kept no longer than the window. A statement of its own, outside
/// `reserve`'s transaction, which only inserts: so no attempt ever waits on rows it deletes.
pub fn forget_expired(conn: &mut DbConn, since: NaiveDateTime) -> QueryResult<usize> {
    write_statement(conn, |conn| {
        diesel::delete(login_failures::table.filter(login_failures::failed_at.le(since)))
            .execute(conn)
    })
}

/// A 64-bit advisory lock key for `value` of `kind`, apart from other kinds and other users of
/// advisory locks (which hash other prefixes).
fn lock_key(kind: &str, value: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(b"login-");
    hasher.update(kind.as_bytes());
    hasher.update([0u8]);
    hasher.update(value.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// On PostgreSQL, waits for and holds `key`'s advisory lock until the transaction ends. On
/// SQLite nothing: the write transaction already excludes every other writer.
fn advisory_lock(conn: &mut DbConn, key: i64) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(pg)?;
    }
    Ok(())
}
