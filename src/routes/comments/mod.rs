//! Reader comments: the public form and thread under `/api/v1/articles/{slug}/comments`, and
//! the moderators' `/api/v1/comments` (queue, decisions, bulk actions, stats, blocklist).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::api::comments::{
    AddBlock, BlockView, BulkModerate, BulkOutcome, BulkResult, CommentAccepted, CommentStats,
    ModerateComment, ModeratorComment, PostComment, PublicComment, QueueParams, StaffRef,
};
use crate::db::queries::{self, now};
use crate::domain::client_addr::client_ip;
use crate::domain::comment::{parse_block_value, BlockKind, CommentStatus, ModerationAction};
use crate::domain::{FieldError, Violations};
use crate::error::ApiError;
use crate::routes::auth_extract::ModeratorUser;
use crate::routes::caching::{optional_if_match, written_json};
use crate::routes::extract::{ApiJson, ApiQuery};
use crate::routes::pagination::{
    cached_page_response, page_response, split_page, Page, PageParams,
};
use crate::services::comments::{self as service, Client, IntakeRules, BULK_MAX};
use crate::state::AppState;

/// Where the previous page of a thread ended.
#[derive(Serialize, Deserialize)]
struct ThreadCursor {
    p: String,
}

/// The commenter as `crate::domain::client_addr::client_ip` finds it behind the configured
/// proxies. The full address is kept (moderators see it).
fn client(req: &HttpRequest, config: &crate::config::Config) -> Client {
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.as_bytes());
    let ip = client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        config.trust_proxy,
        &config.trusted_proxies,
    );
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    Client::new(ip, user_agent)
}

/// Post a comment.
///
/// The public comment form. The comment waits for a moderator: the answer is 202 with its id.
/// The e-mail is required and never published. Comments that trip the spam filters (the
/// `website` honeypot, too many links, listed keywords, the blocklist) are filed as spam with
/// the same answer. One client may post `MASTHEAD_COMMENT_RATE` comments per window (429 with
/// `Retry-After` after that).
#[utoipa::path(
    post,
    path = "/api/v1/articles/{slug}/comments",
    tag = "comments",
    operation_id = "post_comment",
    params(("slug" = String, Path, description = "The article's slug", example = "the-river-crossing-reopens")),
    request_body = PostComment,
    security(()),
    responses(
        (status = 202, description = "Accepted: waits for a moderator. The same answer for every comment taken in, whether it waits, was filed as spam, repeats one the same e-mail posted here before (filed as spam), or was approved at once", body = CommentAccepted),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
        (status = 429, response = crate::error::responses::TooManyRequests),
    )
)]
pub async fn post_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    ApiJson(body): ApiJson<PostComment>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let client = client(&req, &state.config);
    let rules = IntakeRules::from_config(&state.config);
    let checked = service::Checked::new(&body);
    let outcome = state
        .db
        .write(move |conn| service::post(conn, &slug, checked, &client, &rules))
        .await?;
    let mut response = HttpResponse::build(StatusCode::ACCEPTED).json(outcome.accepted);
    if !outcome.public {
        // A comment waiting for a moderator changes nothing readers see.
        response
            .extensions_mut()
            .insert(crate::routes::response_cache::NoPublicChange);
    }
    Ok(response)
}

/// List an article's comments.
///
/// The approved comments of a public article in thread order: top-level comments oldest
/// first, each followed by its replies (`depth` says how deep). A reply to a comment that is
/// not approved stays hidden with it.
#[utoipa::path(
    get,
    path = "/api/v1/articles/{slug}/comments",
    tag = "comments",
    operation_id = "list_comments",
    params(
        ("slug" = String, Path, description = "The article's slug", example = "the-river-crossing-reopens"),
        ("limit" = Option<i64>, Query, description = "Items per page, 1–100 (default 20)", minimum = 1, maximum = 100, example = 20),
        ("cursor" = Option<String>, Query, description = "`page.next_cursor` of the previous page, an opaque token the server issued; omit for the first page", max_length = 1024, pattern = "^[A-Za-z0-9_-]*$", example = "eyJwIjoiMDAwMDAwMDAwMDQxLyJ9"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged"),
    ),
    security(()),
    responses(
        (status = 200, description = "A page of the thread", body = Page<PublicComment>,
            headers(
                ("ETag" = String, description = "Strong validator of this page"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`"),
                ("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"),
            )),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn list_comments(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let (limit, after) = params.parse::<ThreadCursor>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| {
            let article = service::public_article(conn, &slug)?;
            Ok(queries::comments::public_thread(
                conn,
                article.id,
                after.as_ref().map(|c| c.p.as_str()),
                limit + 1,
            )?)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, &state.cursors, |r| ThreadCursor {
        p: r.thread_path.clone(),
    });
    let data = rows
        .into_iter()
        .map(|r| PublicComment {
            id: r.id,
            parent_id: r.parent_id,
            depth: r.depth,
            author_name: r.author_name,
            author_url: r.author_url,
            body_html: r.body_html,
            created_at: r.created_at.and_utc(),
        })
        .collect();
    cached_page_response(&req, &state.config, data, next, limit)
}

/// The moderation queue.
///
/// Comments newest first with everything moderators need, private fields included: e-mail,
/// address, user agent, status and moderation history. Filter by `status` and `article`.
#[utoipa::path(
    get,
    path = "/api/v1/comments",
    tag = "moderation",
    operation_id = "moderation_queue",
    params(QueueParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of comments", body = Page<ModeratorComment>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn moderation_queue(
    req: HttpRequest,
    state: web::Data<AppState>,
    _moderator: ModeratorUser,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<HttpResponse, ApiError> {
    let page = PageParams {
        limit: params.limit,
        cursor: params.cursor,
    };
    let mut errors: Vec<FieldError> = Vec::new();
    let parsed = page.parse::<i64>(&state.cursors).map_err(|e| {
        if let ApiError::InvalidParameters(e) = e {
            errors.extend(e);
        }
    });
    let status = match params.status.as_deref() {
        None => None,
        Some(s) => s
            .parse::<CommentStatus>()
            .map_err(|message| {
                errors.push(FieldError {
                    field: "status".into(),
                    message,
                })
            })
            .ok(),
    };
    let (limit, before) = match parsed {
        Ok(p) if errors.is_empty() => p,
        _ => return Err(ApiError::InvalidParameters(errors)),
    };
    let article = params.article;
    let data = state
        .db
        .run(move |conn| {
            let rows =
                queries::comments::queue(conn, status, article.as_deref(), before, limit + 1)?;
            service::moderator_views(conn, rows)
        })
        .await?;
    let (data, next) = split_page(data, limit, &state.cursors, |c| c.id);
    Ok(page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}

/// Get a comment.
///
/// One comment as moderators see it, with its moderation history. The `ETag` changes with every
/// moderation step: send it as `If-Match` with `PATCH` to decide only if no one else has since.
#[utoipa::path(
    get,
    path = "/api/v1/comments/{id}",
    tag = "moderation",
    operation_id = "get_comment",
    params(("id" = i64, Path, description = "The comment's id", example = 42)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The comment", body = ModeratorComment,
            headers(("ETag" = String, description = "Strong validator of this view of the comment; send it as `If-Match` to moderate it"))),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn get_comment(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _moderator: ModeratorUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (bytes, etag) = state
        .db
        .run(move |conn| service::tagged_view(conn, id))
        .await?;
    Ok(written_json(StatusCode::OK, bytes, etag, None))
}

/// Moderate a comment.
///
/// Sets the status (`pending` puts it back in the queue) with an optional note. The step is
/// recorded with the moderator and the time, and shows in `history`. `If-Match` is optional:
/// when sent, the decision applies only if the comment is still the one with that ETag (412
/// otherwise, and nothing changes), so of two moderators deciding at once only one wins.
#[utoipa::path(
    patch,
    path = "/api/v1/comments/{id}",
    tag = "moderation",
    operation_id = "moderate_comment",
    params(
        ("id" = i64, Path, description = "The comment's id", example = 42),
        ("If-Match" = Option<String>, Header, description = "The comment's current ETag (from `GET /api/v1/comments/{id}` or an earlier `PATCH`), to refuse the decision if someone else moderated it first"),
    ),
    request_body = ModerateComment,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The comment after the decision", body = ModeratorComment,
            headers(("ETag" = String, description = "Strong validator of the comment after the decision"))),
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
pub async fn moderate_comment(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    moderator: ModeratorUser,
    ApiJson(body): ApiJson<ModerateComment>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut v = Violations::new();
    let status = v.check("status", body.status.parse::<CommentStatus>());
    let note = service::note(body.moderation_note.as_deref())
        .map_err(|e| v.add(&e.field, e.message))
        .ok();
    let (status, note) = v
        .finish(|| status.zip(note))
        .map_err(ApiError::Validation)?;
    let moderator_id = moderator.user.id;
    let if_match = optional_if_match(&req);
    let (bytes, etag) = state
        .db
        .run(move |conn| {
            service::set_status(
                conn,
                id,
                status,
                note.as_deref(),
                moderator_id,
                if_match.as_deref(),
            )
        })
        .await?;
    Ok(written_json(StatusCode::OK, bytes, etag, None))
}

/// Delete a comment.
///
/// Removes the comment for good. Its replies are not lost: they move up to the deleted
/// comment's parent (a reply to a top-level comment becomes top-level), keeping their status
/// and order. The deletion stays in the moderation log.
#[utoipa::path(
    delete,
    path = "/api/v1/comments/{id}",
    tag = "moderation",
    operation_id = "delete_comment",
    params(("id" = i64, Path, description = "The comment's id", example = 42)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn delete_comment(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    moderator: ModeratorUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let moderator_id = moderator.user.id;
    state
        .db
        .run(move |conn| service::delete(conn, id, moderator_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Moderate many comments.
///
/// One action (`approve`, `reject`, `spam`, `delete`) on up to 500 comments, all or nothing:
/// an unknown or repeated id refuses the whole request (422 naming each `ids[i]`) and nothing
/// changes. With `expected_status`, every comment must have that status when the action runs,
/// or the answer is 409 naming each `ids[i]` that differs and nothing changes: of two
/// moderators clearing the same pending comments at once, exactly one succeeds. The answer
/// gives each comment's outcome in the order asked.
#[utoipa::path(
    post,
    path = "/api/v1/comments/moderate",
    tag = "moderation",
    operation_id = "bulk_moderate",
    request_body = BulkModerate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every comment's outcome", body = BulkResult),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn bulk_moderate(
    state: web::Data<AppState>,
    moderator: ModeratorUser,
    ApiJson(body): ApiJson<BulkModerate>,
) -> Result<HttpResponse, ApiError> {
    let mut v = Violations::new();
    if body.ids.is_empty() || body.ids.len() > BULK_MAX {
        v.add("ids", format!("must hold 1–{BULK_MAX} comment ids"));
    }
    let action = v.check("action", body.action.parse::<ModerationAction>());
    let expected = v.check(
        "expected_status",
        body.expected_status
            .as_deref()
            .map(str::parse::<CommentStatus>)
            .transpose(),
    );
    let note = service::note(body.moderation_note.as_deref())
        .map_err(|e| v.add(&e.field, e.message))
        .ok();
    let (action, (expected, note)) = v
        .finish(|| action.zip(expected.zip(note)))
        .map_err(ApiError::Validation)?;
    let moderator_id = moderator.user.id;
    let ids = body.ids;
    let results = state
        .db
        .run(move |conn| service::bulk(conn, &ids, action, expected, note.as_deref(), moderator_id))
        .await?;
    Ok(HttpResponse::Ok().json(BulkResult {
        results: results
            .into_iter()
            .map(|(id, status)| BulkOutcome { id, status })
            .collect(),
    }))
}

/// Comment counts.
///
/// How many comments have each status.
#[utoipa::path(
    get,
    path = "/api/v1/comments/stats",
    tag = "moderation",
    operation_id = "comment_stats",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts by status", body = CommentStats),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn comment_stats(
    state: web::Data<AppState>,
    _moderator: ModeratorUser,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db
        .run(|conn| Ok(queries::comments::stats(conn)?))
        .await?;
    let count = |s: CommentStatus| {
        rows.iter()
            .find(|(status, _)| status == s.as_str())
            .map_or(0, |(_, n)| *n)
    };
    Ok(HttpResponse::Ok().json(CommentStats {
        pending: count(CommentStatus::Pending),
        approved: count(CommentStatus::Approved),
        rejected: count(CommentStatus::Rejected),
        spam: count(CommentStatus::Spam),
    }))
}

fn block_view(row: queries::comments::BlockRow) -> Result<BlockView, ApiError> {
    let (b, name) = row;
    Ok(BlockView {
        kind: b.kind.parse().map_err(ApiError::internal)?,
        id: b.id,
        value: b.value,
        note: b.note,
        expires_at: b.expires_at.map(|t| t.and_utc()),
        created_at: b.created_at.and_utc(),
        created_by: b
            .created_by
            .zip(name)
            .map(|(id, display_name)| StaffRef { id, display_name }),
    })
}

/// List the blocklist.
///
/// Every entry, newest first, expired ones included (they no longer apply).
#[utoipa::path(
    get,
    path = "/api/v1/comments/blocklist",
    tag = "moderation",
    operation_id = "list_blocklist",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries", body = Page<BlockView>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn list_blocklist(
    req: HttpRequest,
    state: web::Data<AppState>,
    _moderator: ModeratorUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = params.parse::<i64>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| Ok(queries::comments::list_blocks(conn, before, limit + 1)?))
        .await?;
    let (rows, next) = split_page(rows, limit, &state.cursors, |(b, _)| b.id);
    let data = rows
        .into_iter()
        .map(block_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}

/// Add a blocklist entry.
///
/// New comments whose e-mail, e-mail domain (subdomains included) or client address matches
/// an entry in force are filed as spam. Values are normalised (`10.1.2.3/8` becomes
/// `10.0.0.0/8`); the same entry twice is a 409.
#[utoipa::path(
    post,
    path = "/api/v1/comments/blocklist",
    tag = "moderation",
    operation_id = "add_block",
    request_body = AddBlock,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = BlockView),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn add_block(
    state: web::Data<AppState>,
    moderator: ModeratorUser,
    ApiJson(body): ApiJson<AddBlock>,
) -> Result<HttpResponse, ApiError> {
    let mut v = Violations::new();
    let kind = v.check("kind", body.kind.parse::<BlockKind>());
    let value = kind.and_then(|k| v.check("value", parse_block_value(k, &body.value)));
    let note = service::note(body.note.as_deref())
        .map_err(|e| v.add("note", e.message))
        .ok();
    let expires_at = v.check(
        "expires_at",
        body.expires_at.map(crate::domain::timestamp).transpose(),
    );
    let (kind, (value, (note, expires_at))) = v
        .finish(|| kind.zip(value.zip(note.zip(expires_at))))
        .map_err(ApiError::Validation)?;
    let created_by = moderator.user.id;
    let view = state
        .db
        .run(move |conn| {
            let id = crate::db::write_transaction(conn, |conn| {
                queries::comments::insert_block(
                    conn,
                    kind.as_str(),
                    &value,
                    note.as_deref(),
                    expires_at,
                    created_by,
                    now(),
                )
                .map_err(|e| match ApiError::from(e) {
                    ApiError::Conflict { .. } => {
                        ApiError::conflict("value", "this entry is already on the blocklist")
                    }
                    other => other,
                })
            })?;
            let row = queries::comments::block_row(conn, id)?
                .ok_or_else(|| ApiError::internal("the new entry vanished"))?;
            block_view(row)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/comments/blocklist/{}", view.id),
        ))
        .json(view))
}

/// Remove a blocklist entry.
///
/// Deletes the entry at once: new comments that matched it are no longer filed as spam. Comments
/// it already filed stay where they are.
#[utoipa::path(
    delete,
    path = "/api/v1/comments/blocklist/{id}",
    tag = "moderation",
    operation_id = "remove_block",
    params(("id" = i64, Path, description = "The entry's id", example = 5)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn remove_block(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _moderator: ModeratorUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let removed = state
        .db
        .run(move |conn| Ok(queries::comments::delete_block(conn, id)?))
        .await?;
    if removed == 0 {
        return Err(ApiError::not_found("No blocklist entry has this id."));
    }
    Ok(HttpResponse::NoContent().finish())
}
