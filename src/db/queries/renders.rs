//! Stored public renders of articles (`article_renders`): the JSON readers get, kept until a
//! trigger on whatever it shows empties it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{article_renders, articles};
use crate::db::DbConn;

/// An article found by slug, with what is stored of its public render.
///
/// A render is stored only for an article readers see, and every change to the article empties
/// it (triggers): a render present here is one readers may have, without reading the article's
/// status. (That keeps the look-up to the slug index, whose entries hold the id, and the render.)
#[derive(Debug, Queryable)]
pub struct Lookup {
    pub article_id: i64,
    /// `None` only where the render row is missing (never after the migration that made them).
    pub generation: Option<i64>,
    pub etag: Option<String>,
    pub valid_until: Option<NaiveDateTime>,
    pub body: Option<String>,
}

impl Lookup {
    /// The stored body and ETag, if they still hold at `now`; else the look-up back, to render
    /// from (and to learn whether readers see the article at all).
    pub fn current(self, now: NaiveDateTime) -> Result<(Vec<u8>, String), Self> {
        match self {
            Lookup {
                body: Some(body),
                etag: Some(etag),
                valid_until,
                ..
            } if valid_until.is_none_or(|t| t > now) => Ok((body.into_bytes(), etag)),
            stale => Err(stale),
        }
    }
}

/// What a `Lookup` reads, from the articles joined to their renders.
#[diesel::dsl::auto_type(no_type_alias)]
fn lookup_columns() -> _ {
    (
        articles::id,
        article_renders::generation.nullable(),
        article_renders::etag.nullable(),
        article_renders::valid_until.nullable(),
        article_renders::body.nullable(),
    )
}

/// The article with `slug` and its stored render, in one statement that reads none of the
/// article's bodies.
pub fn by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Lookup>> {
    let query = articles::table
        .left_join(article_renders::table)
        .filter(articles::slug.eq(slug))
        .select(lookup_columns());
    crate::on_backend!(conn, |c| query.first(c).optional())
}

/// `by_slug` for several slugs in one statement: each article found, with its slug.
pub fn by_slugs(conn: &mut DbConn, slugs: &[&str]) -> QueryResult<Vec<(String, Lookup)>> {
    let query = articles::table
        .left_join(article_renders::table)
        .filter(articles::slug.eq_any(slugs))
        .select((articles::slug, lookup_columns()));
    crate::on_backend!(conn, |c| query.load(c))
}

/// The current generation of article `id`'s render.
pub fn generation_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    article_renders::table
        .find(id)
        .select(article_renders::generation)
        .first(conn)
        .optional()
}

/// Stores a render of article `id` made from data read after `generation` was read: kept only
/// if no change has bumped the generation since. Whether it was kept.
pub fn store(
    conn: &mut DbConn,
    id: i64,
    generation: i64,
    etag: &str,
    valid_until: Option<NaiveDateTime>,
    body: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        article_renders::table
            .filter(article_renders::article_id.eq(id))
            .filter(article_renders::generation.eq(generation)),
    )
    .set((
        article_renders::etag.eq(etag),
        article_renders::valid_until.eq(valid_until),
        article_renders::body.eq(body),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
