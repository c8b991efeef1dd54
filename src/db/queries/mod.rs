//! Plain query functions: `&mut DbConn` in, `QueryResult` out. Multi-row writes run in a
//! transaction here.

pub mod articles;
pub mod comments;
pub mod login;
pub mod renders;
pub mod series;
pub mod settings;
pub mod users;
pub mod webhooks;

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current time, truncated to microseconds: PostgreSQL keeps no more, and a value read
/// back must equal the one written on both backends.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}
