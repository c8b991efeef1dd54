//! The use cases: one function per use case, owning its transaction; no actix types. Routes,
//! the CLI and the seed call these.

pub mod articles;
pub mod comments;
pub mod series;
pub mod slugs;
pub mod users;
