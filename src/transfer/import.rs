//! Reading an export back: the header first, then every row in one transaction, so a bad line
//! anywhere leaves the database exactly as it was.

use std::io::BufRead;

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use super::rows::*;
use super::{reset_sequences, Counts, Header, TransferError, FORMAT, PRIVATE_SETTINGS, VERSION};
use crate::db::models::Article;
use crate::db::schema::{
    article_revisions, article_slugs, article_tags, articles, comment_blocklist,
    comment_moderation_log, comments, series, series_articles, series_slugs, settings, users,
    webhook_deliveries, webhooks,
};
use crate::db::{queries, write_transaction, DbConn};

/// A line after the header: a row, or the end line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    table: Option<String>,
    row: Option<Value>,
    end: Option<bool>,
    counts: Option<Counts>,
}

fn line_error(line: u64, message: impl ToString) -> TransferError {
    TransferError::Line {
        line,
        message: message.to_string(),
    }
}

/// Reads the next line into `buf` (without its line ending); `false` at the end of the input.
fn next_line(input: &mut dyn BufRead, buf: &mut String, line: u64) -> Result<bool, TransferError> {
    buf.clear();
    let read = input
        .read_line(buf)
        .map_err(|e| line_error(line, format!("cannot read: {e}")))?;
    let trimmed = buf.trim_end_matches(['\r', '\n']).len();
    buf.truncate(trimmed);
    Ok(read > 0)
}

/// Reads and checks line 1: a Masthead export of the version this build reads.
pub fn read_header(input: &mut dyn BufRead) -> Result<Header, TransferError> {
    let mut buf = String::new();
    if !next_line(input, &mut buf, 1)? {
        return Err(line_error(1, "the input is empty, not a Masthead export"));
    }
    let value: Value = serde_json::from_str(&buf)
        .map_err(|_| line_error(1, "not a Masthead export (the first line is not JSON)"))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(line_error(
            1,
            format!("not a Masthead export (no \"format\":\"{FORMAT}\")"),
        ));
    }
    match value.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => {
            return Err(line_error(
                1,
                format!(
                "export version {other} is not supported (this masthead reads version {VERSION})"
            ),
            ))
        }
        None => return Err(line_error(1, "the header has no version")),
    }
    serde_json::from_value(value).map_err(|e| line_error(1, format!("bad header: {e}")))
}

/// Loads the rows after the header into an empty database, in one transaction, and returns the
/// rows per table. Refuses a database that already has users or articles.
pub fn import(conn: &mut DbConn, mut input: impl BufRead) -> Result<Counts, TransferError> {
    write_transaction(conn, |conn| {
        let users: i64 = users::table.count().get_result(conn)?;
        let articles: i64 = articles::table.count().get_result(conn)?;
        if users > 0 || articles > 0 {
            return Err(TransferError::Refused(format!(
                "the database is not empty ({users} users, {articles} articles): \
                 import loads only into a new database"
            )));
        }
        let counts = load_rows(conn, &mut input)?;
        reset_sequences(conn)?;
        Ok(counts)
    })
}

fn load_rows(conn: &mut DbConn, input: &mut dyn BufRead) -> Result<Counts, TransferError> {
    let mut counts = Counts::default();
    let mut expected: Option<Counts> = None;
    let mut buf = String::new();
    // Line 1, the header, has been read.
    let mut n = 1;
    loop {
        n += 1;
        if !next_line(input, &mut buf, n)? {
            break;
        }
        if buf.trim().is_empty() {
            continue;
        }
        if expected.is_some() {
            return Err(line_error(n, "data after the end line"));
        }
        let line: Line =
            serde_json::from_str(&buf).map_err(|e| line_error(n, format!("not a row: {e}")))?;
        match line {
            Line {
                table: Some(table),
                row: Some(row),
                end: None,
                counts: None,
            } => {
                insert(conn, &table, row).map_err(|message| line_error(n, message))?;
                counts.add(&table);
            }
            Line {
                table: None,
                row: None,
                end: Some(true),
                counts: Some(listed),
            } => expected = Some(listed),
            _ => {
                return Err(line_error(
                    n,
                    "neither {\"table\",\"row\"} nor {\"end\",\"counts\"}",
                ))
            }
        }
    }
    match expected {
        None => Err(line_error(
            n,
            "the export is truncated: its end line is missing",
        )),
        Some(listed) if listed != counts => Err(line_error(
            n,
            format!(
                "the end line counts {} rows ({}) but {} were read ({})",
                listed.total(),
                listed.summary(),
                counts.total(),
                counts.summary()
            ),
        )),
        Some(_) => Ok(counts),
    }
}

/// Decodes `$value` as `$row` and inserts it as is, ids included. One row per statement: batch
/// inserts do not compile through the connection enum.
macro_rules! put {
    ($conn:expr, $table:ident, $row:ty, $value:expr) => {{
        let row: $row = serde_json::from_value($value).map_err(|e| e.to_string())?;
        diesel::insert_into($table::table)
            .values(&row)
            .execute($conn)
            .map_err(|e| format!("{}: {e}", stringify!($table)))?;
        row
    }};
}

fn insert(conn: &mut DbConn, table: &str, value: Value) -> Result<(), String> {
    match table {
        "users" => {
            put!(conn, users, UserRow, value);
        }
        "settings" => {
            let row: SettingRow = serde_json::from_value(value).map_err(|e| e.to_string())?;
            if PRIVATE_SETTINGS.contains(&row.key.as_str()) {
                return Ok(());
            }
            // The target's own settings (written at its first start) give way to the export's.
            let updated = diesel::update(settings::table.find(&row.key))
                .set(settings::value.eq(&row.value))
                .execute(conn)
                .map_err(|e| format!("settings: {e}"))?;
            if updated == 0 {
                diesel::insert_into(settings::table)
                    .values(&row)
                    .execute(conn)
                    .map_err(|e| format!("settings: {e}"))?;
            }
        }
        "articles" => {
            let row = put!(conn, articles, ArticleRow, value);
            // SQLite's full-text index is a table of its own; PostgreSQL's follows the row.
            queries::articles::index_for_search(conn, &Article::from(row))
                .map_err(|e| format!("articles_fts: {e}"))?;
        }
        "article_tags" => {
            put!(conn, article_tags, ArticleTagRow, value);
        }
        "article_slugs" => {
            put!(conn, article_slugs, ArticleSlugRow, value);
        }
        "article_revisions" => {
            put!(conn, article_revisions, RevisionRow, value);
        }
        "series" => {
            put!(conn, series, SeriesRow, value);
        }
        "series_slugs" => {
            put!(conn, series_slugs, SeriesSlugRow, value);
        }
        "series_articles" => {
            put!(conn, series_articles, SeriesArticleRow, value);
        }
        "comments" => {
            put!(conn, comments, CommentRow, value);
        }
        "comment_moderation_log" => {
            put!(conn, comment_moderation_log, ModerationLogRow, value);
        }
        "comment_blocklist" => {
            put!(conn, comment_blocklist, BlockRow, value);
        }
        "webhooks" => {
            put!(conn, webhooks, WebhookRow, value);
        }
        "webhook_deliveries" => {
            put!(conn, webhook_deliveries, DeliveryRow, value);
        }
        other => return Err(format!("unknown table {other:?}")),
    }
    Ok(())
}
