//! `masthead export`, `import` and `backup` through the real binary: a site moved to another
//! database answers every request byte for byte as before, on either backend and across them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use masthead::config::{Backend, DatabaseUrl};
use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{backend_is_postgres, spawn_app_with, TestApp, TestDb, PASSWORD};

fn masthead(url: &DatabaseUrl) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_masthead"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url.target)
        .env("RUST_LOG", "warn");
    cmd
}

fn run(url: &DatabaseUrl, args: &[&str]) -> Output {
    masthead(url).args(args).output().expect("masthead runs")
}

fn succeeded(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The one line an operator reads when a command refuses.
fn refused(out: Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    stderr
}

/// A SQLite database in a directory of its own, whatever the suite's backend.
fn sqlite_db() -> (tempfile::TempDir, DatabaseUrl) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(dir.path().join("site.db").to_str().unwrap()).unwrap();
    (dir, url)
}

async fn app_on(url: &DatabaseUrl) -> TestApp {
    let url = url.clone();
    spawn_app_with(move |c| {
        c.database_url = url;
        // Absolute links (feeds, redirects) then name the site, not each test server's port.
        c.public_url = Some("https://news.example.org".into());
        // Deliveries stay as exported: no worker sends (and changes) them during the test.
        c.webhook_poll_ms = 3_600_000;
    })
    .await
}

async fn json_of(res: reqwest::Response, what: &str) -> Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

async fn token(app: &TestApp, username: &str, password: &str) -> String {
    let res = app.login(username, password).await;
    assert_eq!(res.status(), StatusCode::OK, "log in as {username}");
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// The staff of a seeded site: passwords printed by `seed-demo`, and an admin.
struct Staff {
    editor: String,
    moderator: String,
}

fn password_in(stdout: &str, username: &str) -> String {
    stdout
        .split(&format!("{username:?} with password \""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no password for {username} in {stdout}"))
        .to_string()
}

/// `seed-demo`, then through the API what seed-demo leaves out: an admin, a webhook with
/// deliveries, a renamed article (an old slug and a revision), a renamed series, a moderation
/// decision and a blocklist entry. Returns the staff and the app serving the site.
async fn seeded_site(url: &DatabaseUrl) -> (Staff, TestApp) {
    let stdout = succeeded(run(url, &["seed-demo"]), "seed-demo");
    let staff = Staff {
        editor: password_in(&stdout, "demo-editor"),
        moderator: password_in(&stdout, "demo-moderator"),
    };
    let app = app_on(url).await;
    let admin = app.token_for("chief", Role::Admin).await;
    let editor = token(&app, "demo-editor", &staff.editor).await;
    let moderator = token(&app, "demo-moderator", &staff.moderator).await;

    let hook = json!({"url": "https://hooks.example.org/site", "secret": "whsec_0123456789abcdef",
                      "events": ["article.updated", "article.published", "comment.approved"]});
    let res = app
        .send_json(Method::POST, "/api/v1/webhooks", Some(&admin), &hook)
        .await;
    json_of(res, "POST webhook").await;

    let list = json_of(app.get("/api/v1/articles", None).await, "articles").await;
    let slug = list["data"][0]["slug"].as_str().unwrap().to_string();
    let res = app.get(&format!("/api/v1/articles/{slug}"), None).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .request(
            Method::PATCH,
            &format!("/api/v1/articles/{}", list["data"][0]["id"]),
        )
        .bearer_auth(&editor)
        .header("If-Match", etag)
        .json(&json!({"title": "The library opens on Sundays", "slug": "library-sundays"}))
        .send()
        .await
        .unwrap();
    json_of(res, "PATCH article").await;

    let all = json_of(app.get("/api/v1/series", None).await, "series").await;
    let series = &all["data"][0];
    let res = app
        .get(
            &format!("/api/v1/series/{}", series["slug"].as_str().unwrap()),
            None,
        )
        .await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = app
        .request(Method::PATCH, &format!("/api/v1/series/{}", series["id"]))
        .bearer_auth(&editor)
        .header("If-Match", etag)
        .json(&json!({"slug": "line-4"}))
        .send()
        .await
        .unwrap();
    json_of(res, "PATCH series").await;

    let pending = json_of(
        app.get("/api/v1/comments?status=pending", Some(&moderator))
            .await,
        "queue",
    )
    .await;
    let id = pending["data"][0]["id"].as_i64().unwrap();
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/comments/{id}"),
            Some(&moderator),
            &json!({"status": "rejected", "moderation_note": "off topic"}),
        )
        .await;
    json_of(res, "PATCH comment").await;
    let block = json!({"kind": "cidr", "value": "203.0.113.0/24", "note": "link spam"});
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/comments/blocklist",
            Some(&moderator),
            &block,
        )
        .await;
    json_of(res, "POST blocklist").await;
    (staff, app)
}

/// What a client sees of one response.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    etag: Option<String>,
    location: Option<String>,
    body: String,
}

/// Every read the API offers on a seeded site, public and staff, in a fixed order. Tokens come
/// from logging in on this very app with the passwords seed-demo printed. `search` adds
/// full-text queries, whose ranking differs between the backends by design.
async fn responses(app: &TestApp, staff: &Staff, search: bool) -> Vec<(String, Seen)> {
    let admin = token(app, "chief", PASSWORD).await;
    let editor = token(app, "demo-editor", &staff.editor).await;
    let moderator = token(app, "demo-moderator", &staff.moderator).await;

    let mut reads: Vec<(String, Option<&str>)> = vec![
        ("/api/v1/articles".into(), None),
        ("/api/v1/articles?limit=2".into(), None),
        ("/api/v1/articles?tag=trams&order=oldest".into(), None),
        ("/api/v1/articles?status=draft".into(), Some(&editor)),
        // Old slugs, which redirect.
        (
            "/api/v1/articles/the-central-library-opens-on-sundays-from-december".into(),
            None,
        ),
        ("/api/v1/series".into(), None),
        ("/api/v1/series/rebuilding-tram-line-4".into(), None),
        ("/api/v1/comments/stats".into(), Some(&moderator)),
        ("/api/v1/comments/blocklist".into(), Some(&moderator)),
        ("/api/v1/users".into(), Some(&admin)),
        ("/api/v1/webhooks".into(), Some(&admin)),
        ("/feed.atom".into(), None),
    ];
    if search {
        reads.push(("/api/v1/articles?q=tram".into(), None));
        reads.push(("/api/v1/articles?q=library".into(), None));
    }
    for status in ["pending", "approved", "rejected", "spam"] {
        reads.push((
            format!("/api/v1/comments?status={status}"),
            Some(&moderator),
        ));
    }
    let staff_list = json_of(
        app.get("/api/v1/articles?limit=100&status=published", Some(&editor))
            .await,
        "articles",
    )
    .await;
    let drafts = json_of(
        app.get("/api/v1/articles?limit=100&status=draft", Some(&editor))
            .await,
        "drafts",
    )
    .await;
    let articles = staff_list["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(drafts["data"].as_array().unwrap());
    for a in articles {
        let (slug, id) = (a["slug"].as_str().unwrap(), a["id"].as_i64().unwrap());
        reads.push((format!("/api/v1/articles/{slug}"), None));
        reads.push((format!("/api/v1/articles/{slug}"), Some(&editor)));
        reads.push((format!("/api/v1/articles/{slug}/comments"), None));
        reads.push((format!("/api/v1/articles/{id}/revisions"), Some(&editor)));
    }
    let series = json_of(app.get("/api/v1/series", None).await, "series").await;
    for s in series["data"].as_array().unwrap() {
        let slug = s["slug"].as_str().unwrap();
        reads.push((format!("/api/v1/series/{slug}"), None));
        reads.push((format!("/api/v1/series/{slug}"), Some(&editor)));
        reads.push((format!("/series/{slug}/feed.atom"), None));
    }
    let hooks = json_of(app.get("/api/v1/webhooks", Some(&admin)).await, "hooks").await;
    for h in hooks["data"].as_array().unwrap() {
        reads.push((
            format!("/api/v1/webhooks/{}/deliveries", h["id"]),
            Some(&admin),
        ));
    }

    let mut seen = Vec::new();
    for (path, token) in reads {
        let res = app.get(&path, token).await;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (etag, location) = (header("etag"), header("location"));
        let status = res.status().as_u16();
        // Only a draft read without a token may miss; a refusal would compare nothing.
        assert!([200, 301, 404].contains(&status), "GET {path}: {status}");
        let body = res.text().await.unwrap();
        let who = if token.is_some() { "staff" } else { "public" };
        seen.push((
            format!("{who} GET {path}"),
            Seen {
                status,
                etag,
                location,
                body,
            },
        ));
    }
    seen
}

fn assert_same(before: &[(String, Seen)], after: &[(String, Seen)], what: &str) {
    assert_eq!(before.len(), after.len(), "{what}: number of reads");
    let missing = before.iter().filter(|(_, s)| s.status == 404).count();
    // The draft and its thread, read without a token.
    assert!(missing <= 2, "{what}: {missing} reads found nothing");
    for ((path, a), (_, b)) in before.iter().zip(after) {
        assert_eq!(a, b, "{what}: {path}");
    }
}

/// The export's lines after the header (which holds the time of the export).
fn rows_of(dump: &str) -> Vec<&str> {
    let mut lines = dump.lines();
    let header: Value = serde_json::from_str(lines.next().expect("a header")).unwrap();
    assert_eq!(header["format"], "masthead-export");
    assert_eq!(header["version"], 1);
    lines.collect()
}

fn export(url: &DatabaseUrl) -> String {
    succeeded(run(url, &["export"]), "export")
}

fn import(url: &DatabaseUrl, dump: &Path) -> String {
    succeeded(run(url, &["import", dump.to_str().unwrap()]), "import")
}

#[tokio::test]
async fn an_imported_export_answers_every_request_byte_for_byte_and_new_rows_get_fresh_ids() {
    let (db_a, a) = TestDb::create();
    let (staff, app_a) = seeded_site(&a).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dump.jsonl");
    let out = run(&a, &["export", file.to_str().unwrap()]);
    let summary = String::from_utf8_lossy(&out.stderr).to_string();
    succeeded(out, "export to a file");
    assert!(summary.contains("webhook_deliveries"), "{summary}");
    let dump = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "an export holds password hashes: owner only"
        );
    }
    // An existing file is never overwritten.
    let again = refused(run(&a, &["export", file.to_str().unwrap()]), "export");
    assert!(again.contains("exists"), "{again}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), dump);

    // Everything is there, and nothing that belongs to one database only.
    let rows = rows_of(&dump);
    let end: Value = serde_json::from_str(rows.last().unwrap()).unwrap();
    assert_eq!(end["end"], true, "{end}");
    for table in [
        "users",
        "articles",
        "article_tags",
        "article_slugs",
        "article_revisions",
        "series",
        "series_slugs",
        "series_articles",
        "comments",
        "comment_moderation_log",
        "comment_blocklist",
        "webhooks",
        "webhook_deliveries",
    ] {
        assert!(end["counts"][table].as_u64() > Some(0), "{table}: {end}");
    }
    assert!(!dump.contains("jwt_secret") && !dump.contains("login_failures"));
    assert!(dump.contains("$argon2id$"), "password hashes are kept");

    let (db_b, b) = TestDb::create();
    let report = import(&b, &file);
    assert!(report.contains("comment_moderation_log"), "{report}");

    let app_b = app_on(&b).await;
    let before = responses(&app_a, &staff, true).await;
    let after = responses(&app_b, &staff, true).await;
    assert_same(&before, &after, "after import");
    // Old slugs still redirect.
    let moved = app_b
        .get(
            "/api/v1/articles/the-central-library-opens-on-sundays-from-december",
            None,
        )
        .await;
    assert_eq!(moved.status(), StatusCode::MOVED_PERMANENTLY);
    // And B exports exactly what A did.
    assert_eq!(rows_of(&export(&b)), rows);

    // New rows on B take ids after the imported ones.
    let editor = token(&app_b, "demo-editor", &staff.editor).await;
    let max_id = |table: &str| {
        rows.iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["table"] == table)
            .filter_map(|v| v["row"]["id"].as_i64())
            .max()
            .unwrap()
    };
    let res = app_b
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "After the move", "body_markdown": "Same site, new database.",
                    "status": "published"}),
        )
        .await;
    let created = json_of(res, "POST article on B").await;
    assert!(
        created["id"].as_i64().unwrap() > max_id("articles"),
        "{created}"
    );
    let res = app_b
        .send_json(
            Method::POST,
            "/api/v1/articles/after-the-move/comments",
            None,
            &json!({"author_name": "Reader", "author_email": "reader9@example.org",
                    "body": "Still works."}),
        )
        .await;
    let accepted = json_of(res, "POST comment on B").await;
    assert!(
        accepted["id"].as_i64().unwrap() > max_id("comments"),
        "{accepted}"
    );
    let admin = token(&app_b, "chief", PASSWORD).await;
    let res = app_b
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "newcomer", "password": PASSWORD, "role": "editor"}),
        )
        .await;
    let user = json_of(res, "POST user on B").await;
    assert!(user["id"].as_i64().unwrap() > max_id("users"), "{user}");
    drop((app_a, app_b, db_a, db_b));
}

#[tokio::test]
async fn a_round_trip_sqlite_to_postgresql_to_sqlite_answers_identically() {
    if !backend_is_postgres() {
        // Needs a PostgreSQL server: runs with MASTHEAD_TEST_BACKEND=postgres.
        return;
    }
    let (_dir_a, a) = sqlite_db();
    let (staff, app_a) = seeded_site(&a).await;
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("from-sqlite.jsonl");
    std::fs::write(&first, export(&a)).unwrap();

    let (db_pg, pg) = TestDb::create();
    assert_eq!(pg.backend, Backend::Postgres);
    import(&pg, &first);
    let second = dir.path().join("from-postgres.jsonl");
    std::fs::write(&second, export(&pg)).unwrap();
    let (_dir_c, c) = sqlite_db();
    // Read from stdin this time.
    let mut child = masthead(&c)
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&second).unwrap())
        .unwrap();
    succeeded(child.wait_with_output().unwrap(), "import from stdin");

    let dump_a = std::fs::read_to_string(&first).unwrap();
    let dump_pg = std::fs::read_to_string(&second).unwrap();
    assert_eq!(
        rows_of(&dump_pg),
        rows_of(&dump_a),
        "PostgreSQL keeps every value"
    );
    assert_eq!(
        rows_of(&export(&c)),
        rows_of(&dump_a),
        "and gives them back"
    );

    let app_pg = app_on(&pg).await;
    let app_c = app_on(&c).await;
    let on_a = responses(&app_a, &staff, false).await;
    assert_same(
        &on_a,
        &responses(&app_pg, &staff, false).await,
        "on PostgreSQL",
    );
    assert_same(
        &responses(&app_a, &staff, true).await,
        &responses(&app_c, &staff, true).await,
        "back on SQLite",
    );
    drop((app_a, app_pg, app_c, db_pg));
}

#[tokio::test]
async fn import_refuses_a_database_that_already_has_content() {
    let (_db, a) = TestDb::create();
    succeeded(run(&a, &["seed-demo"]), "seed-demo");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dump.jsonl");
    std::fs::write(&file, export(&a)).unwrap();

    let line = refused(run(&a, &["import", file.to_str().unwrap()]), "import");
    assert!(line.contains("not empty"), "{line}");
    assert!(line.contains("2 users, 5 articles"), "{line}");
    // Nothing was added.
    assert_eq!(
        rows_of(&export(&a)),
        rows_of(&std::fs::read_to_string(&file).unwrap())
    );
}

#[tokio::test]
async fn a_corrupt_or_truncated_export_is_refused_with_nothing_written() {
    let (_db_a, a) = TestDb::create();
    succeeded(run(&a, &["seed-demo"]), "seed-demo");
    let dump = export(&a);
    let lines: Vec<&str> = dump.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let (_db_b, b) = TestDb::create();

    let comment = lines
        .iter()
        .position(|l| l.starts_with(r#"{"table":"comments""#))
        .unwrap();
    let mut corrupt = lines.clone();
    corrupt[comment] = r#"{"table":"comments","row":{"id":"#;
    let mut unknown_column = lines.clone();
    let tampered = lines[comment].replacen(r#""row":{"#, r#""row":{"karma":3,"#, 1);
    unknown_column[comment] = &tampered;
    // Well-formed, but the article it belongs to is not in the file: the database refuses it.
    let mut dangling = lines.clone();
    let mut orphan: Value = serde_json::from_str(lines[comment]).unwrap();
    orphan["row"]["article_id"] = json!(999_999);
    let orphan = orphan.to_string();
    dangling[comment] = &orphan;
    let truncated = &lines[..lines.len() - 1];
    let mut newer = lines.clone();
    let header = lines[0].replace(r#""version":1"#, r#""version":2"#);
    newer[0] = &header;
    let cases: [(&str, &[&str], String); 6] = [
        ("corrupt", &corrupt, format!("line {}", comment + 1)),
        ("unknown column", &unknown_column, "karma".into()),
        ("dangling", &dangling, "(comments)".into()),
        ("truncated", truncated, "truncated".into()),
        ("newer version", &newer, "version 2".into()),
        (
            "not an export",
            &[r#"{"hello":"world"}"#],
            "not a Masthead export".into(),
        ),
    ];
    for (what, content, expected) in cases {
        let file = dir.path().join(format!("{what}.jsonl"));
        std::fs::write(&file, content.join("\n") + "\n").unwrap();
        let line = refused(run(&b, &["import", file.to_str().unwrap()]), what);
        assert!(line.contains(&expected), "{what}: {line}");
    }

    // Nothing was written: the intact export still loads, which it would refuse on a database
    // with any user or article.
    let file = dir.path().join("intact.jsonl");
    std::fs::write(&file, &dump).unwrap();
    import(&b, &file);
    assert_eq!(rows_of(&export(&b)), rows_of(&dump));
}

#[tokio::test]
async fn backup_copies_a_live_sqlite_database_into_a_file_that_serves() {
    let (_db, url) = TestDb::create();
    succeeded(run(&url, &["seed-demo"]), "seed-demo");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    if url.backend == Backend::Postgres {
        let line = refused(run(&url, &["backup", copy.to_str().unwrap()]), "backup");
        assert!(line.contains("pg_dump"), "{line}");
        return;
    }

    // While the server runs and writes.
    let live = app_on(&url).await;
    let editor = live.token_for("ed", Role::Editor).await;
    let res = live
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "Written before the backup", "body_markdown": "Kept.",
                    "status": "published"}),
        )
        .await;
    json_of(res, "POST article").await;
    let out = succeeded(run(&url, &["backup", copy.to_str().unwrap()]), "backup");
    assert!(out.contains("copy.db"), "{out}");
    let line = refused(run(&url, &["backup", copy.to_str().unwrap()]), "backup");
    assert!(line.contains("exists"), "{line}");

    let path = "/api/v1/articles/written-before-the-backup";
    let original = live.get(path, None).await.text().await.unwrap();
    let restored = app_on(&DatabaseUrl::parse(copy.to_str().unwrap()).unwrap()).await;
    let res = restored.get(path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), original);
    let list = restored.get("/api/v1/articles", None).await;
    assert_eq!(list.status(), StatusCode::OK);
}

/// Mode bits others could use: group and world.
#[cfg(unix)]
fn others_bits(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o077
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_its_journal_files_and_a_backup_are_readable_by_their_owner_only() {
    let (dir, url) = sqlite_db();
    let live = app_on(&url).await;
    // A write, so the write-ahead log and its index exist.
    live.token_for("ed", Role::Editor).await;
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", url.target);
        assert!(Path::new(&file).exists(), "{file} exists while serving");
        assert_eq!(others_bits(Path::new(&file)), 0, "{file}");
    }

    let copy = dir.path().join("bk.db");
    succeeded(run(&url, &["backup", copy.to_str().unwrap()]), "backup");
    assert_eq!(others_bits(&copy), 0, "backup");
    // Nothing but the copy was left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".masthead-backup"))
        .collect();
    assert!(names.is_empty(), "staging left behind: {names:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_database_an_older_build_left_readable_by_others_is_made_private_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, url) = sqlite_db();
    succeeded(run(&url, &["migrate"]), "migrate");
    let db = Path::new(&url.target);
    std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_ne!(others_bits(db), 0);
    succeeded(run(&url, &["migrate"]), "migrate again");
    assert_eq!(others_bits(db), 0);
}

#[cfg(unix)]
#[test]
fn backup_refuses_a_symlink_even_a_dangling_one_and_writes_nothing_through_it() {
    let (dir, url) = sqlite_db();
    succeeded(run(&url, &["migrate"]), "migrate");
    let elsewhere = dir.path().join("elsewhere.db");
    let dangling = dir.path().join("dangling.db");
    std::os::unix::fs::symlink(&elsewhere, &dangling).unwrap();
    let line = refused(run(&url, &["backup", dangling.to_str().unwrap()]), "backup");
    assert!(line.contains("exists"), "{line}");
    assert!(!elsewhere.exists(), "the backup followed the symlink");

    let target = dir.path().join("victim.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let line = refused(run(&url, &["backup", link.to_str().unwrap()]), "backup");
    assert!(line.contains("exists"), "{line}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}

#[tokio::test]
async fn a_backup_holds_no_token_secret_so_it_cannot_sign_an_admin_token() {
    use diesel::Connection;
    let (_dir, url) = sqlite_db();
    // No MASTHEAD_JWT_SECRET: the server generates one and keeps it in the database.
    let live = {
        let url = url.clone();
        spawn_app_with(move |c| {
            c.database_url = url;
            c.jwt_secret = None;
        })
        .await
    };
    let admin = live.token_for("chief", Role::Admin).await;
    assert_eq!(
        live.get("/api/v1/auth/me", Some(&admin)).await.status(),
        StatusCode::OK
    );
    let copy = _dir.path().join("bk.db");
    succeeded(run(&url, &["backup", copy.to_str().unwrap()]), "backup");
    let bytes = std::fs::read(&copy).unwrap();
    let live_secret = {
        let mut conn = diesel::SqliteConnection::establish(&url.target).unwrap();
        secret_of(&mut conn).expect("the live database keeps its secret")
    };
    let mut conn = diesel::SqliteConnection::establish(copy.to_str().unwrap()).unwrap();
    assert_eq!(secret_of(&mut conn), None, "the copy has a jwt_secret row");
    assert!(
        !bytes
            .windows(live_secret.len())
            .any(|w| w == live_secret.as_bytes()),
        "the secret's bytes are still in the copy's file"
    );

    // Restored, the copy serves; the tokens of before are refused, new ones work.
    let restored = {
        let copy = DatabaseUrl::parse(copy.to_str().unwrap()).unwrap();
        spawn_app_with(move |c| {
            c.database_url = copy;
            c.jwt_secret = None;
        })
        .await
    };
    assert_eq!(
        restored.get("/api/v1/auth/me", Some(&admin)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = token(&restored, "chief", PASSWORD).await;
    assert_eq!(
        restored.get("/api/v1/auth/me", Some(&fresh)).await.status(),
        StatusCode::OK
    );
}

fn secret_of(conn: &mut diesel::SqliteConnection) -> Option<String> {
    use diesel::prelude::*;
    masthead::db::schema::settings::table
        .filter(masthead::db::schema::settings::key.eq("jwt_secret"))
        .select(masthead::db::schema::settings::value)
        .first::<String>(conn)
        .optional()
        .unwrap()
}

#[tokio::test]
async fn an_import_renders_articles_and_comments_again_instead_of_trusting_the_files_html() {
    let (_dir_a, a) = sqlite_db();
    let (_staff, app_a) = seeded_site(&a).await;
    let dump = export(&a);
    drop(app_a);
    // A file altered by hand: script in the stored HTML of every article and comment.
    let evil = "<script>alert(document.cookie)</script>";
    let altered: Vec<String> = dump
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            match v["table"].as_str() {
                Some("articles") => {
                    v["row"]["body_html"] = json!(evil);
                    v["row"]["cover_image_url"] = json!("javascript:alert(1)");
                }
                Some("comments") => {
                    v["row"]["body_html"] = json!(evil);
                    v["row"]["author_url"] = json!("javascript:alert(2)");
                }
                _ => {}
            }
            v.to_string()
        })
        .collect();
    assert!(altered.iter().filter(|l| l.contains("<script>")).count() > 2);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("altered.jsonl");
    std::fs::write(&file, altered.join("\n") + "\n").unwrap();
    let (_dir_b, b) = sqlite_db();
    import(&b, &file);

    let app_b = app_on(&b).await;
    let list: Value = json_of(app_b.get("/api/v1/articles?limit=100", None).await, "list").await;
    let slugs: Vec<String> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect();
    assert!(!slugs.is_empty());
    let mut comments_seen = 0;
    for slug in &slugs {
        let article = json_of(
            app_b.get(&format!("/api/v1/articles/{slug}"), None).await,
            "article",
        )
        .await;
        let html = article["body_html"].as_str().unwrap();
        assert!(!html.contains("<script"), "{slug}: {html}");
        assert!(article["cover_image_url"].is_null(), "{slug}: {article}");
        assert!(!html.is_empty(), "{slug} rendered from its Markdown");
        let thread = json_of(
            app_b
                .get(&format!("/api/v1/articles/{slug}/comments"), None)
                .await,
            "comments",
        )
        .await;
        for c in thread["data"].as_array().unwrap() {
            comments_seen += 1;
            let html = c["body_html"].as_str().unwrap();
            assert!(!html.contains("<script") && !html.is_empty(), "{html}");
            assert!(c["author_url"].is_null(), "{c}");
        }
    }
    assert!(comments_seen > 0, "the demo site has approved comments");
}
