//! Extractors that authenticate a request and check its role, so a handler states its rule in
//! its signature: `user: EditorUser` lets admins and editors in, everyone else gets 401/403.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use crate::db::queries;
use crate::domain::user::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// The user a valid token belongs to, as stored now (not as when the token was issued).
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub display_name: String,
}

impl CurrentUser {
    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }
}

/// Which roles an endpoint admits.
pub trait Policy {
    const ROLES: &'static [Role];
}

pub struct AnyRole;
impl Policy for AnyRole {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Editor, Role::Moderator];
}

pub struct AdminOnly;
impl Policy for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}

pub struct Editors;
impl Policy for Editors {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Editor];
}

pub struct Moderators;
impl Policy for Moderators {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Moderator];
}

/// An authenticated user whose role `P` admits: missing or bad token → 401, wrong role → 403.
pub struct Authenticated<P: Policy = AnyRole> {
    pub user: CurrentUser,
    _policy: PhantomData<P>,
}

pub type AdminUser = Authenticated<AdminOnly>;
pub type EditorUser = Authenticated<Editors>;
pub type ModeratorUser = Authenticated<Moderators>;

impl<P: Policy + 'static> FromRequest for Authenticated<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = authenticate(req);
        Box::pin(async move {
            let user = found.await?.ok_or(ApiError::Unauthorized(
                "This endpoint needs a bearer token.",
            ))?;
            if !user.is(P::ROLES) {
                return Err(ApiError::Forbidden("Your role does not allow this action."));
            }
            Ok(Authenticated {
                user,
                _policy: PhantomData,
            })
        })
    }
}

/// For public endpoints that show more to staff: no token → `None`; a bad token is still a
/// 401, so a client with an expired token finds out instead of silently seeing less.
pub struct MaybeUser(pub Option<CurrentUser>);

impl MaybeUser {
    pub fn has_role(&self, roles: &[Role]) -> bool {
        self.0.as_ref().is_some_and(|u| u.is(roles))
    }
}

impl FromRequest for MaybeUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = authenticate(req);
        Box::pin(async move { found.await.map(MaybeUser) })
    }
}

/// `Ok(None)` when the request carries no credentials; `Err` when it carries bad ones.
fn authenticate(
    req: &HttpRequest,
) -> impl Future<Output = Result<Option<CurrentUser>, ApiError>> + 'static {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_string));
    async move {
        let header = match header {
            None => return Ok(None),
            Some(Ok(h)) => h,
            Some(Err(_)) => return Err(ApiError::Unauthorized("The bearer token is invalid.")),
        };
        let state = state.ok_or_else(|| ApiError::internal("application state missing"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "The Authorization header must be `Bearer <token>`.",
            ))?;
        let claims = state.jwt.verify(token).ok_or(ApiError::Unauthorized(
            "The bearer token is invalid or expired.",
        ))?;
        let id: i64 = claims
            .sub
            .parse()
            .map_err(|_| ApiError::Unauthorized("The bearer token is invalid or expired."))?;
        let user = state
            .db
            .run(move |conn| Ok(queries::users::find(conn, id)?))
            .await?;
        // A disabled user, a changed password or a deleted account all invalidate the token.
        match user {
            Some(u) if !u.disabled && u.token_version == claims.ver => {
                let role = u.role.parse().map_err(|_| {
                    ApiError::internal(format!("user {} has an unknown role", u.id))
                })?;
                Ok(Some(CurrentUser {
                    id: u.id,
                    username: u.username,
                    role,
                    display_name: u.display_name,
                }))
            }
            _ => Err(ApiError::Unauthorized(
                "The bearer token is invalid or expired.",
            )),
        }
    }
}
