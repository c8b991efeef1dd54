//! Writing an export: one read-only snapshot, tables in dependency order, large tables read in
//! keyset pages so memory stays flat however big the site is.

use std::io::Write;

use chrono::{SecondsFormat, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::rows::*;
use super::{check_migrated, Counts, Header, TransferError, FORMAT, PRIVATE_SETTINGS, VERSION};
use crate::db::schema::{
    article_revisions, article_slugs, article_tags, articles, comment_blocklist,
    comment_moderation_log, comments, series, series_articles, series_slugs, settings, users,
    webhook_deliveries, webhooks,
};
use crate::db::DbConn;

const PAGE: i64 = 500;

struct Lines<'a> {
    out: &'a mut dyn Write,
    counts: Counts,
}

#[derive(Serialize)]
struct RowLine<'a, T> {
    table: &'a str,
    row: &'a T,
}

#[derive(Serialize)]
struct EndLine<'a> {
    end: bool,
    counts: &'a Counts,
}

impl Lines<'_> {
    fn line<T: Serialize>(&mut self, value: &T) -> Result<(), TransferError> {
        serde_json::to_writer(&mut *self.out, value).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn row<T: Serialize>(&mut self, table: &str, row: &T) -> Result<(), TransferError> {
        self.line(&RowLine { table, row })?;
        self.counts.add(table);
        Ok(())
    }
}

/// Rows of a table with an `id` key, in id order. For comments that puts parents before
/// replies: a reply can only be written after its parent exists.
macro_rules! by_id {
    ($lines:expr, $conn:expr, $table:ident, $row:ty) => {{
        let mut after = i64::MIN;
        loop {
            let page: Vec<$row> = $table::table
                .filter($table::id.gt(after))
                .order($table::id)
                .limit(PAGE)
                .load($conn)?;
            for row in &page {
                $lines.row(stringify!($table), row)?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = last.id,
                _ => break,
            }
        }
    }};
}

/// Rows of a table keyed by (parent id, position), in that order.
macro_rules! by_position {
    ($lines:expr, $conn:expr, $table:ident, $row:ty, $parent:ident) => {{
        let mut after: Option<(i64, i32)> = None;
        loop {
            let mut query = $table::table
                .order(($table::$parent, $table::position))
                .limit(PAGE)
                .into_boxed();
            if let Some((parent, position)) = after {
                query = query.filter(
                    $table::$parent.gt(parent).or($table::$parent
                        .eq(parent)
                        .and($table::position.gt(position))),
                );
            }
            let page: Vec<$row> = query.load($conn)?;
            for row in &page {
                $lines.row(stringify!($table), row)?;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some((last.$parent, last.position))
                }
                _ => break,
            }
        }
    }};
}

/// Writes the whole database to `out` and returns the rows per table. Reads run in one
/// transaction — REPEATABLE READ on PostgreSQL, a WAL read snapshot on SQLite — so a server
/// writing meanwhile cannot make the export inconsistent.
pub fn export(conn: &mut DbConn, out: &mut dyn Write) -> Result<Counts, TransferError> {
    check_migrated(conn)?;
    let backend = match conn {
        DbConn::Pg(_) => "postgres",
        DbConn::Sqlite(_) => "sqlite",
    };
    let mut lines = Lines {
        out,
        counts: Counts::default(),
    };
    lines.line(&Header {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        masthead_version: Some(env!("CARGO_PKG_VERSION").into()),
        backend: Some(backend.into()),
    })?;
    conn.transaction(|conn| {
        if let DbConn::Pg(_) = conn {
            conn.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        write_tables(&mut lines, conn)
    })?;
    let counts = lines.counts.clone();
    lines.line(&EndLine {
        end: true,
        counts: &counts,
    })?;
    Ok(counts)
}

fn write_tables(lines: &mut Lines<'_>, conn: &mut DbConn) -> Result<(), TransferError> {
    by_id!(lines, conn, users, UserRow);

    let mut kept: Vec<SettingRow> = settings::table.load(conn)?;
    kept.retain(|s| !PRIVATE_SETTINGS.contains(&s.key.as_str()));
    kept.sort_by(|a, b| a.key.cmp(&b.key));
    for row in &kept {
        lines.row("settings", row)?;
    }

    by_id!(lines, conn, articles, ArticleRow);
    by_position!(lines, conn, article_tags, ArticleTagRow, article_id);
    // Old slugs are few (one per rename): sorted here, by bytes, so both backends write the
    // same order whatever their collation.
    let mut slugs: Vec<ArticleSlugRow> = article_slugs::table.load(conn)?;
    slugs.sort_by(|a, b| (a.article_id, &a.slug).cmp(&(b.article_id, &b.slug)));
    for row in &slugs {
        lines.row("article_slugs", row)?;
    }
    by_id!(lines, conn, article_revisions, RevisionRow);

    by_id!(lines, conn, series, SeriesRow);
    let mut slugs: Vec<SeriesSlugRow> = series_slugs::table.load(conn)?;
    slugs.sort_by(|a, b| (a.series_id, &a.slug).cmp(&(b.series_id, &b.slug)));
    for row in &slugs {
        lines.row("series_slugs", row)?;
    }
    by_position!(lines, conn, series_articles, SeriesArticleRow, series_id);

    by_id!(lines, conn, comments, CommentRow);
    by_id!(lines, conn, comment_moderation_log, ModerationLogRow);
    by_id!(lines, conn, comment_blocklist, BlockRow);

    by_id!(lines, conn, webhooks, WebhookRow);
    by_id!(lines, conn, webhook_deliveries, DeliveryRow);
    Ok(())
}
