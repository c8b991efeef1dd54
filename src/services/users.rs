//! Users: creating one, and the rule that some enabled admin always remains.

use crate::auth::password;
use crate::db::models::{NewUser, User};
use crate::db::queries::{self, now};
use crate::db::DbConn;
use crate::domain::user::{Password, Role, Username};
use crate::error::ApiError;

/// Creates a user, hashing its password on the caller's thread; for the `user add` command and
/// the demo seed.
pub fn create(
    conn: &mut DbConn,
    username: &Username,
    password: &Password,
    role: Role,
    display_name: &str,
) -> Result<User, ApiError> {
    let hash = password::hash(password).map_err(ApiError::internal)?;
    create_hashed(conn, username, &hash, role, display_name)
}

/// Creates a user whose password is already hashed.
pub fn create_hashed(
    conn: &mut DbConn,
    username: &Username,
    hash: &str,
    role: Role,
    display_name: &str,
) -> Result<User, ApiError> {
    if queries::users::find_by_username(conn, username.as_str())?.is_some() {
        return Err(ApiError::conflict("username", "this username is taken"));
    }
    let now = now();
    Ok(queries::users::insert(
        conn,
        &NewUser {
            username: username.as_str(),
            password_hash: hash,
            role: role.as_str(),
            display_name,
            created_at: now,
            updated_at: now,
        },
    )?)
}

/// Refuses a change that would leave no enabled admin to manage users.
pub fn ensure_other_admin(conn: &mut DbConn, except: i64) -> Result<(), ApiError> {
    let others =
        queries::users::count_enabled_with_role_except(conn, Role::Admin.as_str(), except)?;
    if others == 0 {
        return Err(ApiError::Conflict {
            detail: "This is the last enabled admin; make another admin first.".into(),
            field: None,
        });
    }
    Ok(())
}
