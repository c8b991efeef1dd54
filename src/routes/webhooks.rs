//! `/api/v1/webhooks` (admins): hooks and their deliveries.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::articles::some;
use crate::db::models::{Delivery, Webhook, WebhookWrite};
use crate::db::queries::{self, now};
use crate::domain::{article, char_len, Violations};
use crate::error::ApiError;
use crate::routes::auth_extract::AdminUser;
use crate::routes::extract::{ApiJson, ApiQuery};
use crate::routes::pagination::{page_response, split_page, Page, PageParams};
use crate::state::AppState;
use crate::webhooks::{new_secret, target, Event};

const SECRET_MIN: usize = 16;
const SECRET_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 500;

/// A webhook: where events are posted.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// The hook's id.
    #[schema(example = 1)]
    pub id: i64,
    /// Where deliveries are posted.
    #[schema(example = "https://hooks.example.org/masthead")]
    pub url: String,
    /// The events it receives.
    #[schema(example = json!(["article.published", "comment.approved"]))]
    pub events: Vec<Event>,
    /// Inactive hooks receive nothing.
    #[schema(example = true)]
    pub active: bool,
    /// Whether comment events carry the commenter's e-mail, address, user agent and status
    /// (for moderators' tools only).
    #[schema(example = false)]
    pub include_private: bool,
    /// What the hook is for.
    #[schema(example = "Rebuild the static site")]
    pub description: Option<String>,
    /// The signing secret: only in the answer that created or changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "whsec_3f1c0e8a9b7d4c2e1f0a9b8c7d6e5f4a")]
    pub secret: Option<String>,
    /// When the hook was created.
    #[schema(example = "2026-11-25T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the hook last changed.
    #[schema(example = "2026-11-25T09:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// An http(s) URL, at most 2,000 characters.
    #[schema(
        example = "https://hooks.example.org/masthead",
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*(?:[Hh][Tt][Tt][Pp]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1992}|[Hh][Tt][Tt][Pp][Ss]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1991})[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub url: String,
    /// One or more events; repeats are dropped.
    #[schema(value_type = Vec<Event>, example = json!(["article.published", "comment.approved"]), min_items = 1)]
    pub events: Vec<String>,
    /// The signing secret, 16–256 characters without control characters; made up (and returned
    /// once) when absent.
    #[schema(
        example = "a-long-random-shared-secret",
        min_length = 16,
        max_length = 256,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub secret: Option<String>,
    /// Default true.
    #[schema(example = true)]
    pub active: Option<bool>,
    /// Default false: comment events carry no private data.
    #[schema(example = false)]
    pub include_private: Option<bool>,
    /// At most 500 characters; blank counts as absent.
    #[schema(
        example = "Rebuild the static site",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,498}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub description: Option<String>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// An http(s) URL.
    #[schema(
        example = "https://hooks.example.org/masthead-v2",
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*(?:[Hh][Tt][Tt][Pp]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1992}|[Hh][Tt][Tt][Pp][Ss]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1991})[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub url: Option<String>,
    /// Replaces the event list; repeats are dropped.
    #[schema(value_type = Option<Vec<Event>>, example = json!(["article.published"]), min_items = 1)]
    pub events: Option<Vec<String>>,
    /// A new signing secret, 16–256 characters without control characters.
    #[schema(
        example = "another-long-random-secret",
        min_length = 16,
        max_length = 256,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub secret: Option<String>,
    /// Pause or resume deliveries.
    #[schema(example = false)]
    pub active: Option<bool>,
    /// Whether comment events carry private data.
    #[schema(example = false)]
    pub include_private: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "Rebuild the static site", pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,498}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$")]
    pub description: Option<Option<String>>,
}

/// One event sent (or being sent) to one hook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The delivery's id (the `X-Masthead-Delivery` header).
    #[schema(example = 17)]
    pub id: i64,
    /// The event's id, shared by its deliveries to every hook (the payload's `id`).
    #[schema(example = "8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f")]
    pub event_id: String,
    /// The event.
    pub event: Event,
    /// `pending` (waiting or retrying), `delivered`, or `failed` (attempts used up).
    #[schema(example = "delivered")]
    pub status: String,
    /// Attempts so far.
    #[schema(example = 1)]
    pub attempts: i32,
    /// When the next attempt is due (while pending).
    #[schema(example = "2026-11-25T09:00:02Z")]
    pub next_attempt_at: DateTime<Utc>,
    /// The HTTP status of the last attempt.
    #[schema(example = 200)]
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed to get an answer.
    #[schema(example = "error sending request")]
    pub last_error: Option<String>,
    /// The start of the last answer's body.
    #[schema(example = "ok")]
    pub last_response: Option<String>,
    /// When it was delivered.
    #[schema(example = "2026-11-25T09:00:01Z")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the event happened.
    #[schema(example = "2026-11-25T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// The exact JSON body that is signed and posted.
    #[schema(value_type = WebhookPayload)]
    pub payload: Value,
}

/// The body of every delivery. Headers: `X-Masthead-Event`, `X-Masthead-Event-Id`,
/// `X-Masthead-Delivery`, and `X-Masthead-Signature: t=<unix seconds>,v1=<hex>` where the hex
/// is HMAC-SHA256 keyed with the hook's secret over `<t>.<body>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// The event's id: the same for every hook, and again on a retry (deduplicate on it).
    #[schema(example = "8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f")]
    pub id: String,
    /// The event.
    pub event: Event,
    /// When it happened.
    #[schema(example = "2026-11-25T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// `ArticleEventData` for `article.*` events, `CommentEventData` for `comment.*`.
    #[schema(value_type = EventData)]
    pub data: Value,
}

/// The `data` of a delivery: which one the payload's `event` says.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum EventData {
    Article(ArticleEventData),
    Comment(CommentEventData),
}

/// `data` of `article.published`, `article.updated`, `article.unpublished`, `article.deleted`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleEventData {
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// Its slug.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
    /// Its title.
    #[schema(example = "The river crossing reopens")]
    pub title: String,
    /// Its status after the change (before it, for a deletion).
    #[schema(example = "published")]
    pub status: String,
    /// Its publication time.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// When it last changed.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

/// The article of a comment event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventArticleRef {
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// Its slug.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
}

/// `data` of `comment.created` and `comment.approved`. The last four fields are present only
/// for hooks with `include_private`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentEventData {
    /// The comment's id.
    #[schema(example = 42)]
    pub id: i64,
    /// Its article.
    pub article: EventArticleRef,
    /// The comment it answers.
    #[schema(example = 41)]
    pub parent_id: Option<i64>,
    /// The commenter's name.
    #[schema(example = "Dana K.")]
    pub author_name: String,
    /// The commenter's site.
    #[schema(example = "https://dana.example.org")]
    pub author_url: Option<String>,
    /// The rendered comment.
    #[schema(example = "<p>Thank you for this.</p>\n")]
    pub body_html: String,
    /// When it was posted.
    #[schema(example = "2026-11-25T09:15:00Z")]
    pub created_at: DateTime<Utc>,
    /// Private: its status.
    #[schema(example = "pending")]
    pub status: Option<String>,
    /// Private: the commenter's e-mail.
    #[schema(example = "dana@example.org")]
    pub author_email: Option<String>,
    /// Private: the client's address.
    #[schema(example = "203.0.113.7")]
    pub ip_address: Option<String>,
    /// Private: the client's user agent.
    #[schema(example = "Mozilla/5.0")]
    pub user_agent: Option<String>,
}

fn view(w: Webhook, secret: Option<String>) -> WebhookView {
    WebhookView {
        events: serde_json::from_str::<Vec<String>>(&w.events)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.parse().ok())
            .collect(),
        id: w.id,
        url: w.url,
        active: w.active,
        include_private: w.include_private,
        description: w.description,
        secret,
        created_at: w.created_at.and_utc(),
        updated_at: w.updated_at.and_utc(),
    }
}

fn check_url(v: &mut Violations, raw: &str) -> Option<String> {
    match article::http_url(Some(raw)) {
        Ok(Some(u)) => Some(u),
        // Blank: present but not a URL (saying "required" would suggest it was missing).
        Ok(None) => {
            v.add("url", "must be an http or https URL, not blank");
            None
        }
        Err(e) => {
            v.add("url", e);
            None
        }
    }
}

/// Unless the operator allows private targets, the URL's host must be a public address and a
/// name must resolve (now) only to public addresses; the worker checks again at each delivery.
async fn check_target(state: &AppState, v: &mut Violations, url: Option<&str>) {
    if state.config.webhook_allow_private {
        return;
    }
    if let Some(url) = url {
        if let Err(refused) = target::check_public(url).await {
            v.add("url", refused.to_string());
        }
    }
}

/// The events as stored: valid, each once, in the order given.
fn check_events(v: &mut Violations, raw: &[String]) -> Option<String> {
    if raw.is_empty() {
        v.add("events", "must name at least one event");
        return None;
    }
    let mut events: Vec<&str> = Vec::new();
    let mut ok = true;
    for (i, e) in raw.iter().enumerate() {
        match e.parse::<Event>() {
            Ok(e) if !events.contains(&e.as_str()) => events.push(e.as_str()),
            Ok(_) => {}
            Err(message) => {
                v.add(&format!("events[{i}]"), message);
                ok = false;
            }
        }
    }
    ok.then(|| serde_json::to_string(&events).unwrap_or_default())
}

fn check_secret(v: &mut Violations, raw: &str) -> Option<String> {
    let n = char_len(raw);
    if !(SECRET_MIN..=SECRET_MAX).contains(&n) || raw.chars().any(char::is_control) {
        v.add(
            "secret",
            format!("must be {SECRET_MIN}–{SECRET_MAX} characters"),
        );
        return None;
    }
    Some(raw.to_string())
}

fn no_such_hook() -> ApiError {
    ApiError::not_found("No webhook has this id.")
}

/// List webhooks.
///
/// Every webhook, newest first (admins). Secrets are never listed.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "list_webhooks",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of webhooks", body = Page<WebhookView>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn list_webhooks(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, before) = params.parse::<i64>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| Ok(queries::webhooks::list(conn, before, limit + 1)?))
        .await?;
    let (rows, next) = split_page(rows, limit, &state.cursors, |w| w.id);
    let data = rows.into_iter().map(|w| view(w, None)).collect();
    Ok(page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}

/// Create a webhook.
///
/// Admins. Events are written to an outbox in the same transaction as the change that caused
/// them and posted by a background worker, at least once, retried with exponential backoff.
/// The answer carries the signing secret (made up when not given); later answers do not.
///
/// The `url` must reach only public addresses: a host that is, or whose name now resolves to,
/// a loopback, private, link-local (cloud metadata), shared, reserved or otherwise non-public
/// address — in any notation, `localhost` included — is refused (422), as is a name that does
/// not resolve; deliveries check the resolved address again and follow no redirects. An
/// operator may allow private targets (`MASTHEAD_WEBHOOK_ALLOW_PRIVATE`).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body = CreateWebhook,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookView,
            headers(("Location" = String, description = "The webhook's URL"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn create_webhook(
    state: web::Data<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let mut v = Violations::new();
    let url = check_url(&mut v, &body.url);
    check_target(&state, &mut v, url.as_deref()).await;
    let events = check_events(&mut v, &body.events);
    let secret = match body.secret.as_deref() {
        Some(s) => check_secret(&mut v, s),
        None => Some(new_secret()),
    };
    let description = v.check(
        "description",
        article::optional_text(body.description.as_deref(), DESCRIPTION_MAX),
    );
    let (url, (events, (secret, description))) = v
        .finish(|| url.zip(events.zip(secret.zip(description))))
        .map_err(ApiError::Validation)?;
    let now = now();
    let row = WebhookWrite {
        url,
        events,
        secret: secret.clone(),
        active: body.active.unwrap_or(true),
        include_private: body.include_private.unwrap_or(false),
        description,
        created_at: now,
        updated_at: now,
    };
    let hook = state
        .db
        .run(move |conn| Ok(queries::webhooks::insert(conn, &row)?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/webhooks/{}", hook.id)))
        .json(view(hook, Some(secret))))
}

/// Get a webhook.
///
/// One webhook by id (admins). Its secret is not shown again.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "get_webhook",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn get_webhook(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let hook = state
        .db
        .run(move |conn| queries::webhooks::find(conn, id)?.ok_or_else(no_such_hook))
        .await?;
    Ok(HttpResponse::Ok().json(view(hook, None)))
}

/// Update a webhook.
///
/// Admins. A new `secret` is returned once in the answer. A new `url` is checked as on
/// creation: private targets are refused (422) unless the operator allows them.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    request_body = UpdateWebhook,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn update_webhook(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<UpdateWebhook>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut v = Violations::new();
    let url = body.url.as_deref().map(|u| check_url(&mut v, u));
    check_target(&state, &mut v, url.as_ref().and_then(|u| u.as_deref())).await;
    let events = body.events.as_deref().map(|e| check_events(&mut v, e));
    let secret = body.secret.as_deref().map(|s| check_secret(&mut v, s));
    let description = body.description.map(|d| {
        v.check(
            "description",
            article::optional_text(d.as_deref(), DESCRIPTION_MAX),
        )
    });
    if !v.is_empty() {
        return Err(ApiError::Validation(v.into_errors()));
    }
    let new_secret = secret.clone().flatten();
    let (hook, shown) = state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| {
                let current = queries::webhooks::find(conn, id)?.ok_or_else(no_such_hook)?;
                let row = WebhookWrite {
                    url: url.flatten().unwrap_or(current.url),
                    events: events.flatten().unwrap_or(current.events),
                    secret: secret.flatten().unwrap_or(current.secret),
                    active: body.active.unwrap_or(current.active),
                    include_private: body.include_private.unwrap_or(current.include_private),
                    description: description.flatten().unwrap_or(current.description),
                    created_at: current.created_at,
                    updated_at: now(),
                };
                queries::webhooks::update(conn, id, &row)?;
                let hook = queries::webhooks::find(conn, id)?.ok_or_else(no_such_hook)?;
                Ok((hook, new_secret))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view(hook, shown)))
}

/// Delete a webhook.
///
/// Admins. Its pending deliveries are dropped with it.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = i64, Path, description = "The webhook's id", example = 1)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let removed = state
        .db
        .run(move |conn| Ok(queries::webhooks::delete(conn, id)?))
        .await?;
    if removed == 0 {
        return Err(no_such_hook());
    }
    Ok(HttpResponse::NoContent().finish())
}

fn delivery_view(d: Delivery) -> Result<DeliveryView, ApiError> {
    Ok(DeliveryView {
        event: d.event.parse().map_err(ApiError::internal)?,
        payload: serde_json::from_str(&d.payload).map_err(ApiError::internal)?,
        id: d.id,
        event_id: d.event_id,
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at.and_utc(),
        last_status_code: d.last_status_code,
        last_error: d.last_error,
        last_response: d.last_response,
        delivered_at: d.delivered_at.map(|t| t.and_utc()),
        created_at: d.created_at.and_utc(),
    })
}

/// List a webhook's deliveries.
///
/// Newest first, with attempts and the last response (admins).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "list_deliveries",
    params(("id" = i64, Path, description = "The webhook's id", example = 1), PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryView>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn list_deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (limit, before) = params.parse::<i64>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| {
            queries::webhooks::find(conn, id)?.ok_or_else(no_such_hook)?;
            Ok(queries::webhooks::deliveries(conn, id, before, limit + 1)?)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, &state.cursors, |d| d.id);
    let data = rows
        .into_iter()
        .map(delivery_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}
