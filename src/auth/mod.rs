//! Authentication: Argon2id passwords and HS256 tokens. The extractors that enforce roles are
//! HTTP, so they live in `routes::auth_extract`.

pub mod jwt;
pub mod password;
