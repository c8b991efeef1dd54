//! Small hardening from the outside review: `Vary: Authorization` on the API's reads (staff see
//! more than the public, and no cache may hand one's answer to the other), and protocol-relative
//! links in articles treated like the absolute links they are.

use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{header, spawn_app_with, TestApp};

async fn vary(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut req = app
        .request(Method::GET, path)
        .header("Origin", "https://news.example");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let vary: Vec<String> = res
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, vary.join(", "), body)
}

#[tokio::test]
async fn reads_that_staff_see_differently_vary_on_authorization_and_are_never_mixed() {
    let app = spawn_app_with(|c| {
        c.cors_origins = masthead::config::CorsOrigins::List(vec!["https://news.example".into()]);
    })
    .await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "Unpublished scoop"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let draft: Value = res.json().await.unwrap();
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/series",
            Some(&editor),
            &json!({"title": "Scoops"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let series: Value = res.json().await.unwrap();
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/series/{}/articles", series["id"]),
            Some(&editor),
            &json!({"article_ids": [draft["id"]]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let one = format!("/api/v1/articles/{}", draft["slug"].as_str().unwrap());
    let series_one = format!("/api/v1/series/{}", series["slug"].as_str().unwrap());

    // Each read twice in turn, public then staff then public again: the second public answer
    // may come from the response cache, and must still be the public one.
    for path in [
        "/api/v1/articles",
        one.as_str(),
        "/api/v1/series",
        series_one.as_str(),
    ] {
        for (who, token) in [
            ("public", None),
            ("editor", Some(editor.as_str())),
            ("public", None),
        ] {
            let (status, vary, body) = vary(&app, path, token).await;
            assert!(
                vary.contains("authorization") && vary.contains("origin"),
                "{who} GET {path}: Vary is {vary:?}"
            );
            let text = body.to_string();
            match who {
                "public" => assert!(
                    !text.contains("Unpublished scoop") && !text.contains("\"draft\""),
                    "the public saw the draft at {path}: {status} {text}"
                ),
                _ => assert_eq!(status, StatusCode::OK, "{path}"),
            }
        }
    }
    let (_, _, listed) = vary(&app, "/api/v1/articles?status=draft", Some(&editor)).await;
    assert_eq!(listed["data"][0]["title"], "Unpublished scoop");
}

#[tokio::test]
async fn protocol_relative_links_in_an_article_become_absolute_links() {
    let app = spawn_app_with(|_| {}).await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({
                "title": "Links",
                "body_markdown": "[off-site](//evil.example/x) and ![pic](//cdn.example/p.png) \
                                  and <a href=\"/\\evil.example/y\">raw</a> and [here](/about)"
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(header(&res, "etag").is_some());
    let article: Value = res.json().await.unwrap();
    let html = article["body_html"].as_str().unwrap();
    for expected in [
        "href=\"https://evil.example/x\"",
        "src=\"https://cdn.example/p.png\"",
        "href=\"https://evil.example/y\"",
        "href=\"/about\"",
    ] {
        assert!(html.contains(expected), "missing {expected} in {html}");
    }
    assert!(
        !html.contains("=\"//") && !html.contains("=\"/\\"),
        "{html}"
    );
}
