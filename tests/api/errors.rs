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
