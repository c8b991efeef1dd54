//! Users: roles, usernames, passwords and display names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::char_len;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "editor")]
pub enum Role {
    /// Everything, including user management.
    Admin,
    /// Articles and series.
    Editor,
    /// Reader comments.
    Moderator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Moderator];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Moderator => "moderator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| "must be one of admin, editor, moderator".to_string())
    }
}

pub const USERNAME_MAX: usize = 64;

/// A login name: 1–64 characters of ASCII letters, digits, `.`, `_`, `-` and `@`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_chars = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if raw.is_empty() || raw.len() > USERNAME_MAX || !ok_chars {
            return Err(format!(
                "must be 1–{USERNAME_MAX} characters of letters, digits, '.', '_', '-' or '@'"
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;

/// A new password. Its length bounds stop both weak passwords and hashing huge inputs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = char_len(raw);
        if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
            return Err(format!(
                "must be {PASSWORD_MIN}–{PASSWORD_MAX} characters long"
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

pub const DISPLAY_NAME_MAX: usize = 100;

/// The name shown as an article's author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let n = char_len(trimmed);
        if n == 0 || n > DISPLAY_NAME_MAX || trimmed.chars().any(char::is_control) {
            return Err(format!(
                "must be 1–{DISPLAY_NAME_MAX} characters without control characters"
            ));
        }
        Ok(Self(trimmed.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in [
            "admin",
            "a",
            "jane.doe",
            "j_d-1",
            "ed@news",
            &"x".repeat(64),
        ] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "with space",
            "ünï",
            "semi;colon",
            &"x".repeat(65),
            "tab\t",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        for ok in ["12345678", "correct horse battery", "пароль-пароль"] {
            assert!(Password::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1234567", &"x".repeat(1025)] {
            assert!(Password::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format!("{:?}", Password::parse("secret-pw").unwrap()),
            "Password(…)"
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(
            DisplayName::parse("  Jane Doe ").unwrap().as_str(),
            "Jane Doe"
        );
        assert!(DisplayName::parse("Әлия Нұрланқызы").is_ok());
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(101)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
    }
}
