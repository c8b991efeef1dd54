//! Several instances on one database, as behind a load balancer: whatever one instance knows,
//! the other knows too, because nothing shared lives only in one process's memory.

use std::process::Command;

use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, TestDb, PASSWORD};

/// Two instances on one fresh database.
async fn pair(customize: impl Fn(&mut masthead::config::Config) + Clone) -> (TestApp, TestApp) {
    let a = spawn_app_with(customize.clone()).await;
    let url = a.state.config.database_url.clone();
    let b = spawn_app_with(move |c| {
        customize(c);
        c.database_url = url;
    })
    .await;
    (a, b)
}

#[tokio::test]
async fn writes_on_one_instance_are_read_on_the_other_with_the_same_tokens() {
    let (a, b) = pair(|_| {}).await;
    let token = a.token_for("ed", Role::Editor).await;
    let res = b
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&token),
            &json!({"title": "Written on B", "status": "published"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "a token from A works on B"
    );
    let created: Value = res.json().await.unwrap();
    let etag = {
        let res = a
            .get(
                &format!("/api/v1/articles/{}", created["slug"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "A reads what B wrote");
        res.headers()["etag"].to_str().unwrap().to_string()
    };
    // An ETag from one instance is current on the other.
    let res = b
        .request(
            Method::PATCH,
            &format!("/api/v1/articles/{}", created["id"]),
        )
        .bearer_auth(&token)
        .header("If-Match", &etag)
        .json(&json!({"title": "Edited through B"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = a
        .request(
            Method::PATCH,
            &format!("/api/v1/articles/{}", created["id"]),
        )
        .bearer_auth(&token)
        .header("If-Match", &etag)
        .json(&json!({"title": "A late edit through A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn login_throttling_counts_failures_on_every_instance() {
    let (a, b) = pair(|c| c.login_max_failures = 3).await;
    a.create_user("chief", Role::Admin).await;
    for app in [&a, &b, &a] {
        assert_eq!(
            app.login("chief", "wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Three failures spread over two instances: both now refuse, even the right password.
    for app in [&b, &a] {
        let res = app.login("chief", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn the_comment_rate_limit_is_shared_by_every_instance() {
    let (a, b) = pair(|c| c.comment_rate = 2).await;
    let token = a.token_for("ed", Role::Editor).await;
    let res = a
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&token),
            &json!({"title": "Open for comments", "status": "published"}),
        )
        .await;
    let slug = res.json::<Value>().await.unwrap()["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/articles/{slug}/comments");
    let body = |n: u32| {
        json!({"author_name": "Reader", "author_email": "r@example.org",
               "body": format!("Comment {n}")})
    };
    for (app, n, expected) in [
        (&a, 1, StatusCode::ACCEPTED),
        (&b, 2, StatusCode::ACCEPTED),
        (&a, 3, StatusCode::TOO_MANY_REQUESTS),
        (&b, 4, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let res = app.send_json(Method::POST, &path, None, &body(n)).await;
        assert_eq!(res.status(), expected, "comment {n}");
    }
}

#[test]
fn instances_migrating_one_new_database_at_once_do_not_collide() {
    let (_db, url) = TestDb::create();
    let target = url.target.clone();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_masthead"))
                .env_clear()
                .env("DATABASE_URL", &target)
                .env("RUST_LOG", "warn")
                .arg("migrate")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in runs {
        let status = child.wait().unwrap();
        assert!(status.success(), "a concurrent migrate failed");
    }
    // The schema is whole: a server starts on it without migrating anything.
    let out = Command::new(env!("CARGO_BIN_EXE_masthead"))
        .env_clear()
        .env("DATABASE_URL", &target)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 migration(s) applied"));
}

/// A new SQLite file that another process holds a write lock on when an instance starts: the
/// switch to WAL (which SQLite makes without waiting for the lock) waits for it instead of
/// failing with "database is locked". SQLite only, whichever backend the suite runs on.
#[test]
fn an_instance_starting_on_a_new_sqlite_file_another_process_is_writing_waits_for_it() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let path = path.to_str().unwrap();
    // Another writer on the new file, still in SQLite's default rollback-journal mode.
    let mut other = SqliteConnection::establish(path).unwrap();
    other
        .batch_execute(
            "CREATE TABLE other_tool (x INTEGER);
             BEGIN IMMEDIATE;
             INSERT INTO other_tool VALUES (1);",
        )
        .unwrap();
    let migrate = Command::new(env!("CARGO_BIN_EXE_masthead"))
        .env_clear()
        .env("DATABASE_URL", path)
        .env("RUST_LOG", "warn")
        .arg("migrate")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    other.batch_execute("COMMIT").unwrap();
    let out = migrate.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "migrate failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let applied: usize = stdout.split(' ').next().unwrap().parse().unwrap();
    assert!(applied > 0, "{stdout}");
    // The other tool's row is there, and the file is in WAL mode now.
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut fresh = SqliteConnection::establish(path).unwrap();
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut fresh)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let rows: Rows = diesel::sql_query("SELECT count(*) AS n FROM other_tool")
        .get_result(&mut fresh)
        .unwrap();
    assert_eq!(rows.n, 1);
}
