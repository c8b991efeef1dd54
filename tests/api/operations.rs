use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn a_request_id_is_echoed_or_made_up() {
    let app = spawn_app().await;
    let res = app
        .request(Method::GET, "/healthz")
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");

    let res = app.get("/healthz", None).await;
    let made_up = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(made_up.len(), 32);

    // An id that could forge log lines is replaced.
    let res = app
        .request(Method::GET, "/healthz")
        .header("X-Request-Id", "evil id\" status=200")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "evil id\" status=200");
}

#[tokio::test]
async fn responses_forbid_content_sniffing() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app = spawn_app_with(|c| {
        c.cors_origins = masthead::config::CorsOrigins::List(vec!["https://news.example".into()]);
    })
    .await;
    let res = app
        .request(Method::OPTIONS, "/api/v1/auth/token")
        .header("Origin", "https://news.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://news.example"
    );

    let res = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://news.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://news.example"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("link"),
        "{exposed}"
    );

    let res = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_star_allows_any_origin() {
    let app = spawn_app_with(|c| c.cors_origins = masthead::config::CorsOrigins::Any).await;
    let res = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
}
