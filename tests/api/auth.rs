use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, JWT_SECRET, PASSWORD};

#[tokio::test]
async fn login_returns_a_bearer_token_with_its_role_and_lifetime() {
    let app = spawn_app().await;
    app.create_user("ed", Role::Editor).await;

    let res = app.login("ed", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["role"], "editor");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();

    let me: Value = app
        .get("/api/v1/auth/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "ed");
    assert_eq!(me["role"], "editor");
    assert!(me.get("password_hash").is_none());
    assert!(!me.to_string().contains("argon2"));
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_identical_401() {
    let app = spawn_app().await;
    app.create_user("ed", Role::Editor).await;

    let wrong_password = app.login("ed", "not the password").await;
    assert!(wrong_password.headers().contains_key("www-authenticate"));
    let a = assert_problem(wrong_password, StatusCode::UNAUTHORIZED).await;
    let b = assert_problem(
        app.login("nobody", "not the password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_gets_the_same_401() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let id = app.create_user("ed", Role::Editor).await;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let disabled = assert_problem(app.login("ed", PASSWORD).await, StatusCode::UNAUTHORIZED).await;
    let unknown =
        assert_problem(app.login("ghost", PASSWORD).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(disabled, unknown);
}

#[tokio::test]
async fn the_me_endpoint_needs_a_token() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/auth/me", None).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    let res = app
        .request(Method::GET, "/api/v1/auth/me")
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
}

fn forge(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let _ = header;
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn tampered_unsigned_expired_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let token = app.token_for("ed", Role::Editor).await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&token)).await.status(),
        StatusCode::OK
    );

    // Tampered payload: same signature, different subject.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("999");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );

    // Tampered signature.
    let mut sig = parts[2].to_string();
    let last = if sig.ends_with('A') { 'B' } else { 'A' };
    sig.pop();
    sig.push(last);
    let bad_sig = format!("{}.{}.{sig}", parts[0], parts[1]);

    // alg: none with valid claims.
    let valid_claims = json!({"sub": "1", "iat": now(), "exp": now() + 600, "ver": 0});
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(valid_claims.to_string())
    );

    // HS512 with the right secret: the algorithm is pinned to HS256.
    let hs512 = {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        encode(
            &Header::new(Algorithm::HS512),
            &valid_claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };

    let expired = forge(
        &json!({}),
        &json!({"sub": "1", "iat": now() - 7200, "exp": now() - 3600, "ver": 0}),
        JWT_SECRET.as_bytes(),
    );
    let foreign = forge(
        &json!({}),
        &valid_claims,
        b"some-other-secret-some-other-secret!",
    );

    for (name, bad) in [
        ("tampered payload", tampered),
        ("tampered signature", bad_sig),
        ("alg none", none),
        ("HS512", hs512),
        ("expired", expired),
        ("foreign secret", foreign),
        ("garbage", "not.a.token".to_string()),
    ] {
        let res = app.get("/api/v1/auth/me", Some(&bad)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_problem(res, StatusCode::UNAUTHORIZED).await;
    }

    // A correctly signed token for the right user is accepted: the refusals above are real.
    let good = forge(
        &json!({}),
        &json!({"sub": "1", "iat": now(), "exp": now() + 600, "ver": 0}),
        JWT_SECRET.as_bytes(),
    );
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&good)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn disabling_a_user_or_changing_its_password_revokes_its_tokens() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let ed_token = app.token_for("ed", Role::Editor).await;
    let mod_token = app.token_for("mo", Role::Moderator).await;
    let me = |t: String| {
        let app = &app;
        async move { app.get("/api/v1/auth/me", Some(&t)).await.status() }
    };
    assert_eq!(me(ed_token.clone()).await, StatusCode::OK);
    assert_eq!(me(mod_token.clone()).await, StatusCode::OK);

    let ed_id: Value = app
        .get("/api/v1/auth/me", Some(&ed_token))
        .await
        .json()
        .await
        .unwrap();
    let mo_id: Value = app
        .get("/api/v1/auth/me", Some(&mod_token))
        .await
        .json()
        .await
        .unwrap();

    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", ed_id["id"]),
            Some(&admin),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(ed_token.clone()).await, StatusCode::UNAUTHORIZED);

    // Re-enabling does not bring the old token back.
    app.send_json(
        Method::PATCH,
        &format!("/api/v1/users/{}", ed_id["id"]),
        Some(&admin),
        &json!({"disabled": false}),
    )
    .await;
    assert_eq!(me(ed_token).await, StatusCode::UNAUTHORIZED);

    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", mo_id["id"]),
            Some(&admin),
            &json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(mod_token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login("mo", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("mo", "a brand new password").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let token = app.token_for("ed", Role::Editor).await;
    let me: Value = app
        .get("/api/v1/auth/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .request(Method::DELETE, &format!("/api/v1/users/{}", me["id"]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/auth/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn repeated_failures_for_one_username_answer_429_until_the_window_passes() {
    let app = spawn_app_with(|c| c.login_max_failures = 3).await;
    app.create_user("ed", Role::Editor).await;
    app.create_user("other", Role::Editor).await;

    for _ in 0..3 {
        assert_eq!(
            app.login("ed", "wrong password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password is throttled.
    let res = app.login("ed", PASSWORD).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS).await;

    // Other usernames are unaffected, and so are unknown ones until they fail too.
    assert_eq!(app.login("other", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_successful_login_resets_the_failure_count() {
    let app = spawn_app_with(|c| c.login_max_failures = 3).await;
    app.create_user("ed", Role::Editor).await;
    for _ in 0..2 {
        app.login("ed", "wrong password").await;
    }
    assert_eq!(app.login("ed", PASSWORD).await.status(), StatusCode::OK);
    for _ in 0..2 {
        app.login("ed", "wrong password").await;
    }
    assert_eq!(app.login("ed", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_bodies_are_validated() {
    let app = spawn_app().await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            &json!({"username": "", "password": ""}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        crate::helpers::error_fields(&p),
        vec!["password", "username"]
    );

    let res = app
        .send_json(
            Method::POST,
            "/api/v1/auth/token",
            None,
            &json!({"username": "ed"}),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(crate::helpers::error_fields(&p), vec!["password"]);
}
