use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_committed_openapi_document_matches_the_served_one() {
    let app = spawn_app().await;
    let res = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let served: Value = res.json().await.unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed"),
    )
    .expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_bearer_auth_and_problem_errors() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api-docs/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut error_responses = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} lacks an operationId"
            );
            assert!(op["summary"].is_string(), "{method} {path} lacks a summary");
            for (code, response) in op["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') {
                    error_responses += 1;
                    let reference = response["$ref"].as_str().unwrap_or("");
                    let target = reference.rsplit('/').next().unwrap_or("");
                    let content = &doc["components"]["responses"][target]["content"];
                    assert!(
                        content["application/problem+json"]["schema"]["$ref"]
                            .as_str()
                            .is_some_and(|r| r.ends_with("/Problem")),
                        "{method} {path} {code} is not a problem response"
                    );
                }
            }
        }
    }
    assert!(error_responses > 20);
}

#[tokio::test]
async fn the_interactive_docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let res = app.get("/docs", None).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(res.headers()["location"], "/docs/");

    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "not the Swagger UI page");
    // Every script and stylesheet is local: nothing comes from another host.
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "src=\"//",
        "href=\"//",
    ] {
        assert!(!html.contains(attr), "external asset in /docs/: {attr}");
    }
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let res = app.get(asset, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
    }
    let init = app
        .get("/docs/swagger-initializer.js", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api-docs/openapi.json"));
}

#[tokio::test]
async fn the_interactive_docs_carry_a_strict_content_security_policy() {
    let app = spawn_app().await;
    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = crate::helpers::header(&res, "content-security-policy").expect("a CSP on /docs/");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(
        crate::helpers::header(&res, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        crate::helpers::header(&res, "referrer-policy").as_deref(),
        Some("no-referrer")
    );
    // The policy forbids inline script and style: the page must have none.
    let html = res.text().await.unwrap();
    let lower = html.to_ascii_lowercase();
    for script in lower.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or("");
        assert!(
            tag.contains("src="),
            "an inline script in /docs/: <script{tag}>"
        );
    }
    assert!(
        !lower.contains("<style") && !lower.contains(" style="),
        "inline style in /docs/"
    );
    // The API's own answers load and run nothing either.
    let res = app.get("/api/v1/articles", None).await;
    let csp = crate::helpers::header(&res, "content-security-policy").expect("a CSP on JSON");
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
}
