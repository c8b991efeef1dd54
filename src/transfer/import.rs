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
use crate::domain::markdown::{plain_text, render_article, render_comment};

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
    let mut pending: Option<Pending> = None;
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
                let same = pending
                    .as_ref()
                    .is_some_and(|p| p.batch.table() == table && p.batch.len() < BATCH);
                if !same {
                    flush(conn, pending.take())?;
                }
                if table == "settings" {
                    insert_setting(conn, row).map_err(|message| line_error(n, message))?;
                } else {
                    let p = match pending.as_mut() {
                        Some(p) => p,
                        None => pending.insert(Pending {
                            first_line: n,
                            last_line: n,
                            batch: Batch::new(&table)
                                .ok_or_else(|| line_error(n, format!("unknown table {table:?}")))?,
                        }),
                    };
                    p.batch.push(row).map_err(|e| line_error(n, e))?;
                    p.last_line = n;
                }
                counts.add(&table);
            }
            Line {
                table: None,
                row: None,
                end: Some(true),
                counts: Some(listed),
            } => {
                flush(conn, pending.take())?;
                expected = Some(listed);
            }
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

/// Rows per INSERT: well under both backends' limits on bound parameters (the widest table has
/// 22 columns; SQLite allows 32,766 parameters, PostgreSQL 65,535).
const BATCH: usize = 500;

/// Decoded rows of one table waiting to be inserted, and the lines they came from.
struct Pending {
    first_line: u64,
    last_line: u64,
    batch: Batch,
}

fn flush(conn: &mut DbConn, pending: Option<Pending>) -> Result<(), TransferError> {
    let Some(Pending {
        first_line,
        last_line,
        batch,
    }) = pending
    else {
        return Ok(());
    };
    let table = batch.table();
    batch.insert(conn).map_err(|e| {
        let lines = if first_line == last_line {
            format!("line {first_line}")
        } else {
            format!("one of lines {first_line}–{last_line}")
        };
        TransferError::Refused(format!("{lines} ({table}): {e}"))
    })
}

/// Inserts `rows` in one statement, ids included. Multi-row inserts do not compile through the
/// connection enum, so each backend's connection runs its own.
macro_rules! insert_all {
    ($conn:expr, $table:ident, $rows:expr) => {
        match $conn {
            DbConn::Pg(c) => diesel::insert_into($table::table).values($rows).execute(c),
            DbConn::Sqlite(c) => diesel::insert_into($table::table).values($rows).execute(c),
        }
    };
}

/// A batch of rows of one table, decoded into that table's row type.
macro_rules! batches {
    ($($name:literal => $variant:ident($row:ty, $table:ident)),* $(,)?) => {
        enum Batch {
            $($variant(Vec<$row>),)*
        }

        impl Batch {
            fn new(table: &str) -> Option<Self> {
                match table {
                    $($name => Some(Batch::$variant(Vec::with_capacity(BATCH))),)*
                    _ => None,
                }
            }

            fn table(&self) -> &'static str {
                match self {
                    $(Batch::$variant(_) => $name,)*
                }
            }

            fn len(&self) -> usize {
                match self {
                    $(Batch::$variant(rows) => rows.len(),)*
                }
            }

            /// Decodes a row; unknown or missing columns are refused.
            fn push(&mut self, value: Value) -> Result<(), String> {
                match self {
                    $(Batch::$variant(rows) => {
                        rows.push(serde_json::from_value(value).map_err(|e| e.to_string())?)
                    })*
                }
                Ok(())
            }

            fn insert(mut self, conn: &mut DbConn) -> QueryResult<()> {
                self.render_again();
                match &self {
                    $(Batch::$variant(rows) => {
                        insert_all!(conn, $table, rows)?;
                    })*
                }
                if let Batch::Articles(rows) = self {
                    // SQLite's full-text index is a table of its own; PostgreSQL's follows
                    // the row.
                    for row in rows {
                        queries::articles::index_for_search(conn, &Article::from(row))?;
                    }
                }
                Ok(())
            }
        }
    };
}

impl Batch {
    /// What a file says of rendered HTML is not trusted: a hand-made or altered export could
    /// carry script in `body_html` that the renderer never produced. Articles and comments are
    /// rendered again from their Markdown, with everything derived from it (plain text, word
    /// count, reading time, an excerpt not written by hand), as a write through the API does;
    /// their links (cover images, commenters' sites) are checked as the API checks them.
    fn render_again(&mut self) {
        match self {
            Batch::Articles(rows) => {
                for row in rows {
                    let r = render_article(&row.body_markdown);
                    row.body_html = r.html;
                    row.plain_text = plain_text(&row.body_markdown);
                    row.word_count = i32::try_from(r.word_count).unwrap_or(i32::MAX);
                    row.reading_time_minutes =
                        i32::try_from(r.reading_time_minutes).unwrap_or(i32::MAX);
                    if !row.excerpt_is_custom {
                        row.excerpt = r.excerpt;
                    }
                    row.cover_image_url = checked_url(row.cover_image_url.take());
                }
            }
            Batch::Revisions(rows) => {
                for row in rows {
                    // Restoring a revision puts its cover back as it is.
                    row.cover_image_url = checked_url(row.cover_image_url.take());
                }
            }
            Batch::Comments(rows) => {
                for row in rows {
                    row.body_html = render_comment(&row.body_markdown);
                    row.author_url = checked_url(row.author_url.take());
                }
            }
            _ => {}
        }
    }
}

/// A link the API would have accepted (http or https, no markup), or none: a file can carry a
/// `javascript:` URL that no write through the API could store.
fn checked_url(raw: Option<String>) -> Option<String> {
    crate::domain::article::http_url(raw.as_deref())
        .ok()
        .flatten()
}

batches! {
    "users" => Users(UserRow, users),
    "articles" => Articles(ArticleRow, articles),
    "article_tags" => ArticleTags(ArticleTagRow, article_tags),
    "article_slugs" => ArticleSlugs(ArticleSlugRow, article_slugs),
    "article_revisions" => Revisions(RevisionRow, article_revisions),
    "series" => Series(SeriesRow, series),
    "series_slugs" => SeriesSlugs(SeriesSlugRow, series_slugs),
    "series_articles" => SeriesArticles(SeriesArticleRow, series_articles),
    "comments" => Comments(CommentRow, comments),
    "comment_moderation_log" => ModerationLog(ModerationLogRow, comment_moderation_log),
    "comment_blocklist" => Blocklist(BlockRow, comment_blocklist),
    "webhooks" => Webhooks(WebhookRow, webhooks),
    "webhook_deliveries" => Deliveries(DeliveryRow, webhook_deliveries),
}

/// Settings are few and may already exist in the target (written at its first start): the
/// export's value wins. The private ones are never taken from a file.
fn insert_setting(conn: &mut DbConn, value: Value) -> Result<(), String> {
    let row: SettingRow = serde_json::from_value(value).map_err(|e| e.to_string())?;
    if PRIVATE_SETTINGS.contains(&row.key.as_str()) {
        return Ok(());
    }
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
    Ok(())
}
