//! Series as the API shows them, article navigation, and every series write. Each write runs
//! in one transaction holding the series' lock, so positions are always 1..n.

use chrono::NaiveDateTime;
use std::collections::HashSet;

use crate::api::articles::{SeriesNav, SeriesNeighbour};
use crate::api::etag::{check_if_match, etag_of, to_json};
use crate::api::series::{CreateSeries, SeriesArticle, SeriesView, UpdateSeries};
use crate::db::models::{Series, SeriesWrite};
use crate::db::queries::series::Member;
use crate::db::queries::{self, now};
use crate::db::{write_transaction, DbConn};
use crate::domain::article::{self, Audience, Status};
use crate::domain::slug::Slug;
use crate::domain::Violations;
use crate::error::ApiError;
use crate::services::slugs::unique_slug;

pub const DESCRIPTION_MAX: usize = 2000;
pub const MAX_ARTICLES: usize = 1000;

/// The editable state of a series.
#[derive(Debug, Clone)]
pub struct SeriesDraft {
    pub title: String,
    /// `None`: make one from the title (new series) or keep the current one.
    pub slug: Option<String>,
    pub description: Option<String>,
}

fn check_slug(v: &mut Violations, raw: &str) -> Option<String> {
    v.check(
        "slug",
        Slug::try_from(raw.to_string()).map(Slug::into_inner),
    )
}

impl SeriesDraft {
    pub fn from_create(body: CreateSeries) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let title = v.check("title", article::title(&body.title));
        let slug = match body.slug.as_deref() {
            Some(s) => check_slug(&mut v, s).map(Some),
            None => Some(None),
        };
        let description = v.check(
            "description",
            article::optional_text(body.description.as_deref(), DESCRIPTION_MAX),
        );
        v.finish(|| {
            Some(SeriesDraft {
                title: title?,
                slug: slug?,
                description: description?,
            })
        })
        .map_err(ApiError::Validation)
    }

    pub fn patched(mut self, patch: UpdateSeries) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        if let Some(t) = patch.title {
            if let Some(t) = v.check("title", article::title(&t)) {
                self.title = t;
            }
        }
        if let Some(s) = patch.slug {
            if let Some(s) = check_slug(&mut v, &s) {
                self.slug = Some(s);
            }
        }
        if let Some(d) = patch.description {
            if let Some(d) = v.check(
                "description",
                article::optional_text(d.as_deref(), DESCRIPTION_MAX),
            ) {
                self.description = d;
            }
        }
        v.finish(|| Some(self)).map_err(ApiError::Validation)
    }
}

pub fn no_such_series() -> ApiError {
    ApiError::not_found("No series has this id.")
}

/// The series as `audience` sees it, with the ETag of that representation.
pub fn load_view(
    conn: &mut DbConn,
    series: Series,
    audience: Audience,
) -> Result<(Vec<u8>, String, SeriesView), ApiError> {
    let articles = queries::series::members(conn, series.id)?
        .into_iter()
        .filter(|m| audience.sees(&m.status, m.published_at))
        .enumerate()
        .map(|(i, m)| {
            Ok(SeriesArticle {
                position: i as i64 + 1,
                id: m.article_id,
                slug: m.slug,
                title: m.title,
                excerpt: m.excerpt,
                published_at: m.published_at.map(|t| t.and_utc()),
                status: m.status.parse().map_err(ApiError::internal)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let view = SeriesView {
        id: series.id,
        slug: series.slug,
        title: series.title,
        description: series.description,
        created_at: series.created_at.and_utc(),
        updated_at: series.updated_at.and_utc(),
        article_count: articles.len() as i64,
        articles,
    };
    let bytes = to_json(&view)?;
    let etag = etag_of(&bytes);
    Ok((bytes, etag, view))
}

/// "Part N of M" for every series the article is in, counted over what `audience` sees.
pub fn navigation(
    conn: &mut DbConn,
    article_id: i64,
    audience: Audience,
) -> Result<Vec<SeriesNav>, ApiError> {
    Ok(navigation_until(conn, article_id, audience)?.0)
}

/// The navigation, and for readers the moment it next changes by itself: the earliest
/// scheduled neighbour that is not public yet.
pub fn navigation_until(
    conn: &mut DbConn,
    article_id: i64,
    audience: Audience,
) -> Result<(Vec<SeriesNav>, Option<NaiveDateTime>), ApiError> {
    let containing = queries::series::containing(conn, article_id)?;
    if containing.is_empty() {
        return Ok((Vec::new(), None));
    }
    let ids: Vec<i64> = containing.iter().map(|(id, _, _)| *id).collect();
    let members = queries::series::members_of_series_with(conn, article_id, &ids)?;
    let until = match audience {
        Audience::Staff => None,
        Audience::Public(now) => members
            .iter()
            .filter(|m| m.status == Status::Scheduled.as_str())
            .filter_map(|m| m.published_at)
            .filter(|t| *t > now)
            .min(),
    };
    let neighbour = |m: &Member| SeriesNeighbour {
        slug: m.slug.clone(),
        title: m.title.clone(),
    };
    let navigation = containing
        .into_iter()
        .filter_map(|(id, slug, title)| {
            let visible: Vec<&Member> = members
                .iter()
                .filter(|m| m.series_id == id)
                .filter(|m| m.article_id == article_id || audience.sees(&m.status, m.published_at))
                .collect();
            let i = visible.iter().position(|m| m.article_id == article_id)?;
            Some(SeriesNav {
                id,
                slug,
                title,
                position: i as i64 + 1,
                total: visible.len() as i64,
                previous: i.checked_sub(1).map(|p| neighbour(visible[p])),
                next: visible.get(i + 1).map(|m| neighbour(m)),
            })
        })
        .collect();
    Ok((navigation, until))
}

/// Checks `If-Match` against the series as editors see it or as readers see it: a client may
/// hold either representation's ETag.
fn check_current(conn: &mut DbConn, series: &Series, if_match: &str) -> Result<(), ApiError> {
    let (_, staff_etag, _) = load_view(conn, series.clone(), Audience::Staff)?;
    if check_if_match(if_match, &staff_etag).is_ok() {
        return Ok(());
    }
    let (_, public_etag, _) = load_view(conn, series.clone(), Audience::Public(now()))?;
    check_if_match(if_match, &public_etag)
}

/// Locks the series, and checks `If-Match` when the client sent one.
fn locked(conn: &mut DbConn, id: i64, if_match: Option<&str>) -> Result<Series, ApiError> {
    queries::series::lock(conn, id)?;
    let series = queries::series::find(conn, id)?.ok_or_else(no_such_series)?;
    if let Some(if_match) = if_match {
        check_current(conn, &series, if_match)?;
    }
    Ok(series)
}

fn resolve_slug(
    conn: &mut DbConn,
    draft: &SeriesDraft,
    except: Option<i64>,
) -> Result<String, ApiError> {
    unique_slug(
        draft.slug.as_deref(),
        &draft.title,
        "series",
        "series",
        |s| queries::series::slug_taken(conn, s, except),
    )
}

pub fn create(conn: &mut DbConn, draft: &SeriesDraft) -> Result<Series, ApiError> {
    write_transaction(conn, |conn| {
        let slug = resolve_slug(conn, draft, None)?;
        let now = now();
        Ok(queries::series::insert(
            conn,
            &SeriesWrite {
                slug,
                title: draft.title.clone(),
                description: draft.description.clone(),
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?)
    })
}

pub fn update(
    conn: &mut DbConn,
    id: i64,
    if_match: &str,
    patch: UpdateSeries,
) -> Result<Series, ApiError> {
    write_transaction(conn, |conn| {
        let current = locked(conn, id, Some(if_match))?;
        let draft = SeriesDraft {
            title: current.title.clone(),
            slug: Some(current.slug.clone()),
            description: current.description.clone(),
        }
        .patched(patch)?;
        let slug = match &draft.slug {
            Some(s) if *s == current.slug => s.clone(),
            _ => resolve_slug(conn, &draft, Some(id))?,
        };
        let now = now();
        if slug != current.slug {
            queries::series::move_slug(conn, id, &current.slug, &slug, now)?;
        }
        let row = SeriesWrite {
            slug,
            title: draft.title,
            description: draft.description,
            version: current.version + 1,
            created_at: current.created_at,
            updated_at: now,
        };
        if queries::series::update(conn, id, current.version, &row)? == 0 {
            return Err(ApiError::PreconditionFailed);
        }
        queries::series::find(conn, id)?.ok_or_else(no_such_series)
    })
}

pub fn delete(conn: &mut DbConn, id: i64, if_match: &str) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        let current = locked(conn, id, Some(if_match))?;
        if queries::series::delete(conn, id, current.version)? == 0 {
            return Err(ApiError::PreconditionFailed);
        }
        Ok(())
    })
}

/// Writes a new order and marks the series changed.
fn reorder(conn: &mut DbConn, id: i64, article_ids: &[i64]) -> Result<Series, ApiError> {
    queries::series::set_order(conn, id, article_ids)?;
    queries::series::touch(conn, id, now())?;
    queries::series::find(conn, id)?.ok_or_else(no_such_series)
}

/// Replaces the whole order. An unknown or repeated id refuses the request and keeps the old
/// order.
pub fn set_articles(
    conn: &mut DbConn,
    id: i64,
    if_match: Option<&str>,
    article_ids: &[i64],
) -> Result<Series, ApiError> {
    write_transaction(conn, |conn| {
        locked(conn, id, if_match)?;
        let mut v = Violations::new();
        if article_ids.len() > MAX_ARTICLES {
            v.add(
                "article_ids",
                format!("may hold at most {MAX_ARTICLES} articles"),
            );
            return Err(ApiError::Validation(v.into_errors()));
        }
        let existing: HashSet<i64> = queries::series::existing_articles(conn, article_ids)?
            .into_iter()
            .collect();
        let mut seen = HashSet::new();
        for (i, article_id) in article_ids.iter().enumerate() {
            let field = format!("article_ids[{i}]");
            if !existing.contains(article_id) {
                v.add(&field, format!("{article_id} is not an article"));
            } else if !seen.insert(*article_id) {
                v.add(&field, format!("{article_id} is listed more than once"));
            }
        }
        if !v.is_empty() {
            return Err(ApiError::Validation(v.into_errors()));
        }
        reorder(conn, id, article_ids)
    })
}

/// Inserts one article at `position` (1..=n+1, default the end), moving the rest down.
pub fn add_article(
    conn: &mut DbConn,
    id: i64,
    if_match: Option<&str>,
    article_id: i64,
    position: Option<i64>,
) -> Result<Series, ApiError> {
    write_transaction(conn, |conn| {
        locked(conn, id, if_match)?;
        let mut order = queries::series::member_ids(conn, id)?;
        let mut v = Violations::new();
        if queries::series::existing_articles(conn, &[article_id])?.is_empty() {
            v.add("article_id", format!("{article_id} is not an article"));
        }
        let end = order.len() as i64 + 1;
        let at = match position {
            None => Some(end),
            Some(p) if (1..=end).contains(&p) => Some(p),
            Some(_) => {
                v.add("position", format!("must be between 1 and {end}"));
                None
            }
        };
        if order.len() >= MAX_ARTICLES {
            v.add(
                "article_id",
                format!("the series already holds {MAX_ARTICLES} articles"),
            );
        }
        let at = v.finish(|| at).map_err(ApiError::Validation)?;
        if order.contains(&article_id) {
            return Err(ApiError::conflict(
                "article_id",
                "the article is already in this series",
            ));
        }
        order.insert(usize::try_from(at - 1).unwrap_or(0), article_id);
        reorder(conn, id, &order)
    })
}

/// Takes one article out of the series and closes the gap.
pub fn remove_article(
    conn: &mut DbConn,
    id: i64,
    if_match: Option<&str>,
    article_id: i64,
) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        locked(conn, id, if_match)?;
        let mut order = queries::series::member_ids(conn, id)?;
        let before = order.len();
        order.retain(|a| *a != article_id);
        if order.len() == before {
            return Err(ApiError::not_found("The article is not in this series."));
        }
        reorder(conn, id, &order)?;
        Ok(())
    })
}

/// Takes an article that is about to be deleted out of every series it is in, closing the
/// gaps. Runs inside the deleting transaction.
pub fn remove_article_everywhere(conn: &mut DbConn, article_id: i64) -> Result<(), ApiError> {
    for (id, _, _) in queries::series::containing(conn, article_id)? {
        queries::series::lock(conn, id)?;
        let mut order = queries::series::member_ids(conn, id)?;
        order.retain(|a| *a != article_id);
        reorder(conn, id, &order)?;
    }
    Ok(())
}
