//! `/api/v1/series`: ordered story collections, their order, and readers' view of them.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::series::{
    AddSeriesArticle, CreateSeries, SeriesSummary, SeriesView, SetSeriesArticles, UpdateSeries,
};
use crate::db::queries::{self, now};
use crate::domain::article::Audience;
use crate::domain::user::Role;
use crate::error::ApiError;
use crate::routes::auth_extract::{EditorUser, MaybeUser};
use crate::routes::caching::{
    cached_json, moved_permanently, optional_if_match, required_if_match, written_json,
};
use crate::routes::extract::{ApiJson, ApiQuery};
use crate::routes::pagination::{cached_page_response, split_page, Page, PageParams};
use crate::services::series::{self as service, load_view, SeriesDraft};
use crate::state::AppState;

const STAFF: &[Role] = &[Role::Admin, Role::Editor];

fn audience(user: &MaybeUser) -> Audience {
    if user.has_role(STAFF) {
        Audience::Staff
    } else {
        Audience::Public(now())
    }
}

/// List series.
///
/// Every series, newest first, without its articles. `article_count` counts the public
/// articles for readers and every article for editors and admins.
#[utoipa::path(
    get,
    path = "/api/v1/series",
    tag = "series",
    operation_id = "list_series",
    params(PageParams, ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of series", body = Page<SeriesSummary>,
            headers(
                ("ETag" = String, description = "Strong validator of this page"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`, or `private, no-store` with a token"),
                ("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"),
            )),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
    )
)]
pub async fn list_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
    user: MaybeUser,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = params.parse::<i64>(&state.cursors)?;
    let audience = audience(&user);
    let (rows, counts) = state
        .db
        .run(move |conn| {
            let rows = queries::series::list(conn, before, limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
            let public_at = match audience {
                Audience::Public(now) => Some(now),
                Audience::Staff => None,
            };
            let counts = queries::series::article_counts(conn, &ids, public_at)?;
            Ok((rows, counts))
        })
        .await?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    let (rows, next) = split_page(rows, limit, &state.cursors, |s| s.id);
    let data = rows
        .into_iter()
        .map(|s| SeriesSummary {
            article_count: counts.get(&s.id).copied().unwrap_or(0),
            id: s.id,
            slug: s.slug,
            title: s.title,
            description: s.description,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
        })
        .collect();
    cached_page_response(&req, &state.config, data, next, limit)
}

/// Get a series.
///
/// The series with its articles in order. Readers see the public articles only, numbered 1..n
/// among themselves; editors and admins see every article. An old slug answers 301.
#[utoipa::path(
    get,
    path = "/api/v1/series/{series}",
    tag = "series",
    operation_id = "get_series",
    params(
        ("series" = String, Path, description = "The series' current or an old slug (this path takes the series id for `PATCH` and `DELETE`)", example = "the-bridge-trial"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The series", body = SeriesView,
            headers(
                ("ETag" = String, description = "Strong validator; send it as `If-Match` to change the series"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`, or `private, no-store` with a token"),
            )),
        (status = 301, description = "An old slug: the series lives at `Location` now",
            headers(("Location" = String, description = "The series' current URL"))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn get_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    user: MaybeUser,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let audience = audience(&user);
    let found = state
        .db
        .run(move |conn| {
            if let Some(series) = queries::series::find_by_slug(conn, &slug)? {
                let (bytes, _, _) = load_view(conn, series, audience)?;
                return Ok(Ok(bytes));
            }
            match queries::series::current_slug_for_old(conn, &slug)? {
                Some(current) => Ok(Err(current)),
                None => Err(ApiError::not_found("No series has this slug.")),
            }
        })
        .await?;
    match found {
        Ok(bytes) => Ok(cached_json(&req, &state.config, bytes)),
        Err(current) => Ok(moved_permanently(
            &state.config,
            &format!("/api/v1/series/{current}"),
        )),
    }
}

fn written(status: StatusCode, bytes: Vec<u8>, etag: String, view: &SeriesView) -> HttpResponse {
    let location = (status == StatusCode::CREATED).then(|| format!("/api/v1/series/{}", view.slug));
    written_json(status, bytes, etag, location)
}

/// Create a series.
///
/// Editors and admins. The slug is made from the title unless given; a given slug that another
/// series has or had is a 409. Add articles with `PUT` or `POST /api/v1/series/{id}/articles`.
#[utoipa::path(
    post,
    path = "/api/v1/series",
    tag = "series",
    operation_id = "create_series",
    request_body = CreateSeries,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = SeriesView,
            headers(
                ("Location" = String, description = "The series' URL"),
                ("ETag" = String, description = "Strong validator of the new series"),
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
pub async fn create_series(
    state: web::Data<AppState>,
    _editor: EditorUser,
    ApiJson(body): ApiJson<CreateSeries>,
) -> Result<HttpResponse, ApiError> {
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let draft = SeriesDraft::from_create(body)?;
            let series = service::create(conn, &draft)?;
            load_view(conn, series, Audience::Staff)
        })
        .await?;
    Ok(written(StatusCode::CREATED, bytes, etag, &view))
}

/// Update a series.
///
/// Editors and admins, with `If-Match` set to the series' current ETag (428 without it, 412
/// when it is stale; the series is then untouched). A new slug keeps the old one redirecting.
#[utoipa::path(
    patch,
    path = "/api/v1/series/{series}",
    tag = "series",
    operation_id = "update_series",
    params(
        ("series" = i64, Path, description = "The series id (`GET` takes its slug)", example = 3),
        ("If-Match" = String, Header, description = "The series' current ETag"),
    ),
    request_body = UpdateSeries,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated series", body = SeriesView,
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
pub async fn update_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _editor: EditorUser,
    ApiJson(body): ApiJson<UpdateSeries>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let if_match = required_if_match(&req)?;
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let series = service::update(conn, id, &if_match, body)?;
            load_view(conn, series, Audience::Staff)
        })
        .await?;
    Ok(written(StatusCode::OK, bytes, etag, &view))
}

/// Delete a series.
///
/// Editors and admins, with `If-Match`. Its articles stay as they are; only the grouping and
/// its old slugs go.
#[utoipa::path(
    delete,
    path = "/api/v1/series/{series}",
    tag = "series",
    operation_id = "delete_series",
    params(
        ("series" = i64, Path, description = "The series id (`GET` takes its slug)", example = 3),
        ("If-Match" = String, Header, description = "The series' current ETag"),
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
pub async fn delete_series(
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

/// Set a series' order.
///
/// Replaces the whole list of articles at once (editors and admins). An unknown or repeated id
/// refuses the request, naming each offending `article_ids[i]`, and the old order stays.
/// `If-Match` is optional: when sent, a stale ETag is a 412.
#[utoipa::path(
    put,
    path = "/api/v1/series/{id}/articles",
    tag = "series",
    operation_id = "set_series_articles",
    params(
        ("id" = i64, Path, description = "The series id", example = 3),
        ("If-Match" = Option<String>, Header, description = "The series' current ETag, to refuse the change if someone else changed it first"),
    ),
    request_body = SetSeriesArticles,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The series in its new order", body = SeriesView,
            headers(("ETag" = String, description = "Strong validator of the new version"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 412, response = crate::error::responses::PreconditionFailed),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn set_series_articles(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _editor: EditorUser,
    ApiJson(body): ApiJson<SetSeriesArticles>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let if_match = optional_if_match(&req);
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let series = service::set_articles(conn, id, if_match.as_deref(), &body.article_ids)?;
            load_view(conn, series, Audience::Staff)
        })
        .await?;
    Ok(written(StatusCode::OK, bytes, etag, &view))
}

/// Add an article to a series.
///
/// Inserts the article at `position` (default: the end); the articles from there on move down
/// one (editors and admins). An article already in the series is a 409. `If-Match` is
/// optional: when sent, a stale ETag is a 412.
#[utoipa::path(
    post,
    path = "/api/v1/series/{id}/articles",
    tag = "series",
    operation_id = "add_series_article",
    params(
        ("id" = i64, Path, description = "The series id", example = 3),
        ("If-Match" = Option<String>, Header, description = "The series' current ETag, to refuse the change if someone else changed it first"),
    ),
    request_body = AddSeriesArticle,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The series with the article in place", body = SeriesView,
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
    )
)]
pub async fn add_series_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _editor: EditorUser,
    ApiJson(body): ApiJson<AddSeriesArticle>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let if_match = optional_if_match(&req);
    let (bytes, etag, view) = state
        .db
        .run(move |conn| {
            let series = service::add_article(
                conn,
                id,
                if_match.as_deref(),
                body.article_id,
                body.position,
            )?;
            load_view(conn, series, Audience::Staff)
        })
        .await?;
    Ok(written(StatusCode::OK, bytes, etag, &view))
}

/// Remove an article from a series.
///
/// Takes the article out and closes the gap, so positions stay 1..n (editors and admins). The
/// article itself is untouched. `If-Match` is optional: when sent, a stale ETag is a 412.
#[utoipa::path(
    delete,
    path = "/api/v1/series/{id}/articles/{article_id}",
    tag = "series",
    operation_id = "remove_series_article",
    params(
        ("id" = i64, Path, description = "The series id", example = 3),
        ("article_id" = i64, Path, description = "The article's id", example = 12),
        ("If-Match" = Option<String>, Header, description = "The series' current ETag, to refuse the change if someone else changed it first"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 412, response = crate::error::responses::PreconditionFailed),
    )
)]
pub async fn remove_series_article(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    _editor: EditorUser,
) -> Result<HttpResponse, ApiError> {
    let (id, article_id) = path.into_inner();
    let if_match = optional_if_match(&req);
    state
        .db
        .run(move |conn| service::remove_article(conn, id, if_match.as_deref(), article_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
