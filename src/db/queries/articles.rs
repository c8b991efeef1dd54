//! Article queries: look-ups, the keyset-paged list with its filters and full-text search, and
//! the rows written with each change (tags, old slugs, revisions, the SQLite search index).

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Text};

use crate::db::models::{Article, ArticleGate, ArticleSummaryRow, ArticleWrite, Revision};
use crate::db::schema::{
    article_revisions, article_slugs, article_tags, articles, series, series_articles, users,
};
use crate::db::{DbConn, MultiBackend};
use crate::domain::article::{tag_slug, Status};

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Article>> {
    articles::table
        .find(id)
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// Whether any article exists.
pub fn any(conn: &mut DbConn) -> QueryResult<bool> {
    let n: i64 = articles::table.count().get_result(conn)?;
    Ok(n > 0)
}

pub fn find_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<Article>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// The gate columns of the article with `slug`.
pub fn gate_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<ArticleGate>> {
    articles::table
        .filter(articles::slug.eq(slug))
        .select(ArticleGate::as_select())
        .first(conn)
        .optional()
}

/// The current slug of the article that once had `old`.
pub fn current_slug_for_old(
    conn: &mut DbConn,
    old: &str,
) -> QueryResult<Option<(String, String, Option<NaiveDateTime>)>> {
    article_slugs::table
        .inner_join(articles::table)
        .filter(article_slugs::slug.eq(old))
        .select((articles::slug, articles::status, articles::published_at))
        .first(conn)
        .optional()
}

/// Whether `slug` is the current or an old slug of an article other than `except`.
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> QueryResult<bool> {
    let except = except.unwrap_or(0);
    let current: i64 = articles::table
        .filter(articles::slug.eq(slug))
        .filter(articles::id.ne(except))
        .count()
        .get_result(conn)?;
    if current > 0 {
        return Ok(true);
    }
    let old: i64 = article_slugs::table
        .filter(article_slugs::slug.eq(slug))
        .filter(article_slugs::article_id.ne(except))
        .count()
        .get_result(conn)?;
    Ok(old > 0)
}

pub fn insert(conn: &mut DbConn, row: &ArticleWrite) -> QueryResult<Article> {
    diesel::insert_into(articles::table)
        .values(row)
        .get_result::<Article>(conn)
}

/// Writes `row` only if the stored version is still `expected_version`; 0 rows means another
/// write got there first.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    expected_version: i32,
    row: &ArticleWrite,
) -> QueryResult<usize> {
    diesel::update(
        articles::table
            .filter(articles::id.eq(id))
            .filter(articles::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: i64, expected_version: i32) -> QueryResult<usize> {
    if let DbConn::Sqlite(_) = conn {
        unindex_for_search(conn, id)?;
    }
    diesel::delete(
        articles::table
            .filter(articles::id.eq(id))
            .filter(articles::version.eq(expected_version)),
    )
    .execute(conn)
}

/// The article `id` with its author's display name.
pub fn find_with_author(conn: &mut DbConn, id: i64) -> QueryResult<Option<(Article, String)>> {
    articles::table
        .inner_join(users::table)
        .filter(articles::id.eq(id))
        .select((Article::as_select(), users::display_name))
        .first(conn)
        .optional()
}

/// The full articles among `ids`, with their authors' display names, by id.
pub fn with_authors(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(Article, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    articles::table
        .inner_join(users::table)
        .filter(articles::id.eq_any(ids))
        .order(articles::id)
        .select((Article::as_select(), users::display_name))
        .load(conn)
}

/// Tags of each article in `ids`, in their stored order.
/// The tags of article `id`, in order (a statement SQLite prepares once per connection).
pub fn tags_of(conn: &mut DbConn, id: i64) -> QueryResult<Vec<String>> {
    article_tags::table
        .filter(article_tags::article_id.eq(id))
        .order(article_tags::position)
        .select(article_tags::tag)
        .load(conn)
}

/// The tags of every article in `ids` (a list page), as `(article id, tag)` in order.
pub fn tags_for(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    article_tags::table
        .filter(article_tags::article_id.eq_any(ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, article_tags::tag))
        .load(conn)
}

pub fn set_tags(conn: &mut DbConn, id: i64, tags: &[String]) -> QueryResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(id))).execute(conn)?;
    // One row per statement: batch inserts do not compile through the connection enum, and an
    // article has at most 20 tags.
    for (i, t) in tags.iter().enumerate() {
        diesel::insert_into(article_tags::table)
            .values((
                article_tags::article_id.eq(id),
                article_tags::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
                article_tags::tag.eq(t.as_str()),
                article_tags::tag_slug.eq(tag_slug(t)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps `old` as a redirecting slug of `id`; `new` stops being one (an article may move back).
pub fn move_slug(
    conn: &mut DbConn,
    id: i64,
    old: &str,
    new: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(article_slugs::table.filter(article_slugs::slug.eq(new))).execute(conn)?;
    diesel::insert_into(article_slugs::table)
        .values((
            article_slugs::slug.eq(old),
            article_slugs::article_id.eq(id),
            article_slugs::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether an article of this status is in the public search table (SQLite): published ones
/// and scheduled ones, which become public with time alone, with no write to move them.
fn ranks_publicly(status: &str) -> bool {
    status == Status::Published.as_str() || status == Status::Scheduled.as_str()
}

/// The SQLite full-text table of public (and scheduled) articles, or of the others. bm25 scores
/// a match with statistics of the whole table it reads, so public searches read a table that
/// holds no draft: a draft's words cannot change a public article's rank.
fn fts_table(public: bool) -> &'static str {
    if public {
        "articles_fts"
    } else {
        "articles_fts_staff"
    }
}

fn unindex_for_search(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    for table in [fts_table(true), fts_table(false)] {
        diesel::sql_query(format!("DELETE FROM {table} WHERE rowid = ?"))
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps the SQLite full-text index in step (PostgreSQL indexes an expression of the row).
pub fn index_for_search(conn: &mut DbConn, article: &Article) -> QueryResult<()> {
    if let DbConn::Sqlite(_) = conn {
        use diesel::sql_types::{BigInt, Nullable};
        unindex_for_search(conn, article.id)?;
        let table = fts_table(ranks_publicly(&article.status));
        diesel::sql_query(format!(
            "INSERT INTO {table} (rowid, title, subtitle, body) VALUES (?, ?, ?, ?)"
        ))
        .bind::<BigInt, _>(article.id)
        .bind::<Text, _>(&article.title)
        .bind::<Nullable<Text>, _>(&article.subtitle)
        .bind::<Text, _>(&article.plain_text)
        .execute(conn)?;
    }
    Ok(())
}

pub fn insert_revision(conn: &mut DbConn, revision: &Revision) -> QueryResult<usize> {
    diesel::insert_into(article_revisions::table)
        .values(revision)
        .execute(conn)
}

pub fn find_revision(
    conn: &mut DbConn,
    article_id: i64,
    rev: i32,
) -> QueryResult<Option<Revision>> {
    article_revisions::table
        .filter(article_revisions::article_id.eq(article_id))
        .filter(article_revisions::rev.eq(rev))
        .select(Revision::as_select())
        .first(conn)
        .optional()
}

/// Revisions newest first, below `before_rev`, with each editor's display name.
pub fn list_revisions(
    conn: &mut DbConn,
    article_id: i64,
    before_rev: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<(Revision, String)>> {
    let mut query = article_revisions::table
        .inner_join(users::table)
        .filter(article_revisions::article_id.eq(article_id))
        .select((Revision::as_select(), users::display_name))
        .order(article_revisions::rev.desc())
        .limit(limit)
        .into_boxed();
    if let Some(rev) = before_rev {
        query = query.filter(article_revisions::rev.lt(rev));
    }
    query.load(conn)
}

pub fn author_name(conn: &mut DbConn, user_id: i64) -> QueryResult<String> {
    users::table
        .find(user_id)
        .select(users::display_name)
        .first(conn)
}

/// Which articles a list shows.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// What readers see at this moment.
    Public(NaiveDateTime),
    /// Staff asking for one status.
    Status(Status),
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy)]
pub enum After {
    Time(NaiveDateTime, i64),
    Rank(f64, i64),
}

#[derive(Debug, Clone)]
pub struct ListFilter {
    pub visibility: Visibility,
    pub tag: Option<String>,
    /// A series slug.
    pub series: Option<String>,
    /// The author's user id.
    pub author: Option<i64>,
    /// Search terms, already split into words.
    pub terms: Option<Vec<String>>,
    pub published_after: Option<NaiveDateTime>,
    pub published_before: Option<NaiveDateTime>,
    pub oldest_first: bool,
    pub after: Option<After>,
    pub limit: i64,
}

type Source = diesel::dsl::InnerJoinQuerySource<articles::table, users::table>;
type BoxedBool = Box<dyn BoxableExpression<Source, MultiBackend, SqlType = Bool>>;
type BoxedDouble = Box<dyn BoxableExpression<Source, MultiBackend, SqlType = Double>>;

/// The PostgreSQL search document: a stored column (title weight A, subtitle B, body text C)
/// with a GIN index, so ranking reads it instead of parsing each matching article again.
const PG_DOCUMENT: &str = "articles.search_document";

fn search_match(conn: &DbConn, terms: &[String]) -> BoxedBool {
    match conn {
        DbConn::Sqlite(_) => Box::new(
            sql::<Bool>("articles.id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH ")
                .bind::<Text, _>(fts5_query(terms))
                .sql(")"),
        ),
        DbConn::Pg(_) => Box::new(
            sql::<Bool>(&format!("{PG_DOCUMENT} @@ plainto_tsquery('simple', "))
                .bind::<Text, _>(terms.join(" "))
                .sql(")"),
        ),
    }
}

/// Relevance: higher is better on both backends.
fn search_rank(conn: &DbConn, terms: &[String]) -> BoxedDouble {
    match conn {
        DbConn::Sqlite(_) => Box::new(
            sql::<Double>(
                "(SELECT -bm25(articles_fts, 10.0, 5.0, 1.0) FROM articles_fts \
                 WHERE articles_fts MATCH ",
            )
            .bind::<Text, _>(fts5_query(terms))
            .sql(" AND articles_fts.rowid = articles.id)"),
        ),
        DbConn::Pg(_) => Box::new(
            sql::<Double>(&format!(
                "ts_rank({PG_DOCUMENT}, plainto_tsquery('simple', "
            ))
            .bind::<Text, _>(terms.join(" "))
            .sql("))::float8"),
        ),
    }
}

/// Each word quoted, so nothing a reader types is read as FTS5 syntax.
fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One page (plus one row, to tell whether another page exists) of article summaries with
/// their authors' names and, when searching, their relevance.
pub fn list(
    conn: &mut DbConn,
    f: &ListFilter,
) -> QueryResult<Vec<(ArticleSummaryRow, String, f64)>> {
    match (&f.terms, &*conn) {
        (Some(terms), DbConn::Sqlite(_)) => sqlite_search(conn, f, terms),
        (Some(terms), DbConn::Pg(_)) if terms.len() == 1 => {
            // Headings first: a page filled from the articles with the word in their title or
            // subtitle is the page (`PG_HEADINGS`). Otherwise the whole ranking, as for
            // several words.
            let page = list_filtered(conn, f, None, Some(&terms[0]))?;
            if i64::try_from(page.len()).is_ok_and(|n| n >= f.limit) {
                Ok(page)
            } else {
                list_filtered(conn, f, None, None)
            }
        }
        _ => list_filtered(conn, f, None, None),
    }
}

/// On PostgreSQL, a search for one word ranks the articles with that word in their title or
/// subtitle above all others: `ts_rank` with its default weights scores a lone word that is
/// only in the body (weight C, 0.2) below 0.2, and one with an A (title, 1.0) or B (subtitle,
/// 0.4) place at 0.4 / 1.645 = 0.243 or more. So when those articles fill a page, it is read
/// through this expression's GIN index (`articles_search_heading`, the document's A and B
/// parts) without ranking every match: a word in one title in 24, 100,000 articles matching
/// it, ranked 6 times faster. `numnode` keeps that to queries of one word: several are ranked
/// by how close they stand, with no such bound.
const PG_HEADINGS: &str = "(setweight(to_tsvector('simple', articles.title), 'A') \
    || setweight(to_tsvector('simple', coalesce(articles.subtitle, '')), 'B'))";

fn heading_match(word: &str) -> BoxedBool {
    Box::new(
        sql::<Bool>(&format!("{PG_HEADINGS} @@ plainto_tsquery('simple', "))
            .bind::<Text, _>(word.to_owned())
            .sql(") AND numnode(plainto_tsquery('simple', ")
            .bind::<Text, _>(word.to_owned())
            .sql(")) = 1"),
    )
}

/// Searching on SQLite: one pass over the full-text index ranks every match, then the other
/// filters run over the best-ranked ids a chunk at a time until a page is full. (Ranking
/// inside the article query would run the full-text match once per candidate row.)
fn sqlite_search(
    conn: &mut DbConn,
    f: &ListFilter,
    terms: &[String],
) -> QueryResult<Vec<(ArticleSummaryRow, String, f64)>> {
    #[derive(QueryableByName)]
    struct Ranked {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = Double)]
        rank: f64,
    }
    let DbConn::Sqlite(lite) = conn else {
        return list_filtered(conn, f, None, None);
    };
    // Readers, and staff asking for published or scheduled articles, search the public table;
    // staff asking for drafts or archived ones, the other.
    let table = fts_table(match f.visibility {
        Visibility::Public(_) => true,
        Visibility::Status(status) => ranks_publicly(status.as_str()),
    });
    let mut ranked: Vec<(f64, i64)> = diesel::sql_query(format!(
        "SELECT rowid AS id, -bm25({table}, 10.0, 5.0, 1.0) AS rank \
         FROM {table} WHERE {table} MATCH ?"
    ))
    .bind::<Text, _>(fts5_query(terms))
    .load::<Ranked>(lite)?
    .into_iter()
    .map(|r| (r.rank, r.id))
    .collect();
    // Best first; ties by id, newest first, as on PostgreSQL.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    if let Some(After::Rank(rank, id)) = f.after {
        ranked.retain(|(r, i)| *r < rank || (*r == rank && *i < id));
    }
    let mut plain = f.clone();
    plain.terms = None;
    plain.after = None;
    let chunk = usize::try_from(f.limit.max(1) * 4).unwrap_or(100).max(100);
    let wanted = usize::try_from(f.limit).unwrap_or(usize::MAX);
    let mut page = Vec::new();
    for part in ranked.chunks(chunk) {
        let ids: Vec<i64> = part.iter().map(|(_, id)| *id).collect();
        plain.limit = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        let mut rows: std::collections::HashMap<i64, (ArticleSummaryRow, String)> =
            list_filtered(conn, &plain, Some(&ids), None)?
                .into_iter()
                .map(|(row, name, _)| (row.id, (row, name)))
                .collect();
        for (rank, id) in part {
            if let Some((row, name)) = rows.remove(id) {
                page.push((row, name, *rank));
                if page.len() >= wanted {
                    return Ok(page);
                }
            }
        }
    }
    Ok(page)
}

/// The list query; `only_ids` narrows it to those articles (and leaves ranking to the caller),
/// `heading_word` to those with that word in their title or subtitle (PostgreSQL).
fn list_filtered(
    conn: &mut DbConn,
    f: &ListFilter,
    only_ids: Option<&[i64]>,
    heading_word: Option<&str>,
) -> QueryResult<Vec<(ArticleSummaryRow, String, f64)>> {
    let base = articles::table.inner_join(users::table);
    let mut query = match &f.terms {
        Some(terms) => base
            .select((
                ArticleSummaryRow::as_select(),
                users::display_name,
                search_rank(conn, terms),
            ))
            .into_boxed(),
        None => base
            .select((
                ArticleSummaryRow::as_select(),
                users::display_name,
                Box::new(sql::<Double>("0.0")) as BoxedDouble,
            ))
            .into_boxed(),
    };

    query = match f.visibility {
        // SQLite would answer the status test from the status index and then sort every
        // public article; the unary `+` keeps it walking the (sort_at, id) index in order and
        // stopping after one page.
        Visibility::Public(now) if matches!(conn, DbConn::Sqlite(_)) => query.filter(
            sql::<Bool>("(+articles.status = 'published' OR (+articles.status = 'scheduled' AND articles.published_at <= ")
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .sql("))"),
        ),
        Visibility::Public(now) => query.filter(
            articles::status
                .eq(Status::Published.as_str())
                .or(articles::status
                    .eq(Status::Scheduled.as_str())
                    .and(articles::published_at.le(now))),
        ),
        Visibility::Status(s) => query.filter(articles::status.eq(s.as_str())),
    };
    if let Some(tag) = &f.tag {
        query = query.filter(
            articles::id.eq_any(
                article_tags::table.select(article_tags::article_id).filter(
                    article_tags::tag
                        .eq(tag.clone())
                        .or(article_tags::tag_slug.eq(tag_slug(tag))),
                ),
            ),
        );
    }
    if let Some(ids) = only_ids {
        query = query.filter(articles::id.eq_any(ids.to_vec()));
    }
    if let Some(slug) = &f.series {
        query = query.filter(
            articles::id.eq_any(
                series_articles::table
                    .inner_join(series::table)
                    .filter(series::slug.eq(slug.clone()))
                    .select(series_articles::article_id),
            ),
        );
    }
    if let Some(id) = f.author {
        query = query.filter(articles::author_id.eq(id));
    }
    if let Some(t) = f.published_after {
        query = query.filter(articles::published_at.gt(t));
    }
    if let Some(t) = f.published_before {
        query = query.filter(articles::published_at.lt(t));
    }

    if let Some(word) = heading_word {
        query = query.filter(heading_match(word));
    }
    if let Some(terms) = &f.terms {
        query = query.filter(search_match(conn, terms));
        if let Some(After::Rank(rank, id)) = f.after {
            query = query.filter(
                search_rank(conn, terms)
                    .lt(rank)
                    .or(search_rank(conn, terms).eq(rank).and(articles::id.lt(id))),
            );
        }
        query = query.order((search_rank(conn, terms).desc(), articles::id.desc()));
    } else {
        // The plain bound on `sort_at` beside the exact one is what lets PostgreSQL start its
        // walk of the (sort_at, id) index at the cursor: from the exact test alone it walked
        // from the newest article and filtered every row before the cursor out (a page halfway
        // down 100,000 articles: 147 ms and 25,000 buffers, against 0.06 ms and 14).
        if let Some(After::Time(t, id)) = f.after {
            query = if f.oldest_first {
                query.filter(articles::sort_at.ge(t)).filter(
                    articles::sort_at
                        .gt(t)
                        .or(articles::sort_at.eq(t).and(articles::id.gt(id))),
                )
            } else {
                query.filter(articles::sort_at.le(t)).filter(
                    articles::sort_at
                        .lt(t)
                        .or(articles::sort_at.eq(t).and(articles::id.lt(id))),
                )
            };
        }
        query = if f.oldest_first {
            query.order((articles::sort_at.asc(), articles::id.asc()))
        } else {
            query.order((articles::sort_at.desc(), articles::id.desc()))
        };
    }
    query.limit(f.limit).load(conn)
}
