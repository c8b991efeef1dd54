//! Spawns the real application on port 0 with a fresh database per test. The backend is picked
//! by `MASTHEAD_TEST_BACKEND` (`sqlite`, the default, or `postgres`; the server is at
//! `MASTHEAD_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432`).

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::RunQueryDsl;
use masthead::config::{Config, DatabaseUrl};
use masthead::domain::user::{Password, Role, Username};
use masthead::startup::Application;
use masthead::state::AppState;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "correct horse battery";

pub fn backend_is_postgres() -> bool {
    std::env::var("MASTHEAD_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

pub fn pg_server_url() -> String {
    std::env::var("MASTHEAD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A database that disappears with the test.
pub enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { name: String },
}

impl TestDb {
    pub fn create() -> (Self, DatabaseUrl) {
        if backend_is_postgres() {
            let name = unique_name();
            let mut admin = masthead::db::establish_pg(&format!("{}/postgres", pg_server_url()))
                .expect("PostgreSQL must be reachable for MASTHEAD_TEST_BACKEND=postgres");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .expect("create test database");
            let url = DatabaseUrl::parse(&format!("{}/{name}", pg_server_url())).unwrap();
            (TestDb::Postgres { name }, url)
        } else {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("test.db");
            let url = DatabaseUrl::parse(path.to_str().unwrap()).unwrap();
            (TestDb::Sqlite(dir), url)
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { name } = self {
            if let Ok(mut admin) =
                masthead::db::establish_pg(&format!("{}/postgres", pg_server_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "masthead_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    )
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub fn test_config(url: DatabaseUrl) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.database_url = url;
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = Some(masthead::config::Secret::new(JWT_SECRET.into()));
    config.workers = Some(2);
    config.db_pool_size = 4;
    // The tests' webhook receivers listen on 127.0.0.1.
    config.webhook_allow_private = true;
    config
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    _db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    spawn_stoppable_app_with(customize).await.0
}

/// Like `spawn_app_with`, and also returns the server's handle: `handle.stop(true).await` stops
/// the server and, with it, the webhook worker (as SIGTERM does).
pub async fn spawn_stoppable_app_with(
    customize: impl FnOnce(&mut Config),
) -> (TestApp, actix_web::dev::ServerHandle) {
    let (db, url) = TestDb::create();
    let mut config = test_config(url);
    customize(&mut config);
    serve(config, db)
}

/// Another instance on an existing database (which the caller keeps), without creating a
/// database of its own.
pub async fn spawn_app_on(url: DatabaseUrl, customize: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(url);
    customize(&mut config);
    // Nothing to clean up: the database belongs to the caller.
    serve(
        config,
        TestDb::Sqlite(tempfile::tempdir().expect("temp dir")),
    )
    .0
}

/// Starts the application on `config` in the background; `db` lives as long as the `TestApp`.
fn serve(config: Config, db: TestDb) -> (TestApp, actix_web::dev::ServerHandle) {
    log_into_test_output();
    let app = Application::build(config).expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = TestApp {
        address,
        client,
        state,
        _db: db,
    };
    (app, handle)
}

/// Sends the servers' warnings and errors to the output of the test whose server logged them
/// (its threads inherit the test's output capture), which the test harness prints when that test
/// fails: a 500 says only "The server failed to handle this request", its cause is in the log.
fn log_into_test_output() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("masthead=warn"))
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.request(Method::GET, path);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut req = self.request(method, path).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// Creates a user straight in the database (as `masthead user add` does) and returns its id.
    pub async fn create_user(&self, username: &str, role: Role) -> i64 {
        let username = Username::parse(username).unwrap();
        let password = Password::parse(PASSWORD).unwrap();
        let display = format!("{} Person", username.as_str());
        self.state
            .db
            .run(move |conn| {
                masthead::services::users::create(conn, &username, &password, role, &display)
            })
            .await
            .expect("user created")
            .id
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.send_json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Creates a user with `role` and returns a token for it.
    pub async fn token_for(&self, username: &str, role: Role) -> String {
        self.create_user(username, role).await;
        let res = self.login(username, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }
}

/// Asserts a problem+json answer with `status` and returns its body.
pub async fn assert_problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "unexpected status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct:?} for {status}"
    );
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:masthead:problem:"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

/// The fields listed in a validation problem, sorted.
pub fn error_fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// A response header as text.
pub fn header(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// The integer `id` of a JSON object.
pub fn id(v: &Value) -> i64 {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id in {v}"))
}

/// The `slug` of a JSON object.
pub fn slug(v: &Value) -> String {
    v["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("no slug in {v}"))
        .to_string()
}

/// A new series titled `title` holding the articles `ids`, in that order (as an editor with
/// `token`).
pub async fn series_of(app: &TestApp, token: &str, title: &str, ids: &[i64]) -> Value {
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/series",
            Some(token),
            &json!({ "title": title }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let s: Value = res.json().await.unwrap();
    set_series(app, token, &s, ids).await;
    s
}

/// Gives `series` exactly the articles `ids`, in that order.
pub async fn set_series(app: &TestApp, token: &str, series: &Value, ids: &[i64]) {
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/series/{}/articles", series["id"]),
            Some(token),
            &json!({ "article_ids": ids }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
