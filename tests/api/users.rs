use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app, PASSWORD};

#[tokio::test]
async fn an_admin_creates_reads_updates_and_deletes_a_user() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;

    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "jdoe", "password": "long enough pw", "role": "editor", "display_name": "Jane Doe"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let created: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/users/{}", created["id"]));
    assert_eq!(created["display_name"], "Jane Doe");
    assert_eq!(created["role"], "editor");
    assert_eq!(created["disabled"], false);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());

    let fetched: Value = app.get(&location, Some(&admin)).await.json().await.unwrap();
    assert_eq!(fetched, created);

    let res = app
        .send_json(
            Method::PATCH,
            &location,
            Some(&admin),
            &json!({"role": "moderator", "display_name": "J. Doe"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(
        (updated["role"].as_str(), updated["display_name"].as_str()),
        (Some("moderator"), Some("J. Doe"))
    );

    // The new user can log in with its own password and sees its new role.
    let login: Value = app
        .login("jdoe", "long enough pw")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["role"], "moderator");

    let res = app
        .request(Method::DELETE, &location)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&location, Some(&admin)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn display_name_defaults_to_the_username() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "mo", "password": PASSWORD, "role": "moderator"}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["display_name"], "mo");
}

#[tokio::test]
async fn only_admins_manage_users() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let body = json!({"username": "x", "password": PASSWORD, "role": "admin"});

    for token in [&editor, &moderator] {
        assert_problem(
            app.get("/api/v1/users", Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_problem(
            app.get("/api/v1/users/1", Some(token)).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        let res = app
            .send_json(Method::POST, "/api/v1/users", Some(token), &body)
            .await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
        let res = app
            .send_json(
                Method::PATCH,
                "/api/v1/users/1",
                Some(token),
                &json!({"role": "admin"}),
            )
            .await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
        let res = app
            .request(Method::DELETE, "/api/v1/users/1")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_problem(res, StatusCode::FORBIDDEN).await;
    }
    assert_problem(
        app.get("/api/v1/users", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = app
        .send_json(Method::POST, "/api/v1/users", None, &body)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    // The editor is still an editor: nothing above changed anything.
    let me: Value = app
        .get("/api/v1/auth/me", Some(&editor))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "editor");
}

#[tokio::test]
async fn every_invalid_field_is_listed() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "bad name!", "password": "short", "role": "editor", "display_name": ""}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        error_fields(&p),
        vec!["display_name", "password", "username"]
    );

    let res = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            &json!({"username": "x", "password": PASSWORD, "role": "root"}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["role"]);

    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/users/1",
            Some(&admin),
            &json!({"password": "short", "display_name": " "}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["display_name", "password"]);

    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/users/1",
            Some(&admin),
            &json!({"disabled": "yes"}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["disabled"]);
}

#[tokio::test]
async fn a_taken_username_is_a_409_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let body = json!({"username": "dup", "password": PASSWORD, "role": "editor"});
    let first = app
        .send_json(Method::POST, "/api/v1/users", Some(&admin), &body)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let p = assert_problem(
        app.send_json(Method::POST, "/api/v1/users", Some(&admin), &body)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(error_fields(&p), vec!["username"]);
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_demoted_disabled_or_deleted() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let me: Value = app
        .get("/api/v1/auth/me", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/users/{}", me["id"]);

    for change in [json!({"role": "editor"}), json!({"disabled": true})] {
        let res = app
            .send_json(Method::PATCH, &path, Some(&admin), &change)
            .await;
        assert_problem(res, StatusCode::CONFLICT).await;
    }
    let res = app
        .request(Method::DELETE, &path)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::CONFLICT).await;
    let still: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!(
        (still["role"].as_str(), still["disabled"].as_bool()),
        (Some("admin"), Some(false))
    );

    // With a second admin, the first may step down.
    app.create_user("second", Role::Admin).await;
    let res = app
        .send_json(
            Method::PATCH,
            &path,
            Some(&admin),
            &json!({"role": "editor"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_user_list_pages_with_cursors_and_link_headers() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    for i in 0..4 {
        app.create_user(&format!("user{i}"), Role::Editor).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_string();
    let mut pages = 0;
    loop {
        let res = app.get(&path, Some(&admin)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let link = res
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["page"]["limit"], 2);
        for u in body["data"].as_array().unwrap() {
            seen.push(u["username"].as_str().unwrap().to_string());
        }
        pages += 1;
        match body["page"]["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("Link header with a next page");
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                assert!(link.contains(&format!("cursor={cursor}")), "{link}");
                assert!(link.contains("limit=2"), "{link}");
                path = format!("/api/v1/users?limit=2&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["root", "user0", "user1", "user2", "user3"]);
}

#[tokio::test]
async fn unknown_users_are_404() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    assert_problem(
        app.get("/api/v1/users/9999", Some(&admin)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .send_json(
            Method::PATCH,
            "/api/v1/users/9999",
            Some(&admin),
            &json!({"display_name": "x"}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .request(Method::DELETE, "/api/v1/users/9999")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;
}
