//! Failed logins, kept in the database so every instance sees the same count.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::DbConn;

/// How many failures `username` had since `since`, and when the oldest of them was.
pub fn recent(
    conn: &mut DbConn,
    username: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    login_failures::table
        .filter(login_failures::username.eq(username))
        .filter(login_failures::failed_at.gt(since))
        .select((count_star(), min(login_failures::failed_at)))
        .get_result(conn)
}

pub fn record(conn: &mut DbConn, username: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::username.eq(username),
            login_failures::failed_at.eq(at),
        ))
        .execute(conn)
}

/// Forgets `username`'s failures after a successful login, and everyone's expired ones.
pub fn clear(
    conn: &mut DbConn,
    username: &str,
    expired_before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        login_failures::table.filter(
            login_failures::username
                .eq(username)
                .or(login_failures::failed_at.lt(expired_before)),
        ),
    )
    .execute(conn)
}
