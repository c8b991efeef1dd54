//! `POST /api/v1/auth/token` and `GET /api/v1/auth/me`.

use actix_web::{web, HttpResponse};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{password, Authenticated};
use crate::config::LOGIN_WINDOW;
use crate::db::queries::{self, now};
use crate::domain::user::{Role, PASSWORD_MAX, USERNAME_MAX};
use crate::domain::{char_len, Violations};
use crate::error::ApiError;
use crate::routes::extract::ApiJson;
use crate::routes::users::UserView;
use crate::state::AppState;

/// Credentials exchanged for an access token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The login name.
    #[schema(
        example = "admin",
        min_length = 1,
        max_length = 64,
        pattern = "^[^\\x00]*$"
    )]
    pub username: String,
    /// The password.
    #[schema(
        example = "correct horse battery staple",
        min_length = 1,
        max_length = 1024,
        pattern = "^[^\\x00]*$"
    )]
    pub password: String,
}

/// A bearer token for the `Authorization` header.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    #[schema(example = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")]
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: i64,
    /// The role of the user the token belongs to.
    pub role: Role,
}

const WRONG_CREDENTIALS: &str = "Wrong username or password.";

/// Log in.
///
/// Exchanges a username and password for a bearer token. A wrong username and a wrong password
/// get the same answer. After `MASTHEAD_LOGIN_MAX_FAILURES` failures for one username within 15
/// minutes, logins for it answer 429 with `Retry-After` until the window passes.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    operation_id = "create_token",
    request_body = TokenRequest,
    security(()),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, response = crate::openapi::ValidationFailed),
        (status = 429, response = crate::openapi::TooManyRequests),
    )
)]
pub async fn create_token(
    state: web::Data<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut v = Violations::new();
    if body.username.is_empty() || char_len(&body.username) > USERNAME_MAX {
        v.add("username", format!("must be 1–{USERNAME_MAX} characters"));
    }
    if body.password.is_empty() || body.password.chars().count() > PASSWORD_MAX {
        v.add("password", format!("must be 1–{PASSWORD_MAX} characters"));
    }
    if !v.is_empty() {
        return Err(ApiError::Validation(v.into_errors()));
    }

    let max_failures = i64::from(state.config.login_max_failures);
    let window = TimeDelta::from_std(LOGIN_WINDOW).map_err(ApiError::internal)?;
    let user = state
        .db
        .run(move |conn| {
            let now = now();
            let since = now - window;
            let (failures, oldest) = queries::login::recent(conn, &body.username, since)?;
            if failures >= max_failures {
                let retry = oldest.map_or(window, |t| t + window - now);
                return Err(ApiError::TooManyRequests {
                    detail: "Too many failed logins for this username; try again later.".into(),
                    retry_after: u64::try_from(retry.num_seconds()).unwrap_or(0).max(1),
                });
            }
            let user = queries::users::find_by_username(conn, &body.username)?;
            let valid = match &user {
                Some(u) => password::verify(&body.password, &u.password_hash) && !u.disabled,
                None => {
                    password::verify_against_dummy(&body.password);
                    false
                }
            };
            match user {
                Some(u) if valid => {
                    queries::login::clear(conn, &body.username, since)?;
                    Ok(u)
                }
                _ => {
                    queries::login::record(conn, &body.username, now)?;
                    Err(ApiError::Unauthorized(WRONG_CREDENTIALS))
                }
            }
        })
        .await?;

    let role = user.role.parse::<Role>().map_err(ApiError::internal)?;
    let access_token = state
        .jwt
        .issue(user.id, user.token_version)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: state.jwt.ttl_secs(),
            role,
        }))
}

/// The current user.
///
/// Returns the user the bearer token belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    tag = "auth",
    operation_id = "get_current_user",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current user", body = UserView),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub async fn me(state: web::Data<AppState>, auth: Authenticated) -> Result<HttpResponse, ApiError> {
    let id = auth.user.id;
    let user = state
        .db
        .run(move |conn| {
            queries::users::find(conn, id)?.ok_or(ApiError::Unauthorized(WRONG_CREDENTIALS))
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserView::try_from(user)?))
}
