//! Admin-only user management: `/api/v1/users`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::users::{CreateUser, UpdateUser, UserView};
use crate::auth::password;
use crate::db::queries;
use crate::domain::user::{DisplayName, Password, Username};
use crate::domain::Violations;
use crate::error::ApiError;
use crate::routes::auth_extract::AdminUser;
use crate::routes::extract::{ApiJson, ApiQuery};
use crate::routes::pagination::{page_response, split_page, Page, PageParams};
use crate::services::users::{self, create_hashed, no_such_user};
use crate::state::AppState;

/// List users.
///
/// All users in id order (admin only).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "list_users",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of users", body = Page<UserView>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when another page exists"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
    )
)]
pub async fn list_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: AdminUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = params.parse::<i64>(&state.cursors)?;
    let rows = state
        .db
        .run(move |conn| Ok(queries::users::list(conn, after, limit + 1)?))
        .await?;
    let (rows, next) = split_page(rows, limit, &state.cursors, |u| u.id);
    let data = rows
        .into_iter()
        .map(UserView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(
        &req,
        state.config.public_url.as_deref(),
        data,
        next,
        limit,
    ))
}

/// Create a user.
///
/// Adds a user with a role (admin only). The password is stored as an Argon2id hash.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    operation_id = "create_user",
    request_body = CreateUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserView,
            headers(("Location" = String, description = "The new user's URL"))),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn create_user(
    state: web::Data<AppState>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let mut v = Violations::new();
    let username = v.check("username", Username::parse(&body.username));
    let password = v.check("password", Password::parse(&body.password));
    let display_name = match &body.display_name {
        Some(d) => v.check("display_name", DisplayName::parse(d)),
        None => None,
    };
    let (username, password) = v
        .finish(|| username.zip(password))
        .map_err(ApiError::Validation)?;
    let display_name =
        display_name.map_or_else(|| username.as_str().to_string(), |d| d.into_inner());
    // Hashed on the hashing threads, before a pooled connection is taken: Argon2 takes tens
    // of milliseconds, which other requests would otherwise wait for a connection through.
    let hash = password::on_hashing_threads(move || password::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let user = state
        .db
        .run(move |conn| create_hashed(conn, &username, &hash, body.role, &display_name))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(UserView::try_from(user)?))
}

/// Get a user.
///
/// One user by id (admin only), without its password hash.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "get_user",
    params(("id" = i64, Path, description = "The user's id", example = 1)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn get_user(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = state
        .db
        .run(move |conn| queries::users::find(conn, id)?.ok_or_else(no_such_user))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(user)?))
}

/// Update a user.
///
/// Changes a user's role, password, display name or disabled flag (admin only). Changing the
/// password or disabling the user revokes its existing tokens. The last enabled admin can be
/// neither demoted nor disabled (409).
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "update_user",
    params(("id" = i64, Path, description = "The user's id", example = 1)),
    request_body = UpdateUser,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated user", body = UserView),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 409, response = crate::error::responses::Conflict),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
    )
)]
pub async fn update_user(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut v = Violations::new();
    let password = match &body.password {
        Some(p) => v.check("password", Password::parse(p)),
        None => None,
    };
    let display_name = match &body.display_name {
        Some(d) => v.check("display_name", DisplayName::parse(d)),
        None => None,
    };
    if !v.is_empty() {
        return Err(ApiError::Validation(v.into_errors()));
    }
    // Hashed before a pooled connection is taken (see `create_user`).
    let hash = match password {
        None => None,
        Some(p) => Some(
            password::on_hashing_threads(move || password::hash(&p))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?,
        ),
    };
    let user = state
        .db
        .run(move |conn| users::update(conn, id, &body, hash, display_name))
        .await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(user)?))
}

/// Delete a user.
///
/// Removes a user (admin only). The last enabled admin cannot be deleted (409); a user who
/// authored articles cannot be deleted either (409): disable it instead.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    operation_id = "delete_user",
    params(("id" = i64, Path, description = "The user's id", example = 1)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 403, response = crate::error::responses::Forbidden),
        (status = 404, response = crate::error::responses::NotFound),
        (status = 409, response = crate::error::responses::Conflict),
    )
)]
pub async fn delete_user(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    _admin: AdminUser,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.db.run(move |conn| users::delete(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
