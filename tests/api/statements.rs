//! A guard against N+1 queries that no machine noise can move: every public read runs the same
//! number of SQL statements whether the data behind it is small or large.

use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{series_of, spawn_app_with, TestApp};

async fn statements_for(app: &TestApp, path: &str) -> u64 {
    let before = app.state.db.statements();
    let res = app.get(path, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.bytes().await.unwrap();
    app.state.db.statements() - before
}

async fn article(app: &TestApp, token: &str, title: &str, tags: usize) -> Value {
    let tags: Vec<String> = (0..tags).map(|i| format!("topic {i}")).collect();
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(token),
            &json!({"title": title, "status": "published", "tags": tags,
                    "body_markdown": "Words about the harbour."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn approved_comment(app: &TestApp, moderator: &str, slug: &str, n: usize) {
    let res = app
        .send_json(
            Method::POST,
            &format!("/api/v1/articles/{slug}/comments"),
            None,
            &json!({"author_name": "Reader", "author_email": format!("r{n}@example.org"),
                    "body": format!("Comment number {n}.")}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let id = res.json::<Value>().await.unwrap()["id"].clone();
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/comments/{id}"),
            Some(moderator),
            &json!({"status": "approved"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Every read endpoint, measured with little data and again with much more.
#[tokio::test]
async fn reads_run_as_many_statements_on_large_data_as_on_small() {
    let app = spawn_app_with(|c| {
        c.comment_rate = 0;
        // The response cache would answer repeats without a statement.
        c.cache_max_age = 0;
        // The webhook worker's polls would be counted too.
        c.webhook_poll_ms = 3_600_000;
    })
    .await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mod", Role::Moderator).await;

    let first = article(&app, &editor, "Harbour news one", 1).await;
    let second = article(&app, &editor, "Harbour news two", 1).await;
    let s = series_of(&app, &editor, "Harbour", &[first["id"].as_i64().unwrap()]).await;
    let slug = first["slug"].as_str().unwrap().to_string();
    approved_comment(&app, &moderator, &slug, 0).await;

    let paths = [
        format!("/api/v1/articles/{slug}"),
        "/api/v1/articles".to_string(),
        "/api/v1/articles?q=harbour".to_string(),
        "/api/v1/articles?tag=topic-0".to_string(),
        format!("/api/v1/articles?series={}", s["slug"].as_str().unwrap()),
        format!("/api/v1/articles/{slug}/comments"),
        "/api/v1/series".to_string(),
        format!("/api/v1/series/{}", s["slug"].as_str().unwrap()),
    ];
    let mut small = Vec::new();
    for p in &paths {
        small.push(statements_for(&app, p).await);
    }

    // Much more of everything: tags, series (the first article in several), articles beyond
    // a page, comments in the thread.
    let mut ids = vec![
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    ];
    for i in 0..25 {
        ids.push(
            article(&app, &editor, &format!("Harbour story {i}"), 12).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    for k in 0..4 {
        series_of(&app, &editor, &format!("Harbour {k}"), &ids[..10 + k]).await;
    }
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/series/{}/articles", s["id"]),
            Some(&editor),
            &json!({ "article_ids": &ids }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for n in 1..30 {
        approved_comment(&app, &moderator, &slug, n).await;
    }
    // A deep page too: its cursor, then the same count as the first page.
    let page: Value = app
        .get("/api/v1/articles?limit=5", None)
        .await
        .json()
        .await
        .unwrap();
    let deep = format!(
        "/api/v1/articles?limit=5&cursor={}",
        page["page"]["next_cursor"].as_str().unwrap()
    );

    for (p, before) in paths.iter().zip(&small) {
        let after = statements_for(&app, p).await;
        // A one-word search on PostgreSQL reads the articles with the word in a heading
        // first, and ranks every match in a second statement only when they do not fill the
        // page: two statements here on small data, one on large.
        let fewer = u64::from(p.contains("q=") && crate::helpers::backend_is_postgres());
        assert_eq!(
            after + fewer,
            *before,
            "{p}: {before} statements on small data, {after} on large"
        );
        assert!(after <= 6, "{p}: {after} statements");
    }
    let first_page = statements_for(&app, "/api/v1/articles?limit=5").await;
    assert_eq!(statements_for(&app, &deep).await, first_page);
}

/// With the response cache on, many readers asking at once for a page no one has asked for
/// yet run its statements once between them: one computes it, the others wait for it.
#[tokio::test]
async fn concurrent_misses_for_one_page_run_its_statements_once() {
    let app = spawn_app_with(|c| {
        c.webhook_poll_ms = 3_600_000;
    })
    .await;
    let token = app.token_for("editor", Role::Editor).await;
    for i in 0..30 {
        article(&app, &token, &format!("Harbour story {i}"), 3).await;
    }
    // What one search costs, cold.
    let one = statements_for(&app, "/api/v1/articles?q=harbour&limit=7").await;
    assert!(one > 0);
    // The same shape of request, cold, asked by 24 readers at once.
    let before = app.state.db.statements();
    let answers = futures_util::future::join_all((0..24).map(|_| async {
        let res = app.get("/api/v1/articles?q=harbour&limit=9", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()
    }))
    .await;
    let all = app.state.db.statements() - before;
    assert_eq!(
        all, one,
        "24 concurrent misses ran {all} statements; one runs {one}"
    );
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(answers[0]["data"].as_array().unwrap().len(), 9);
}
