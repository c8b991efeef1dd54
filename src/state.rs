//! What every request handler shares: the pool, the token keys and the configuration.

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use crate::db::{DbConn, Pool};
use crate::error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: Arc<JwtKeys>,
    pub config: Arc<Config>,
}

/// The pool, with the one way handlers reach it: a closure run on the blocking thread pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `f` with a pooled connection off the async workers, so a slow query or a password
    /// hash never stalls other requests.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }
}
