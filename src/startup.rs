//! Builds the application: pool, migrations, secrets, routes, middleware. Used by `main` and by
//! the integration tests, which bind port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use rand::Rng;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::config::{Backend, Config, CorsOrigins};
use crate::db::{self, queries};
use crate::error::{problemize, ApiError};
use crate::routes::{self, extract::BODY_LIMIT, middleware::request_context};
use crate::state::{AppState, Db};

const JWT_SECRET_SETTING: &str = "jwt_secret";

pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
}

impl Application {
    /// Connects, migrates and binds; the server starts serving when awaited.
    pub fn build(config: Config) -> Result<Self, String> {
        let state = prepare(config)?;
        let mut conn = state.db.pool().get().map_err(|e| e.to_string())?;
        if queries::users::count(&mut conn).map_err(|e| e.to_string())? == 0 {
            tracing::warn!(
                "no users yet: create the first admin with `masthead user add <username> --role admin` \
                 (password from MASTHEAD_PASSWORD or stdin)"
            );
        }
        drop(conn);
        if state.config.public_url.is_none() {
            tracing::warn!(
                "MASTHEAD_PUBLIC_URL is unset: feed links use the host each request names \
                 (or, under MASTHEAD_TRUST_PROXY, a trusted proxy's X-Forwarded-Host/Proto), \
                 and Link/Location headers are relative; set it to the public base URL"
            );
        }
        let listener = TcpListener::bind(state.config.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", state.config.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let server = serve(listener, state.clone())?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (and with it the webhook worker) from elsewhere, as SIGTERM does.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves, with the webhook worker beside the server, until the server stops (SIGTERM):
    /// then the worker stops too.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(crate::webhooks::worker::run(self.state.clone(), stopped));
        let served = self.server.await;
        let _ = stop.send(true);
        let _ = worker.await;
        served
    }
}

/// Opens the pool, runs pending migrations and settles the token secret.
pub fn prepare(config: Config) -> Result<AppState, String> {
    let statements = Arc::new(db::AtomicU64::new(0));
    let pool = db::build_counted_pool(
        &config.database_url,
        config.db_pool_size,
        statements.clone(),
        db::Role::General,
    )
    .map_err(|e| format!("cannot open the database {:?}: {e}", config.database_url))?;
    let mut conn = pool
        .get()
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let ran = db::run_migrations(&mut conn).map_err(|e| format!("migration failed: {e}"))?;
    if ran > 0 {
        tracing::info!(migrations = ran, "database migrated");
    }
    let secret = match &config.jwt_secret {
        Some(s) => s.expose().to_string(),
        None => {
            tracing::warn!(
                "MASTHEAD_JWT_SECRET is not set: tokens are signed with a secret generated once \
                 and kept in the database. Fine on a laptop; anywhere else set \
                 MASTHEAD_JWT_SECRET (32 or more random bytes), shared by every instance"
            );
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            queries::settings::get_or_insert(&mut conn, JWT_SECRET_SETTING, &fresh)
                .map_err(|e| format!("cannot store the token secret: {e}"))?
        }
    };
    drop(conn);
    let (writer, checkpoints) = match config.database_url.backend {
        Backend::Sqlite => {
            let writer = db::build_counted_pool(
                &config.database_url,
                1,
                statements.clone(),
                db::Role::Writer,
            )
            .map_err(|e| format!("cannot open the database: {e}"))?;
            let alive = Arc::new(());
            db::spawn_checkpointer(&config.database_url, &alive)
                .map_err(|e| format!("cannot open the database: {e}"))?;
            (Some(writer), Some(alive))
        }
        Backend::Postgres => (None, None),
    };
    let ttl = i64::try_from(config.token_ttl.as_secs()).unwrap_or(3600);
    Ok(AppState {
        db: Db::new(pool, writer, statements, checkpoints),
        jwt: Arc::new({
            let keys = JwtKeys::new(secret.as_bytes(), ttl);
            match &config.jwt_previous_secret {
                Some(previous) => {
                    keys.with_previous(previous.expose().as_bytes(), config.jwt_previous_until)
                }
                None => keys,
            }
        }),
        cache: Arc::new(crate::state::response_cache::ResponseCache::new(
            config.cache_max_age,
        )),
        cursors: Arc::new(crate::state::cursor_key::CursorKey::new(secret.as_bytes())),
        config: Arc::new(config),
    })
}

fn serve(listener: TcpListener, state: AppState) -> Result<Server, String> {
    let workers = state.config.workers;
    // Blocking threads (where every database closure runs) per worker: about as many as there
    // are pooled connections, plus one for the writer. Actix's default, 512 divided by the
    // cores, let every waiting request hold a thread of its own: ~100 threads at 64
    // connections, each with its stack and allocator arena, all queueing on 16 connections.
    let worker_count = workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let pool_size = usize::try_from(state.config.db_pool_size).unwrap_or(usize::MAX);
    let blocking = pool_size.div_ceil(worker_count.max(1)) + 1;
    let data = web::Data::new(state);
    let mut http = HttpServer::new(move || {
        let cors_origins = &data.config.cors_origins;
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                ApiError::not_found("No resource exists at this path.").into()
            }))
            .configure(routes::configure)
            .configure(docs)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::not_found(
                    "No resource exists at this path.",
                ))
            }))
            .wrap(from_fn(routes::response_cache::serve_cached))
            .wrap(from_fn(routes::middleware::refuse_nul))
            .wrap(ErrorHandlers::new().default_handler(problemize))
            .wrap(from_fn(routes::middleware::harden))
            .wrap(
                DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::REFERRER_POLICY, "no-referrer")),
            )
            .wrap(from_fn(request_context))
            .wrap(Condition::new(
                *cors_origins != CorsOrigins::None,
                cors(cors_origins),
            ))
    })
    .client_request_timeout(Duration::from_secs(10))
    .client_disconnect_timeout(Duration::from_secs(2))
    .shutdown_timeout(30)
    .worker_max_blocking_threads(blocking);
    if let Some(n) = workers {
        http = http.workers(n);
    }
    Ok(http.listen(listener).map_err(|e| e.to_string())?.run())
}

fn cors(origins: &CorsOrigins) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            routes::middleware::REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            routes::middleware::REQUEST_ID,
        ])
        .max_age(3600);
    match origins {
        CorsOrigins::Any => cors.allow_any_origin().send_wildcard(),
        CorsOrigins::List(list) => list.iter().fold(cors, |c, origin| c.allowed_origin(origin)),
        CorsOrigins::None => cors,
    }
}

/// The API reference: Swagger UI over the OpenAPI document. Wired here rather than in `routes`,
/// because the document lists the routes.
fn docs(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/docs").route(web::get().to(docs_redirect)))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/api-docs/openapi.json", crate::openapi::document()),
        );
}

async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::MovedPermanently()
        .insert_header(("Location", "/docs/"))
        .finish()
}
