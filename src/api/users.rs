//! The user shapes of the API. The password hash is never part of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::models::User;
use crate::domain::user::Role;
use crate::error::ApiError;

/// A user as the API shows it. The password hash is never part of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The user's id.
    #[schema(example = 1)]
    pub id: i64,
    /// The login name.
    #[schema(example = "jdoe")]
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// The name shown as an article's author.
    #[schema(example = "Jane Doe")]
    pub display_name: String,
    /// A disabled user cannot log in and its tokens are refused.
    #[schema(example = false)]
    pub disabled: bool,
    /// When the user was created.
    #[schema(example = "2026-11-25T18:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the user was last changed.
    #[schema(example = "2026-11-25T18:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<User> for UserView {
    type Error = ApiError;
    fn try_from(u: User) -> Result<Self, ApiError> {
        Ok(Self {
            role: u.role.parse().map_err(ApiError::internal)?,
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: u.created_at.and_utc(),
            updated_at: u.updated_at.and_utc(),
        })
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// 1–64 characters of letters, digits, `.`, `_`, `-` and `@`; unique.
    #[schema(
        example = "jdoe",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._@-]{1,64}$"
    )]
    pub username: String,
    /// 8–1024 characters.
    #[schema(
        example = "a long passphrase",
        min_length = 8,
        max_length = 1024,
        pattern = "^[^\\x00]*$"
    )]
    pub password: String,
    /// The user's role.
    pub role: Role,
    /// 1–100 characters without control characters; defaults to the username.
    #[schema(
        example = "Jane Doe",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,98}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub display_name: Option<String>,
}

/// Changes to a user; absent fields stay as they are. Changing the password or disabling the
/// user revokes its existing tokens.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// A new role.
    pub role: Option<Role>,
    /// A new password, 8–1024 characters.
    #[schema(
        example = "another long passphrase",
        min_length = 8,
        max_length = 1024,
        pattern = "^[^\\x00]*$"
    )]
    pub password: Option<String>,
    /// A new display name, 1–100 characters without control characters.
    #[schema(
        example = "Jane Q. Doe",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,98}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub display_name: Option<String>,
    /// `true` disables the user (it cannot log in; its tokens stop working).
    #[schema(example = false)]
    pub disabled: Option<bool>,
}
