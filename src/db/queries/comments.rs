//! Comment queries: intake checks, the public thread (approved comments whose every ancestor is
//! approved, in thread order), the moderators' queue, the moderation log and the blocklist.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{BlockEntry, Comment, NewCommentRow, PublicCommentRow};
use crate::db::schema::{
    articles, comment_blocklist, comment_intake, comment_moderation_log, comments, users,
};
use crate::db::DbConn;
use crate::domain::comment::CommentStatus;

/// The thread path of a comment: its parent's path and its own zero-padded id.
pub fn thread_path(parent_path: Option<&str>, id: i64) -> String {
    format!("{}{id:012}/", parent_path.unwrap_or(""))
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Comment>> {
    comments::table
        .find(id)
        .select(Comment::as_select())
        .first(conn)
        .optional()
}

pub fn article_slug(conn: &mut DbConn, article_id: i64) -> QueryResult<String> {
    articles::table
        .find(article_id)
        .select(articles::slug)
        .first(conn)
}

pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<Comment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    comments::table
        .filter(comments::id.eq_any(ids))
        .select(Comment::as_select())
        .load(conn)
}

/// Takes the row locks of the comments in `ids` until the transaction ends, in id order so two
/// moderators locking overlapping sets cannot deadlock. A moderation step checks the state it
/// expects and writes the new one under these locks on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already serialises every writer.
pub fn lock(conn: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        if ids.is_empty() {
            return Ok(());
        }
        comments::table
            .filter(comments::id.eq_any(ids))
            .order(comments::id)
            .select(comments::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

/// Serialises the intake of one client's comments across instances (PostgreSQL), so the rate
/// limit cannot be raced; SQLite's `BEGIN IMMEDIATE` already serialises every writer.
pub fn lock_client(conn: &mut DbConn, key: i64) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// How many comments the client with rate key `client_key` posted since `since`, and when the
/// oldest of them came. Notes older than `since` are deleted first (of every client: they only
/// ever serve one window).
pub fn recent_from(
    conn: &mut DbConn,
    client_key: &str,
    since: NaiveDateTime,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    diesel::delete(comment_intake::table.filter(comment_intake::taken_at.le(since)))
        .execute(conn)?;
    comment_intake::table
        .filter(comment_intake::client_key.eq(client_key))
        .filter(comment_intake::taken_at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(comment_intake::taken_at),
        ))
        .first(conn)
}

/// Notes that the client with rate key `client_key` posted a comment at `now`.
pub fn note_intake(conn: &mut DbConn, client_key: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(comment_intake::table)
        .values((
            comment_intake::client_key.eq(client_key),
            comment_intake::taken_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn duplicate_exists(conn: &mut DbConn, article_id: i64, key: &str) -> QueryResult<bool> {
    let n: i64 = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::duplicate_key.eq(key))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether this e-mail (lowercased) has an approved comment anywhere.
pub fn email_has_approved(conn: &mut DbConn, email_key: &str) -> QueryResult<bool> {
    let n: i64 = comments::table
        .filter(comments::email_key.eq(email_key))
        .filter(comments::status.eq(CommentStatus::Approved.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Inserts the comment and gives it its thread path, which needs its id.
pub fn insert(
    conn: &mut DbConn,
    row: &NewCommentRow,
    parent_path: Option<&str>,
) -> QueryResult<Comment> {
    // Every comment posted runs these two, one after another on SQLite's one writer.
    let insert = diesel::insert_into(comments::table).values(row);
    let inserted: Comment = crate::on_backend!(conn, |c| insert.get_result(c))?;
    let path = thread_path(parent_path, inserted.id);
    let update =
        diesel::update(comments::table.find(inserted.id)).set(comments::thread_path.eq(&path));
    crate::on_backend!(conn, |c| update.execute(c))?;
    Ok(Comment {
        thread_path: path,
        ..inserted
    })
}

/// One page of the public thread after `after_path`, in thread order.
pub fn public_thread(
    conn: &mut DbConn,
    article_id: i64,
    after_path: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PublicCommentRow>> {
    let mut query = comments::table
        .filter(comments::article_id.eq(article_id))
        .filter(comments::visible.eq(true))
        .select(PublicCommentRow::as_select())
        .order(comments::thread_path)
        .limit(limit)
        .into_boxed();
    if let Some(p) = after_path {
        query = query.filter(comments::thread_path.gt(p.to_string()));
    }
    query.load(conn)
}

/// Works out again which comments of `article_id` readers see (approved, under approved
/// ancestors only), and counts them into `articles.comment_count`. Run after every change of a
/// status or of the tree; it reads the article's comments once, in thread order, so parents
/// come before their replies.
pub fn recount(conn: &mut DbConn, article_id: i64) -> QueryResult<()> {
    let rows: Vec<(i64, Option<i64>, String, bool)> = comments::table
        .filter(comments::article_id.eq(article_id))
        .order(comments::thread_path)
        .select((
            comments::id,
            comments::parent_id,
            comments::status,
            comments::visible,
        ))
        .load(conn)?;
    let mut shown = std::collections::HashSet::new();
    let mut count = 0i64;
    for (id, parent, status, was) in rows {
        let now_visible =
            status == CommentStatus::Approved.as_str() && parent.is_none_or(|p| shown.contains(&p));
        if now_visible {
            shown.insert(id);
            count += 1;
        }
        if now_visible != was {
            diesel::update(comments::table.find(id))
                .set(comments::visible.eq(now_visible))
                .execute(conn)?;
        }
    }
    // Unchanged, the row is left alone: rewriting it would empty the article's stored render.
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    diesel::update(
        articles::table
            .find(article_id)
            .filter(articles::comment_count.ne(count)),
    )
    .set(articles::comment_count.eq(count))
    .execute(conn)?;
    Ok(())
}

/// A comment for moderators, with its article and the moderator's name.
pub type QueueRow = (Comment, (i64, String, String), Option<String>);

/// The moderators' queue, newest first, below `before_id`.
pub fn queue(
    conn: &mut DbConn,
    status: Option<CommentStatus>,
    article_slug: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<QueueRow>> {
    let mut query = comments::table
        .inner_join(articles::table)
        .left_join(users::table)
        .select((
            Comment::as_select(),
            (articles::id, articles::slug, articles::title),
            users::display_name.nullable(),
        ))
        .order(comments::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        query = query.filter(comments::status.eq(s.as_str()));
    }
    if let Some(slug) = article_slug {
        query = query.filter(articles::slug.eq(slug.to_string()));
    }
    if let Some(id) = before_id {
        query = query.filter(comments::id.lt(id));
    }
    query.load(conn)
}

/// One comment for moderators.
pub fn queue_row(conn: &mut DbConn, id: i64) -> QueryResult<Option<QueueRow>> {
    comments::table
        .inner_join(articles::table)
        .left_join(users::table)
        .filter(comments::id.eq(id))
        .select((
            Comment::as_select(),
            (articles::id, articles::slug, articles::title),
            users::display_name.nullable(),
        ))
        .first(conn)
        .optional()
}

/// A moderation log entry with the moderator's name.
#[derive(Debug, Clone, Queryable)]
pub struct LogRow {
    pub comment_id: i64,
    pub moderator_id: Option<i64>,
    pub moderator_name: Option<String>,
    pub from_status: String,
    pub to_status: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

/// The moderation history of each comment in `ids`, oldest first.
pub fn history(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<LogRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    comment_moderation_log::table
        .left_join(users::table)
        .filter(comment_moderation_log::comment_id.eq_any(ids))
        .order((
            comment_moderation_log::comment_id,
            comment_moderation_log::id,
        ))
        .select((
            comment_moderation_log::comment_id,
            comment_moderation_log::moderator_id,
            users::display_name.nullable(),
            comment_moderation_log::from_status,
            comment_moderation_log::to_status,
            comment_moderation_log::note,
            comment_moderation_log::created_at,
        ))
        .load(conn)
}

/// Records one moderation step; `moderator_id` is `None` for the automatic filters.
pub fn log(
    conn: &mut DbConn,
    comment_id: i64,
    moderator_id: Option<i64>,
    from: &str,
    to: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(comment_moderation_log::table)
        .values((
            comment_moderation_log::comment_id.eq(comment_id),
            comment_moderation_log::moderator_id.eq(moderator_id),
            comment_moderation_log::from_status.eq(from),
            comment_moderation_log::to_status.eq(to),
            comment_moderation_log::note.eq(note),
            comment_moderation_log::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_status(
    conn: &mut DbConn,
    id: i64,
    status: CommentStatus,
    moderator_id: i64,
    note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(comments::table.find(id))
        .set((
            comments::status.eq(status.as_str()),
            comments::moderated_by.eq(Some(moderator_id)),
            comments::moderated_at.eq(Some(now)),
            comments::moderation_note.eq(note),
        ))
        .execute(conn)
}

/// Deletes a comment after moving its replies up to its parent, so none is lost: each reply's
/// subtree keeps its order under the new parent, one level higher.
pub fn delete_keeping_replies(conn: &mut DbConn, c: &Comment) -> QueryResult<()> {
    let parent_path = c
        .thread_path
        .strip_suffix(&format!("{:012}/", c.id))
        .unwrap_or("")
        .to_string();
    let subtree: Vec<(i64, String, i32)> = comments::table
        .filter(comments::article_id.eq(c.article_id))
        .filter(comments::thread_path.like(format!("{}%", c.thread_path)))
        .filter(comments::id.ne(c.id))
        .select((comments::id, comments::thread_path, comments::depth))
        .load(conn)?;
    diesel::update(comments::table.filter(comments::parent_id.eq(c.id)))
        .set(comments::parent_id.eq(c.parent_id))
        .execute(conn)?;
    for (id, path, depth) in subtree {
        let rest = path.get(c.thread_path.len()..).unwrap_or_default();
        diesel::update(comments::table.find(id))
            .set((
                comments::thread_path.eq(format!("{parent_path}{rest}")),
                comments::depth.eq(depth - 1),
            ))
            .execute(conn)?;
    }
    diesel::delete(comments::table.find(c.id)).execute(conn)?;
    Ok(())
}

/// How many comments have each status.
pub fn stats(conn: &mut DbConn) -> QueryResult<Vec<(String, i64)>> {
    comments::table
        .group_by(comments::status)
        .select((comments::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Blocklist entries in force at `now`.
pub fn active_blocks(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<BlockEntry>> {
    comment_blocklist::table
        .filter(
            comment_blocklist::expires_at
                .is_null()
                .or(comment_blocklist::expires_at.gt(now)),
        )
        .select(BlockEntry::as_select())
        .load(conn)
}

pub type BlockRow = (BlockEntry, Option<String>);

pub fn list_blocks(
    conn: &mut DbConn,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<BlockRow>> {
    let mut query = comment_blocklist::table
        .left_join(users::table)
        .select((BlockEntry::as_select(), users::display_name.nullable()))
        .order(comment_blocklist::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(comment_blocklist::id.lt(id));
    }
    query.load(conn)
}

pub fn block_row(conn: &mut DbConn, id: i64) -> QueryResult<Option<BlockRow>> {
    comment_blocklist::table
        .left_join(users::table)
        .filter(comment_blocklist::id.eq(id))
        .select((BlockEntry::as_select(), users::display_name.nullable()))
        .first(conn)
        .optional()
}

#[allow(clippy::too_many_arguments)]
pub fn insert_block(
    conn: &mut DbConn,
    kind: &str,
    value: &str,
    note: Option<&str>,
    expires_at: Option<NaiveDateTime>,
    created_by: i64,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(comment_blocklist::table)
        .values((
            comment_blocklist::kind.eq(kind),
            comment_blocklist::value.eq(value),
            comment_blocklist::note.eq(note),
            comment_blocklist::expires_at.eq(expires_at),
            comment_blocklist::created_by.eq(Some(created_by)),
            comment_blocklist::created_at.eq(now),
        ))
        .returning(comment_blocklist::id)
        .get_result(conn)
}

pub fn delete_block(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(comment_blocklist::table.find(id)).execute(conn)
}
