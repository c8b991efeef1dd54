//! Users: creating one, and the rule that some enabled admin always remains.

use crate::api::users::UpdateUser;
use crate::auth::password;
use crate::db::models::{NewUser, User, UserChanges};
use crate::db::queries::{self, now};
use crate::db::write_transaction;
use crate::db::DbConn;
use crate::domain::user::{DisplayName, Password, Role, Username};
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

/// Changes user `id` as `body` asks, with the new password already hashed and the display name
/// already parsed; a change of password, or disabling the user, revokes its tokens. The last
/// enabled admin cannot lose that role.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    body: &UpdateUser,
    hash: Option<String>,
    display_name: Option<DisplayName>,
) -> Result<User, ApiError> {
    write_transaction(conn, |conn| {
        let current = queries::users::find(conn, id)?.ok_or_else(no_such_user)?;
        let loses_admin = current.role == Role::Admin.as_str()
            && !current.disabled
            && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
        if loses_admin {
            ensure_other_admin(conn, id)?;
        }
        let revoke = hash.is_some() || (body.disabled == Some(true) && !current.disabled);
        let changes = UserChanges {
            password_hash: hash,
            role: body.role.map(|r| r.as_str().to_string()),
            display_name: display_name.map(DisplayName::into_inner),
            disabled: body.disabled,
            token_version: revoke.then_some(current.token_version + 1),
            updated_at: Some(now()),
        };
        Ok(queries::users::update(conn, id, &changes)?)
    })
}

/// Deletes user `id`, unless it is the last enabled admin.
pub fn delete(conn: &mut DbConn, id: i64) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        let current = queries::users::find(conn, id)?.ok_or_else(no_such_user)?;
        if current.role == Role::Admin.as_str() && !current.disabled {
            ensure_other_admin(conn, id)?;
        }
        queries::users::delete(conn, id)?;
        Ok(())
    })
}

pub fn no_such_user() -> ApiError {
    ApiError::not_found("No user has this id.")
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
