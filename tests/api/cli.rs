//! The `masthead` binary as an operator uses it.

use std::io::Write;
use std::process::{Command, Stdio};

use masthead::config::Backend;

use crate::helpers::{spawn_app_with, TestDb, PASSWORD};

fn masthead(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_masthead"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "info");
    cmd
}

fn url_string(url: &masthead::config::DatabaseUrl) -> String {
    match url.backend {
        Backend::Sqlite => url.target.clone(),
        Backend::Postgres => url.target.clone(),
    }
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_the_user_can_log_in() {
    let (db, url) = TestDb::create();
    let db_url = url_string(&url);

    let out = masthead(&db_url).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = masthead(&db_url)
        .args(["user", "add", "chief", "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("chief"), "{stdout}");
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "password echoed"
    );

    // From the environment too; a taken name is refused.
    let out = masthead(&db_url)
        .args(["user", "add", "chief", "--role", "editor"])
        .env("MASTHEAD_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));

    let app = spawn_app_with(|c| c.database_url = url.clone()).await;
    let res = app.login("chief", PASSWORD).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["role"], "admin");
    drop(app);
    drop(db);
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    for (var, value) in [
        ("MASTHEAD_BIND", "not-an-address"),
        ("MASTHEAD_TOKEN_TTL_SECS", "soon"),
        ("MASTHEAD_DB_POOL_SIZE", "0"),
        ("DATABASE_URL", "mysql://localhost/x"),
    ] {
        let out = masthead(db.to_str().unwrap())
            .env(var, value)
            .arg("serve")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}: {stderr}");
        assert!(lines[0].contains(var), "{var}: {stderr}");
    }
}

#[test]
fn starting_with_no_users_says_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let mut child = masthead(db.to_str().unwrap())
        .env("MASTHEAD_BIND", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let mut text = String::new();
        while !text.contains("listening") {
            match stderr.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        text
    });
    let text = reader.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("masthead user add"), "{text}");
}

#[tokio::test]
async fn seed_demo_fills_an_empty_database_once_with_data_a_frontend_can_use() {
    let (db, url) = TestDb::create();
    let db_url = url_string(&url);

    let out = masthead(&db_url).arg("seed-demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The printed moderator password works.
    let moderator_password = stdout
        .split("moderator \"demo-moderator\" with password \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no moderator password in {stdout}"))
        .to_string();

    // A second run refuses and changes nothing.
    let again = masthead(&db_url).arg("seed-demo").output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has articles"));

    let app = spawn_app_with(|c| c.database_url = url.clone()).await;
    let list: serde_json::Value = app
        .get("/api/v1/articles", None)
        .await
        .json()
        .await
        .unwrap();
    let articles = list["data"].as_array().unwrap();
    assert!(articles.len() >= 3, "{list}");
    // One title is not in Latin script, and its slug is plain ASCII.
    let non_latin = articles
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| c as u32 > 0x24F)
        })
        .expect("an article with a non-Latin title");
    assert!(non_latin["slug"].as_str().unwrap().is_ascii());

    // A series links them, with part-N-of-M navigation.
    let series: serde_json::Value = app.get("/api/v1/series", None).await.json().await.unwrap();
    let slug = series["data"][0]["slug"].as_str().unwrap().to_string();
    let one: serde_json::Value = app
        .get(&format!("/api/v1/series/{slug}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(one["article_count"].as_i64().unwrap() >= 2, "{one}");
    let first = one["articles"][0]["slug"].as_str().unwrap().to_string();
    let article: serde_json::Value = app
        .get(&format!("/api/v1/articles/{first}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(article["series"][0]["position"], 1);
    assert!(article["comment_count"].as_i64().unwrap() >= 1);

    // Approved comments are public; pending and spam ones wait for the moderator.
    let thread: serde_json::Value = app
        .get(&format!("/api/v1/articles/{first}/comments"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!thread["data"].as_array().unwrap().is_empty());
    let token = {
        let res = app.login("demo-moderator", &moderator_password).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK);
        let body: serde_json::Value = res.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    };
    let stats: serde_json::Value = app
        .get("/api/v1/comments/stats", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    for status in ["approved", "pending", "spam"] {
        assert!(stats[status].as_i64().unwrap() >= 1, "{status}: {stats}");
    }
    drop(app);
    drop(db);
}

#[tokio::test]
async fn seed_bench_fills_an_empty_database_at_the_asked_scale() {
    let (db, url) = TestDb::create();
    let db_url = url_string(&url);

    let out = masthead(&db_url)
        .args(["seed-bench", "--articles", "250", "--comments", "1200"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("seeded 250 articles, 25 series, 1200 comments"),
        "{stdout}"
    );
    let again = masthead(&db_url)
        .args(["seed-bench", "--articles", "1"])
        .output()
        .unwrap();
    assert!(!again.status.success());

    let app = spawn_app_with(|c| c.database_url = url.clone()).await;
    let get = |path: String| {
        let app = &app;
        async move {
            let res = app.get(&path, None).await;
            assert_eq!(res.status(), reqwest::StatusCode::OK, "{path}");
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    // Every article is published, with a body of about 5 KB.
    let last = get("/api/v1/articles/bench-article-250".into()).await;
    let body = last["body_markdown"].as_str().unwrap().len();
    assert!((4_000..7_000).contains(&body), "{body} bytes");
    let list = get("/api/v1/articles?limit=100".into()).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 100);
    assert_eq!(list["data"][0]["slug"], "bench-article-250");
    // The first 1,000 comments are one thread; every tenth waits for a moderator.
    let first = get("/api/v1/articles/bench-article-1".into()).await;
    assert_eq!(first["comment_count"], 900);
    let thread = get("/api/v1/articles/bench-article-1/comments?limit=100".into()).await;
    let replies = thread["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["parent_id"].is_null())
        .count();
    assert!(replies > 0, "{thread}");
    // The others are spread over the rest; series hold ten articles each; search finds them.
    let series = get("/api/v1/series/bench-series-3".into()).await;
    assert_eq!(series["article_count"], 10);
    let found = get("/api/v1/articles?q=harbour".into()).await;
    assert!(!found["data"].as_array().unwrap().is_empty(), "{found}");
    drop(app);
    drop(db);
}
