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
