//! `/api/v1/articles`: the public list and pages, and editors' writes and revisions.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::articles::{
    ArticleSummary, ArticleView, Author, CreateArticle, ListParams, RevisionView, UpdateArticle,
};
use crate::db::queries::articles::{After, ListFilter, Visibility};
use crate::db::queries::{self, now};
use crate::db::DbConn;
use crate::domain::article::{Audience, Status};
use crate::domain::user::Role;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::routes::auth_extract::{EditorUser, MaybeUser};
use crate::routes::caching::{
    cached_json_tagged, moved_permanently, required_if_match, written_json,
};
use crate::routes::extract::{ApiJson, ApiQuery};
use crate::routes::pagination::{cached_page_response, Page, PageParams, DEFAULT_LIMIT};
use crate::services::articles::{
    self as service, load_view, no_such_article, refresh_render, render, Draft,
};
use crate::state::AppState;

const STAFF: &[Role] = &[Role::Admin, Role::Editor];
const MAX_TERMS: usize = 16;

/// The sort key a list cursor carries.
#[derive(Serialize, Deserialize)]
struct ListCursor {
    /// `sort_at` of the last row, for time-ordered lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<chrono::NaiveDateTime>,
    /// Relevance of the last row, for searches.
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<f64>,
    id: i64,
}

fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
        .take(MAX_TERMS)
        .collect()
}

/// A time filter as stored, or a field error for one outside the years both backends hold.
fn time_param(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::NaiveDateTime> {
    match raw.map(crate::domain::timestamp).transpose() {
        Ok(t) => t,
        Err(message) => {
            errors.push(FieldError {
                field: field.into(),
                message,
            });
            None
        }
    }
}

/// List articles.
///
/// Public articles, newest first, as summaries (no bodies). Filter by `tag`, `series`, `author`,
/// publication time, or search with `q` (ranked by relevance). Editors and admins may pass
/// `status` to list drafts, scheduled, published or archived articles.
#[utoipa::path(
    get,
    path = "/api/v1/articles",
    tag = "articles",
    operation_id = "list_articles",
    params(ListParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of article summaries", body = Page<ArticleSummary>,
            headers(
                ("ETag" = String, description = "Strong validator of this page"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`, or `private, no-store` with a token"),
                ("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"),
            )),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn list_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
    user: MaybeUser,
) -> Result<HttpResponse, ApiError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let page = PageParams {
        limit: params.limit,
        cursor: None,
    };
    let limit = page
        .limit()
        .map_err(|e| errors.push(e))
        .unwrap_or(DEFAULT_LIMIT);
    let cursor: Option<ListCursor> = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => {
            // A forged time outside what the database holds would fail the query: a 500.
            let c = state.cursors.open::<ListCursor>(raw).filter(|c| {
                c.t.is_none_or(|t| crate::domain::timestamp(t.and_utc()).is_ok())
            });
            if c.is_none() {
                errors.push(FieldError {
                    field: "cursor".into(),
                    message: "is not a cursor issued by this server".into(),
                });
            }
            c
        }
    };
    let oldest_first = match params.order.as_deref() {
        None | Some("newest") => false,
        Some("oldest") => true,
        Some(_) => {
            errors.push(FieldError {
                field: "order".into(),
                message: "must be newest or oldest".into(),
            });
            false
        }
    };
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => match s.parse::<Status>() {
            Ok(s) => Some(s),
            Err(message) => {
                errors.push(FieldError {
                    field: "status".into(),
                    message,
                });
                None
            }
        },
    };
    // An id only: a filter that took login names would let anyone test which exist.
    let author = match params.author.as_deref().map(str::parse::<u32>) {
        None => None,
        Some(Ok(id)) => Some(i64::from(id)),
        Some(Err(_)) => {
            errors.push(FieldError {
                field: "author".into(),
                message: "must be an author's id (a whole number; login names are not accepted)"
                    .into(),
            });
            None
        }
    };
    let published_after = time_param(&mut errors, "published_after", params.published_after);
    let published_before = time_param(&mut errors, "published_before", params.published_before);
    if !errors.is_empty() {
        return Err(ApiError::InvalidParameters(errors));
    }
    if status.is_some() && !user.has_role(STAFF) {
        return Err(match user.0 {
            None => ApiError::Unauthorized("Listing by status needs an editor's bearer token."),
            Some(_) => ApiError::Forbidden("Only editors and admins may list by status."),
        });
    }
    let terms = params
        .q
        .as_deref()
        .map(search_terms)
        .filter(|t| !t.is_empty());
    let after = cursor.and_then(|c| match (c.t, c.r) {
        (Some(t), _) if terms.is_none() => Some(After::Time(t, c.id)),
        (_, Some(r)) if terms.is_some() => Some(After::Rank(r, c.id)),
        _ => None,
    });
    let filter = ListFilter {
        visibility: status.map_or_else(|| Visibility::Public(now()), Visibility::Status),
        tag: params.tag,
        series: params.series,
        author,
        terms,
        published_after,
        published_before,
        oldest_first,
        after,
        limit: limit + 1,
    };
    let searching = filter.terms.is_some();
    let (rows, tags) = state
        .db
        .run(move |conn| {
            let rows = queries::articles::list(conn, &filter)?;
            let ids: Vec<i64> = rows.iter().map(|(a, _, _)| a.id).collect();
            let tags = queries::articles::tags_for(conn, &ids)?;
            Ok((rows, tags))
        })
        .await?;

    let mut tags_by_article: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in tags {
        tags_by_article.entry(id).or_default().push(tag);
    }
    let mut rows = rows;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|(a, _, rank)| {
            state.cursors.seal(&if searching {
                ListCursor {
                    t: None,
                    r: Some(*rank),
                    id: a.id,
                }
            } else {
                ListCursor {
                    t: Some(a.sort_at),
                    r: None,
                    id: a.id,
                }
            })
        })
    } else {
        None
    };
    let data = rows
        .into_iter()
        .map(|(a, author_name, _)| {
            Ok(ArticleSummary {
                tags: tags_by_article.remove(&a.id).unwrap_or_default(),
                status: a.status.parse().map_err(ApiError::internal)?,
                id: a.id,
                slug: a.slug,
                title: a.title,
                subtitle: a.subtitle,
                excerpt: a.excerpt,
                cover_image_url: a.cover_image_url,
                language: a.language,
                published_at: a.published_at.map(|t| t.and_utc()),
                created_at: a.created_at.and_utc(),
                updated_at: a.updated_at.and_utc(),
                author: Author {
                    id: a.author_id,
                    display_name: author_name,
                },
                reading_time_minutes: a.reading_time_minutes,
                word_count: a.word_count,
                comments_enabled: a.comments_enabled,
                comment_count: a.comment_count,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    cached_page_response(&req, &state.config, data, next_cursor, limit)
}

/// Get an article.
///
/// One article in full, with series navigation. Readers see public articles only (404
/// otherwise); editors and admins see every status. An old slug answers 301 to the current one.
#[utoipa::path(
    get,
    path = "/api/v1/articles/{article}",
    tag = "articles",
    operation_id = "get_article",
    params(
        ("article" = String, Path, description = "The article's current or an old slug (this path takes the article's id for `PATCH` and `DELETE`)", example = "the-river-crossing-reopens"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The article", body = ArticleView,
            headers(
                ("ETag" = String, description = "Strong validator; send it as `If-Match` to change the article"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`, or `private, no-store` with a token"),
            )),
        (status = 301, description = "An old slug: the article lives at `Location` now",
            headers(("Location" = String, description = "The article's current URL"))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn get_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    user: MaybeUser,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let staff = user.has_role(STAFF);
    // Readers' usual case, a stored render, read the quickest way the backend has.
    let looked_up = if staff {
        None
    } else {
        match state.db.render_by_slug(&slug).await? {
            Some(Some(found)) => match found.current(now()) {
                Ok((bytes, etag)) => {
                    return Ok(cached_json_tagged(&req, &state.config, bytes, etag))
                }
                Err(found) => Some(Some(found)),
            },
            other => other,
        }
    };
    let found = state
        .db
        .run(move |conn| {
            if !staff {
                if let Some(found) = public_article(conn, &slug, looked_up)? {
                    return Ok(Ok(found));
                }
            } else if let Some(article) = queries::articles::find_by_slug(conn, &slug)? {
                let (bytes, etag, _) = load_view(conn, article, Audience::Staff)?;
                return Ok(Ok((bytes, etag)));
            }
            let audience = if staff {
                Audience::Staff
            } else {
                Audience::Public(now())
            };
            match queries::articles::current_slug_for_old(conn, &slug)? {
                Some((current, status, published_at)) if audience.sees(&status, published_at) => {
                    Ok(Err(current))
                }
                _ => Err(no_such_slug()),
            }
        })
        .await?;
    match found {
        Ok((bytes, etag)) => Ok(cached_json_tagged(&req, &state.config, bytes, etag)),
        Err(current) => Ok(moved_permanently(
            &state.config,
            &format!("/api/v1/articles/{current}"),
        )),
    }
}

/// The article with the current slug `slug` as readers see it, with its ETag: the stored
/// render when it still holds (one statement), else rendered now and stored for the next
/// reader. `None` when no article has this slug now. `found` is the look-up by slug, when the
/// caller made it already (`Some(None)`: it found no article).
fn public_article(
    conn: &mut DbConn,
    slug: &str,
    found: Option<Option<queries::renders::Lookup>>,
) -> Result<Option<(Vec<u8>, String)>, ApiError> {
    let found = match found {
        Some(Some(found)) => found,
        Some(None) => return Ok(None),
        None => match queries::renders::by_slug(conn, slug)? {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let now = now();
    let (id, generation) = (found.article_id, found.generation);
    match found.current(now) {
        Ok(answer) => Ok(Some(answer)),
        // Read after the generation: a change from here on bumps it and the render is not
        // kept.
        Err(_) => refresh_render(conn, id, generation, now)?
            .ok_or_else(no_such_slug)
            .map(Some),
    }
}

fn no_such_slug() -> ApiError {
    ApiError::not_found("No article has this slug.")
}

/// The response to a write: the article with its new ETag.
fn written(
    status: actix_web::http::StatusCode,
    bytes: Vec<u8>,
    etag: String,
    view: &ArticleView,
) -> HttpResponse {
    let location = (status == actix_web::http::StatusCode::CREATED)
        .then(|| format!("/api/v1/articles/{}", view.slug));
    written_json(status, bytes, etag, location)
}

/// Create an article.
///
/// Editors and admins. The slug is made from the title (transliterated to ASCII, made unique
/// with `-2`, `-3`…) unless given; a given slug that another article has or had is a 409.
#[utoipa::path(
    post,
    path = "/api/v1/articles",
    tag = "articles",
    operation_id = "create_article",
    request_body = CreateArticle,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ArticleView,
            headers(
                ("Location" = String, description = "The article's URL"),
                ("ETag" = String, description = "Strong validator of the new article"),
            )),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn create_article(
    state: web::Data<AppState>,
    editor: EditorUser,
    ApiJson(body): ApiJson<CreateArticle>,
) -> Result<HttpResponse, ApiError> {
    let author_id = editor.user.id;
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let draft = Draft::from_create(body)?;
            let rendered = render(&draft);
            let article = service::create(conn, &draft, &rendered, author_id)?;
            load_view(conn, article, Audience::Staff)
        })
        .await?;
    Ok(written(
        actix_web::http::StatusCode::CREATED,
        bytes,
        etag,
        &view,
    ))
}

/// Update an article.
///
/// Editors and admins, with `If-Match` set to the article's current ETag (428 without it, 412
/// when it is stale; the stored article is then untouched). The previous version stays
/// available as a revision. A new slug keeps the old one redirecting.
#[utoipa::path(
    patch,
    path = "/api/v1/articles/{article}",
    tag = "articles",
    operation_id = "update_article",
    params(
        ("article" = i64, Path, description = "The article's id (`GET` takes its slug)", example = 12),
        ("If-Match" = String, Header, description = "The article's current ETag"),
    ),
    request_body = UpdateArticle,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated article", body = ArticleView,
            headers(("ETag" = String, description = "Strong validator of the new version"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 412, response = crate::error::responses::PreconditionFailed),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
        (status = 428, response = crate::error::responses::PreconditionRequired),
    )
)]
pub async fn update_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    editor: EditorUser,
    ApiJson(body): ApiJson<UpdateArticle>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let if_match = required_if_match(&req)?;
    let editor_id = editor.user.id;
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let article = service::update(conn, id, &if_match, editor_id, |_, draft| {
                draft.patched(body)
            })?;
            load_view(conn, article, Audience::Staff)
        })
        .await?;
    Ok(written(actix_web::http::StatusCode::OK, bytes, etag, &view))
}

/// Delete an article.
///
/// Editors and admins, with `If-Match` set to the article's current ETag. Its revisions and
/// old slugs go with it.
#[utoipa::path(
    delete,
    path = "/api/v1/articles/{article}",
    tag = "articles",
    operation_id = "delete_article",
    params(
        ("article" = i64, Path, description = "The article's id (`GET` takes its slug)", example = 12),
        ("If-Match" = String, Header, description = "The article's current ETag"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 412, response = crate::error::responses::PreconditionFailed),
        (status = 428, response = crate::error::responses::PreconditionRequired),
    )
)]
pub async fn delete_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _editor: EditorUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let if_match = required_if_match(&req)?;
    state
        .db
        .run(move |conn| service::delete(conn, id, &if_match))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List an article's revisions.
///
/// Every saved version, newest first (editors and admins). The newest is the current state.
#[utoipa::path(
    get,
    path = "/api/v1/articles/{id}/revisions",
    tag = "articles",
    operation_id = "list_revisions",
    params(("id" = i64, Path, description = "The article's id", example = 12), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of revisions", body = Page<RevisionView>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn list_revisions(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _editor: EditorUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (limit, before) = params.parse::<i32>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| {
            queries::articles::find(conn, id)?.ok_or_else(no_such_article)?;
            Ok(queries::articles::list_revisions(
                conn,
                id,
                before,
                limit + 1,
            )?)
        })
        .await?;
    let (rows, next) =
        crate::routes::pagination::split_page(rows, limit, &state.cursors, |(r, _)| r.rev);
    let data = rows
        .into_iter()
        .map(|(r, editor_name)| {
            Ok(RevisionView {
                tags: serde_json::from_str(&r.tags).map_err(ApiError::internal)?,
                status: r.status.parse().map_err(ApiError::internal)?,
                rev: r.rev,
                title: r.title,
                subtitle: r.subtitle,
                excerpt: r.excerpt,
                body_markdown: r.body_markdown,
                cover_image_url: r.cover_image_url,
                language: r.language,
                slug: r.slug,
                published_at: r.published_at.map(|t| t.and_utc()),
                editor: Author {
                    id: r.editor_id,
                    display_name: editor_name,
                },
                created_at: r.created_at.and_utc(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(crate::routes::pagination::page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}

/// Restore a revision.
///
/// Puts the title, subtitle, excerpt, body, cover, tags and language of revision `rev` back
/// (editors and admins, with `If-Match`). Status, slug and publication time stay as they are.
/// The restore is itself saved as a new revision, so nothing is lost.
#[utoipa::path(
    post,
    path = "/api/v1/articles/{id}/revisions/{rev}/restore",
    tag = "articles",
    operation_id = "restore_revision",
    params(
        ("id" = i64, Path, description = "The article's id", example = 12),
        ("rev" = i32, Path, description = "The revision to restore", example = 2),
        ("If-Match" = String, Header, description = "The article's current ETag"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The article with the revision's content", body = ArticleView,
            headers(("ETag" = String, description = "Strong validator of the new version"))),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 412, response = crate::error::responses::PreconditionFailed),
        (status = 428, response = crate::error::responses::PreconditionRequired),
    )
)]
pub async fn restore_revision(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, i32)>,
    editor: EditorUser,
) -> Result<HttpResponse, ApiError> {
    let (id, rev) = path.into_inner();
    let if_match = required_if_match(&req)?;
    let editor_id = editor.user.id;
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let article = service::update(conn, id, &if_match, editor_id, |conn, draft| {
                let revision = queries::articles::find_revision(conn, id, rev)?
                    .ok_or_else(|| ApiError::not_found("This article has no such revision."))?;
                draft.restored(&revision)
            })?;
            load_view(conn, article, Audience::Staff)
        })
        .await?;
    Ok(written(actix_web::http::StatusCode::OK, bytes, etag, &view))
}
