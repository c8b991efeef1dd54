//! Black-box tests: the real application over HTTP, on SQLite or PostgreSQL
//! (`MASTHEAD_TEST_BACKEND`).

mod articles;
mod auth;
mod cli;
mod comments;
mod contention;
mod crash;
mod docs;
mod errors;
mod exit;
mod feeds;
mod fuzz_findings;
mod helpers;
mod hostile;
mod instances;
mod operations;
mod renders;
mod schema;
mod series;
mod spec_quality;
mod statements;
mod transfer;
mod users;
mod webhook_safety;
mod webhooks;
