//! `POST /api/v1/auth/token` and `GET /api/v1/auth/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::users::UserView;
use crate::auth::password;
use crate::config::LOGIN_WINDOW;
use crate::db::queries::login::{Attempt, Limits};
use crate::db::queries::{self, now};
use crate::domain::client_addr::{client_ip, hashed_rate_key};
use crate::domain::user::{Role, PASSWORD_MAX, USERNAME_MAX};
use crate::domain::{char_len, Violations};
use crate::error::ApiError;
use crate::routes::auth_extract::Authenticated;
use crate::routes::extract::ApiJson;
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
/// What client addresses are hashed under for the login limit.
const ADDRESS_KEY_PURPOSE: &str = "login";

/// Log in.
///
/// Exchanges a username and password for a bearer token. A wrong username and a wrong password
/// get the same answer. After `MASTHEAD_LOGIN_MAX_FAILURES` failures for one username within 15
/// minutes, logins for it answer 429 with `Retry-After` until the window passes; attempts still
/// being checked count, so concurrent ones cannot exceed it. One client address is limited
/// likewise across usernames (`MASTHEAD_LOGIN_MAX_FAILURES_PER_ADDRESS`), and only that address
/// is refused.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    operation_id = "create_token",
    request_body = TokenRequest,
    security(()),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, response = crate::error::responses::BadRequest),
        (status = 401, response = crate::error::responses::Unauthorized),
        (status = 413, response = crate::error::responses::PayloadTooLarge),
        (status = 415, response = crate::error::responses::UnsupportedMediaType),
        (status = 422, response = crate::error::responses::ValidationFailed),
        (status = 429, response = crate::error::responses::TooManyRequests),
    )
)]
pub async fn create_token(
    req: HttpRequest,
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

    let config = &state.config;
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| v.as_bytes());
    // Counted per client, hashed: the address itself is never stored for logins. An address in
    // the trusted-proxy ranges is a proxy's, not a client's (behind a proxy that is not trusted,
    // or with MASTHEAD_TRUST_PROXY off, every request seems to come from it): limiting it would
    // let anyone lock everyone out, so only the per-username rule applies then.
    let address_key = client_ip(
        req.peer_addr().map(|a| a.ip()),
        forwarded,
        config.trust_proxy,
        &config.trusted_proxies,
    )
    .filter(|ip| {
        !crate::domain::client_addr::is_trusted_proxy(Some(*ip), true, &config.trusted_proxies)
    })
    .map(|ip| hashed_rate_key(ADDRESS_KEY_PURPOSE, ip));
    let limits = Limits {
        per_username: i64::from(config.login_max_failures),
        per_address: i64::from(config.login_max_failures_per_address),
    };
    let window = TimeDelta::from_std(LOGIN_WINDOW).map_err(ApiError::internal)?;
    let TokenRequest { username, password } = body;

    // The attempt is counted before the password is checked, and the connection is given back
    // before the slow hash: see `queries::login`.
    let name = username.clone();
    let (attempt, user, now) = state
        .db
        .write(move |conn| {
            let now = now();
            let since = now - window;
            let attempt =
                queries::login::reserve(conn, &name, address_key.as_deref(), limits, since, now)?;
            if let Err(e) = queries::login::forget_expired(conn, since) {
                // The next attempt tries again; expired failures no longer count meanwhile.
                tracing::warn!(error = %e, "deleting expired login failures failed");
            }
            let user = match attempt {
                Attempt::Reserved => queries::users::find_by_username(conn, &name)?,
                _ => None,
            };
            Ok((attempt, user, now))
        })
        .await?;
    let oldest = match attempt {
        Attempt::Reserved => None,
        Attempt::UsernameThrottled { oldest } => Some((oldest, "for this username")),
        Attempt::AddressThrottled { oldest } => Some((oldest, "from this address")),
    };
    if let Some((oldest, whose)) = oldest {
        let free_at = oldest.unwrap_or(now) + window;
        let wait_ms = (free_at - now).num_milliseconds().max(0);
        return Err(ApiError::TooManyRequests {
            detail: format!("Too many failed logins {whose}; try again later."),
            retry_after: u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1),
        });
    }

    // On the hashing threads, holding no connection. An unknown username costs the time of a
    // real check, so the answer's timing does not tell which usernames exist.
    let user = password::on_hashing_threads(move || match user {
        Some(u) if password::verify(&password, &u.password_hash) && !u.disabled => Some(u),
        Some(_) => None,
        None => {
            password::verify_against_dummy(&password);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?;
    // A failure keeps its reservation: it was counted already.
    let user = user.ok_or(ApiError::Unauthorized(WRONG_CREDENTIALS))?;
    state
        .db
        .write(move |conn| {
            queries::login::succeeded(conn, &username, now - window)?;
            Ok(())
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
        (status = 401, response = crate::error::responses::Unauthorized),
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
