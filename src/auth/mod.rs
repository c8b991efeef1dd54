//! Authentication: Argon2id passwords, HS256 tokens and the extractors that enforce roles.

pub mod extract;
pub mod jwt;
pub mod password;

pub use extract::{AdminUser, Authenticated, CurrentUser, EditorUser, MaybeUser, ModeratorUser};
