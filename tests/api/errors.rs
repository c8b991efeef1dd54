//! Every error the framework or the app can produce is problem+json, never a 500.

use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, error_fields, spawn_app};

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    for body in [
        "{",
        "{\"username\": }",
        "",
        "[1,",
        "{\"username\":\"a\",\"password\":\"b\"} x",
    ] {
        let res = app
            .request(Method::POST, "/api/v1/auth/token")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = spawn_app().await;
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut req = app
            .request(Method::POST, "/api/v1/auth/token")
            .body("username=a&password=b");
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        assert_problem(
            req.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let huge = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(4 * 1024 * 1024)
    );
    let res = app
        .request(Method::POST, "/api/v1/auth/token")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/users",
        "/api/v1/users/abc",
        "/api/v1/users/1/extra",
    ] {
        let res = app.get(path, None).await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/api/v1/auth/token"),
        (Method::DELETE, "/api/v1/users"),
        (Method::POST, "/healthz"),
        (Method::PUT, "/api/v1/users/1"),
    ] {
        let res = app.request(method.clone(), path).send().await.unwrap();
        assert_problem(res, StatusCode::METHOD_NOT_ALLOWED).await;
    }
}

#[tokio::test]
async fn bad_query_parameters_are_400_problems_naming_the_parameter() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJ4Ijp0cnVlfQ", "cursor"),
    ] {
        let res = app
            .get(&format!("/api/v1/users?{query}"), Some(&admin))
            .await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&p), vec![field.to_string()], "{query}");
    }
    let res = app
        .get("/api/v1/users?limit=0&cursor=zzz", Some(&admin))
        .await;
    let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(error_fields(&p), vec!["cursor", "limit"]);
}

#[tokio::test]
async fn unknown_body_fields_are_refused_by_name() {
    let app = spawn_app().await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            &json!({"username": "a", "password": "b", "remember": true}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["remember"]);
}

#[tokio::test]
async fn errors_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let res = app.get("/nope", None).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("x-request-id"));
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

/// Bodies of every kind the JSON extractor refuses, each with the status it would answer.
fn refused_bodies() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        (
            "malformed JSON",
            "application/json",
            b"{\"title\": ".to_vec(),
        ),
        (
            "wrong shape",
            "application/json",
            b"{\"title\": 5}".to_vec(),
        ),
        ("not JSON", "text/plain", b"title=x".to_vec()),
        (
            "3 MiB of JSON",
            "application/json",
            format!("{{\"title\": \"{}\"}}", "x".repeat(3 * 1024 * 1024)).into_bytes(),
        ),
    ]
}

#[tokio::test]
async fn a_caller_with_the_wrong_role_gets_403_before_the_body_is_read_or_checked() {
    let app = spawn_app().await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let editor = app.token_for("ed", Role::Editor).await;
    let writes = [
        (Method::POST, "/api/v1/articles", &moderator),
        (Method::POST, "/api/v1/series", &moderator),
        (Method::POST, "/api/v1/users", &editor),
        (Method::POST, "/api/v1/webhooks", &editor),
        (Method::POST, "/api/v1/comments/blocklist", &editor),
        (Method::POST, "/api/v1/comments/moderate", &editor),
    ];
    for (method, path, token) in &writes {
        // Several rounds: the answer must not depend on which check finishes first.
        for round in 0..5 {
            for (what, content_type, body) in refused_bodies() {
                let res = app
                    .request(method.clone(), path)
                    .bearer_auth(token)
                    .header("Content-Type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    res.status(),
                    StatusCode::FORBIDDEN,
                    "{method} {path} with {what}, round {round}"
                );
                assert_problem(res, StatusCode::FORBIDDEN).await;
            }
        }
    }
    // Without a token: 401, whatever the body.
    for (what, content_type, body) in refused_bodies() {
        let res = app
            .request(Method::POST, "/api/v1/articles")
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}

#[tokio::test]
async fn a_caller_with_the_wrong_role_is_answered_without_the_server_waiting_for_the_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // A body announced at 2 MiB of which only the start is sent: a server reading it first
    // would wait for the rest.
    let head = format!(
        "POST /api/v1/articles HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {moderator}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"title\": \"",
        2 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered while the body was still coming")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}
