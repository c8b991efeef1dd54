//! What fuzzing the server against its own document (`.ci/schemathesis.sh`) found, each pinned
//! by a test that runs on both backends.

use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app};

#[tokio::test]
async fn a_nul_character_in_a_body_is_a_validation_error_not_a_server_error() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    // PostgreSQL cannot store U+0000 in text: this answered 500 there.
    for (path, body, field) in [
        ("/api/v1/articles", json!({"title": "a\u{0}b"}), "title"),
        (
            "/api/v1/articles",
            json!({"title": "ok", "tags": ["fine", "x\u{0}"]}),
            "tags[1]",
        ),
        ("/api/v1/series", json!({"title": "a\u{0}b"}), "title"),
    ] {
        let res = app
            .send_json(Method::POST, path, Some(&editor), &body)
            .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), vec![field.to_string()], "{body}");
    }
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            &json!({"username": "ed\u{0}", "password": "whatever1"}),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[tokio::test]
async fn a_nul_character_in_the_url_is_a_404_in_the_path_and_a_400_in_the_query() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for path in [
        "/api/v1/articles/a%00b",
        "/api/v1/series/a%00b",
        "/api/v1/articles/a%00b/comments",
        "/series/a%00b/feed.atom",
    ] {
        for token in [None, Some(editor.as_str())] {
            assert_problem(app.get(path, token).await, StatusCode::NOT_FOUND).await;
        }
    }
    for (query, field) in [
        ("tag=a%00b", "tag"),
        ("author=a%00b", "author"),
        ("series=a%00b", "series"),
    ] {
        let res = app.get(&format!("/api/v1/articles?{query}"), None).await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), vec![field.to_string()]);
    }
}

#[tokio::test]
async fn integers_in_bodies_may_be_written_with_a_zero_fraction() {
    // JSON Schema, and so the document, counts 3.0 as an integer; 3.5 is still refused.
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let article: Value = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "Part one"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let series: Value = app
        .send_json(
            Method::POST,
            "/api/v1/series",
            Some(&editor),
            &json!({"title": "A story"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = article["id"].as_i64().unwrap() as f64;
    let path = format!("/api/v1/series/{}/articles", series["id"]);
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(&editor),
            &json!({"article_ids": [id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(&editor),
            &json!({"article_ids": [id + 0.5]}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), vec!["article_ids[0]".to_string()]);
}

#[tokio::test]
async fn length_limits_count_characters_not_bytes() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    // 64 two-byte letters are a username of 64 characters: a wrong login (401), not a 422.
    let res = app.login(&"ж".repeat(64), "whatever1").await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    // A cover URL of 2,000 characters, many of them two-byte, is within its limit.
    let url = format!("https://img.example/{}", "ж".repeat(2000 - 20));
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "Wide", "cover_image_url": url}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_blank_webhook_url_is_called_invalid_not_missing() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin),
            &json!({"url": "  ", "events": ["article.published"]}),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), vec!["url".to_string()]);
    assert!(!problem.to_string().contains("required"), "{problem}");
}
