//! What every request handler shares: the pool, the token keys and the configuration.

pub mod cursor_key;
pub mod response_cache;

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::{AtomicU64, DbConn, Pool};
use crate::error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<Config>,
    /// Public GET responses, shared by the workers of this instance.
    pub cache: Arc<response_cache::ResponseCache>,
    /// Seals list cursors (derived from the token secret, so instances share it).
    pub cursors: Arc<cursor_key::CursorKey>,
}

/// The pool, with the one way handlers reach it: a closure run on the blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// On SQLite, a pool of one connection that the busiest writes go through (see `write`).
    writer: Option<Pool>,
    statements: Arc<AtomicU64>,
    /// On PostgreSQL, stored-render look-ups gathered into shared statements.
    render_lookups: Option<Arc<crate::db::batch::RenderLookups>>,
    /// Keeps the SQLite checkpoint thread going (`db::spawn_checkpointer`) while this lives.
    _checkpoints: Option<Arc<()>>,
}

impl Db {
    /// `statements` is the counter the pool's connections add to (see `db::build_counted_pool`).
    /// `checkpoints`, when given, is the token `db::spawn_checkpointer` watches.
    pub fn new(
        pool: Pool,
        writer: Option<Pool>,
        statements: Arc<AtomicU64>,
        checkpoints: Option<Arc<()>>,
    ) -> Self {
        // SQLite reads a stored render on the request's thread instead (`read_now`).
        let render_lookups = writer
            .is_none()
            .then(|| Arc::new(crate::db::batch::RenderLookups::new(pool.clone())));
        Self {
            pool,
            writer,
            statements,
            render_lookups,
            _checkpoints: checkpoints,
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` on the calling thread when the database is a local SQLite file and a pooled
    /// connection is free this instant; `None` otherwise, and the caller goes through `run`.
    /// Only for a look-up of one row by key: it spares the hand-over to the blocking pool
    /// (about a sixth of the CPU of such a request), and a request thread must never wait.
    pub fn read_now<T>(&self, f: impl FnOnce(&mut DbConn) -> T) -> Option<T> {
        self.writer.as_ref()?;
        let mut conn = self.pool.try_get()?;
        Some(f(&mut conn))
    }

    /// The article with `slug` and its stored render, by the quickest way this backend has: on
    /// the calling thread (SQLite, a connection free) or in a statement shared with other
    /// readers (PostgreSQL). `None` when neither applies or the look-up failed: the caller
    /// then looks it up through `run`.
    pub async fn render_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Option<crate::db::queries::renders::Lookup>>, ApiError> {
        if let Some(found) = self.read_now(|conn| crate::db::queries::renders::by_slug(conn, slug))
        {
            return Ok(Some(found?));
        }
        Ok(match &self.render_lookups {
            Some(lookups) => lookups.by_slug(slug).await,
            None => None,
        })
    }

    /// SQL statements run through this pool so far.
    pub fn statements(&self) -> u64 {
        self.statements.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `f` with a pooled connection off the async workers, so a slow query or a password
    /// hash never stalls other requests.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        Self::on(self.pool.clone(), f).await
    }

    /// Like `run`, for a closure that writes. On SQLite writes are serialised anyway (one
    /// writer at a time, see `db::write_transaction`); running them on one dedicated
    /// connection keeps that connection's page cache valid from one write to the next, where a
    /// pooled connection finds its cache emptied by every other connection's commit.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        Self::on(self.writer.as_ref().unwrap_or(&self.pool).clone(), f).await
    }

    async fn on<T, F>(pool: Pool, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }
}
