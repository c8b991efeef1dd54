//! Series queries: look-ups, the keyset-paged list, old slugs, and the ordered membership rows,
//! which are always rewritten as a whole so positions stay 1..n.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{Series, SeriesWrite};
use crate::db::schema::{articles, series, series_articles, series_slugs};
use crate::db::DbConn;
use crate::domain::article::Status;

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Series>> {
    series::table
        .find(id)
        .select(Series::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Series>> {
    series::table
        .filter(series::slug.eq(slug))
        .select(Series::as_select())
        .first(conn)
        .optional()
}

/// Takes the series' row lock until the transaction ends, so that writers of one series go one
/// at a time on PostgreSQL (SQLite's `BEGIN IMMEDIATE` already serialises every writer).
pub fn lock(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT id FROM series WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

/// The current slug of the series that once had `old`.
pub fn current_slug_for_old(conn: &mut DbConn, old: &str) -> QueryResult<Option<String>> {
    series_slugs::table
        .inner_join(series::table)
        .filter(series_slugs::slug.eq(old))
        .select(series::slug)
        .first(conn)
        .optional()
}

/// Whether `slug` is the current or an old slug of a series other than `except`.
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> QueryResult<bool> {
    let except = except.unwrap_or(0);
    let current: i64 = series::table
        .filter(series::slug.eq(slug))
        .filter(series::id.ne(except))
        .count()
        .get_result(conn)?;
    if current > 0 {
        return Ok(true);
    }
    let old: i64 = series_slugs::table
        .filter(series_slugs::slug.eq(slug))
        .filter(series_slugs::series_id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(old > 0)
}

pub fn insert(conn: &mut DbConn, row: &SeriesWrite) -> QueryResult<Series> {
    diesel::insert_into(series::table)
        .values(row)
        .get_result::<Series>(conn)
}

/// Writes `row` only if the stored version is still `expected_version`.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    expected_version: i32,
    row: &SeriesWrite,
) -> QueryResult<usize> {
    diesel::update(
        series::table
            .filter(series::id.eq(id))
            .filter(series::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

/// Marks a change of membership: a new version and `updated_at`.
pub fn touch(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(series::table.filter(series::id.eq(id)))
        .set((
            series::version.eq(series::version + 1),
            series::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64, expected_version: i32) -> QueryResult<usize> {
    diesel::delete(
        series::table
            .filter(series::id.eq(id))
            .filter(series::version.eq(expected_version)),
    )
    .execute(conn)
}

/// Keeps `old` as a redirecting slug of `id`; `new` stops being one (a series may move back).
pub fn move_slug(
    conn: &mut DbConn,
    id: i64,
    old: &str,
    new: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(series_slugs::table.filter(series_slugs::slug.eq(new))).execute(conn)?;
    diesel::insert_into(series_slugs::table)
        .values((
            series_slugs::slug.eq(old),
            series_slugs::series_id.eq(id),
            series_slugs::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Series newest first, below `before_id`.
pub fn list(conn: &mut DbConn, before_id: Option<i64>, limit: i64) -> QueryResult<Vec<Series>> {
    let mut query = series::table
        .select(Series::as_select())
        .order(series::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = before_id {
        query = query.filter(series::id.lt(id));
    }
    query.load(conn)
}

/// How many articles each of `ids` holds; with `public_at`, only those public at that time.
pub fn article_counts(
    conn: &mut DbConn,
    ids: &[i64],
    public_at: Option<NaiveDateTime>,
) -> QueryResult<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = series_articles::table
        .inner_join(articles::table)
        .filter(series_articles::series_id.eq_any(ids))
        .group_by(series_articles::series_id)
        .select((series_articles::series_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(now) = public_at {
        query = query.filter(
            articles::status
                .eq(Status::Published.as_str())
                .or(articles::status
                    .eq(Status::Scheduled.as_str())
                    .and(articles::published_at.le(now))),
        );
    }
    query.load(conn)
}

/// One article of a series, in the series' order.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = series_articles)]
pub struct Member {
    pub series_id: i64,
    pub position: i32,
    #[diesel(select_expression = articles::id)]
    pub article_id: i64,
    #[diesel(select_expression = articles::slug)]
    pub slug: String,
    #[diesel(select_expression = articles::title)]
    pub title: String,
    #[diesel(select_expression = articles::excerpt)]
    pub excerpt: String,
    #[diesel(select_expression = articles::status)]
    pub status: String,
    #[diesel(select_expression = articles::published_at)]
    pub published_at: Option<NaiveDateTime>,
}

/// Every article of series `id`, in order.
pub fn members(conn: &mut DbConn, id: i64) -> QueryResult<Vec<Member>> {
    series_articles::table
        .inner_join(articles::table)
        .filter(series_articles::series_id.eq(id))
        .order(series_articles::position)
        .select(Member::as_select())
        .load(conn)
}

/// Every article of the series in `ids` (the series that `article_id` is in), grouped by series
/// and in order. On SQLite one statement of a fixed shape (a sub-select: `IN (...)` over a list
/// is prepared again on every call); on PostgreSQL the list itself, which its planner sees
/// and answers with index look-ups, where a generic plan for the sub-select may scan and hash
/// both tables.
pub fn members_of_series_with(
    conn: &mut DbConn,
    article_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<Member>> {
    let query = series_articles::table
        .inner_join(articles::table)
        .order((series_articles::series_id, series_articles::position))
        .select(Member::as_select());
    match conn {
        DbConn::Sqlite(_) => {
            let containing = diesel::alias!(series_articles as containing);
            query
                .filter(
                    series_articles::series_id.eq_any(
                        containing
                            .filter(containing.field(series_articles::article_id).eq(article_id))
                            .select(containing.field(series_articles::series_id)),
                    ),
                )
                .load(conn)
        }
        DbConn::Pg(_) => query
            .filter(series_articles::series_id.eq_any(ids))
            .load(conn),
    }
}

/// The article ids of a series in order.
pub fn member_ids(conn: &mut DbConn, id: i64) -> QueryResult<Vec<i64>> {
    series_articles::table
        .filter(series_articles::series_id.eq(id))
        .order(series_articles::position)
        .select(series_articles::article_id)
        .load(conn)
}

/// The series an article is in, by id: `(id, slug, title)`.
pub fn containing(conn: &mut DbConn, article_id: i64) -> QueryResult<Vec<(i64, String, String)>> {
    series_articles::table
        .inner_join(series::table)
        .filter(series_articles::article_id.eq(article_id))
        .order(series::id)
        .select((series::id, series::slug, series::title))
        .load(conn)
}

/// Replaces the order of a series: `article_ids[i]` gets position `i + 1`. Run inside a
/// transaction; rewriting every row means no intermediate state breaks the unique position.
pub fn set_order(conn: &mut DbConn, id: i64, article_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(series_articles::table.filter(series_articles::series_id.eq(id)))
        .execute(conn)?;
    // One row per statement: batch inserts do not compile through the connection enum.
    for (i, article_id) in article_ids.iter().enumerate() {
        diesel::insert_into(series_articles::table)
            .values((
                series_articles::series_id.eq(id),
                series_articles::article_id.eq(article_id),
                series_articles::position.eq(i32::try_from(i + 1).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Which of `ids` are articles.
pub fn existing_articles(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    articles::table
        .filter(articles::id.eq_any(ids))
        .select(articles::id)
        .load(conn)
}
