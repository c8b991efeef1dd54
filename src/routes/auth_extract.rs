//! Extractors that authenticate a request and check its role, so a handler states its rule in
//! its signature: `user: EditorUser` lets admins and editors in, everyone else gets 401/403.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

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
        let gate = AuthGate::open(req);
        Box::pin(async move {
            let checked = async {
                let user = found.await?.ok_or(ApiError::Unauthorized(
                    "This endpoint needs a bearer token.",
                ))?;
                if !user.is(P::ROLES) {
                    return Err(ApiError::Forbidden("Your role does not allow this action."));
                }
                Ok(user)
            }
            .await;
            gate.send_replace(Some(checked.is_ok()));
            Ok(Authenticated {
                user: checked?,
                _policy: PhantomData,
            })
        })
    }
}

/// The outcome of a request's authorisation, for extractors that must wait for it: actix polls
/// a handler's extractors together, so a request body would otherwise be read (up to 3 MiB)
/// and validated while the token is checked, and a caller with the wrong role would get a 422
/// or a 403 depending on which finished first. [`Authenticated`] opens the gate when it is
/// created (handlers name it before their body) and sets it when it knows; the body extractor
/// (`routes::extract::ApiJson`) waits for it and reads nothing unless it passed.
#[derive(Clone)]
pub struct AuthGate(tokio::sync::watch::Receiver<Option<bool>>);

impl AuthGate {
    fn open(req: &HttpRequest) -> tokio::sync::watch::Sender<Option<bool>> {
        let (tx, rx) = tokio::sync::watch::channel(None);
        req.extensions_mut().insert(AuthGate(rx));
        tx
    }

    /// The request's gate, if an extractor before this one opened it.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        req.extensions().get::<Self>().cloned()
    }

    /// Whether the request was authorised; `false` also when the check was dropped unfinished.
    pub async fn passed(mut self) -> bool {
        matches!(
            self.0.wait_for(Option::is_some).await.map(|v| *v),
            Ok(Some(true))
        )
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
