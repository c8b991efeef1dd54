//! Login throttling under load: exact per-username counting with concurrent attempts, the
//! per-address limit, and logins that leave the database pool free while Argon2 runs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures_util::future::join_all;
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::json;
use tokio::sync::Notify;

use crate::helpers::{assert_problem, header, spawn_app_with, TestApp, PASSWORD};

/// A login as if relayed by a proxy on 127.0.0.1 (trusted by default) for `client`.
async fn login_from(app: &TestApp, client: &str, username: &str, password: &str) -> Response {
    app.request(Method::POST, "/api/v1/auth/token")
        .header("X-Forwarded-For", client)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("request sent")
}

async fn assert_throttled(res: Response, what: &str) {
    let retry: u64 = header(&res, "retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After"))
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=900).contains(&retry), "{what}: Retry-After {retry}");
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn thirty_parallel_wrong_passwords_for_one_username_evaluate_exactly_the_allowed_five() {
    let app = spawn_app_with(|c| c.login_max_failures = 5).await;
    app.create_user("ed", Role::Editor).await;

    let answers = join_all((0..30).map(|_| app.login("ed", "wrong password"))).await;
    let count = |status| answers.iter().filter(|r| r.status() == status).count();
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (5, 25),
        "{:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    // The window has not passed: the right password is refused too.
    assert_throttled(app.login("ed", PASSWORD).await, "the right password").await;
}

#[tokio::test]
async fn one_address_failing_on_many_usernames_is_refused_while_others_still_log_in() {
    let app = spawn_app_with(|c| {
        c.trust_proxy = true;
        c.login_max_failures_per_address = 4;
    })
    .await;
    let names = ["ana", "ben", "cyd", "dee"];
    for name in names {
        app.create_user(name, Role::Editor).await;
    }

    let guesser = "198.51.100.7";
    for name in names {
        let res = login_from(&app, guesser, name, "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    // The address is spent: even a right password, or a name it never tried, is refused...
    let res = login_from(&app, guesser, "ana", PASSWORD).await;
    assert_throttled(res, "the guesser's right password").await;
    let res = login_from(&app, guesser, "nobody", "wrong password").await;
    assert_throttled(res, "the guesser on an unknown name").await;
    // ...a client prepending another address does not escape it...
    let res = login_from(&app, &format!("203.0.113.50, {guesser}"), "ana", PASSWORD).await;
    assert_throttled(res, "the guesser behind a prepended address").await;

    // ...while every user logs in from elsewhere: one failure each is below the per-username
    // limit, and the address limit is the guesser's alone.
    for name in names {
        let res = login_from(&app, "203.0.113.9", name, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "{name} from another address");
    }
}

#[tokio::test]
async fn a_proxys_address_is_never_limited_so_no_one_can_lock_everyone_out() {
    // Behind a proxy Masthead is not told to trust, every request comes from the proxy's
    // address (here 127.0.0.1, a loopback address): limiting it would refuse every user.
    for trust_proxy in [false, true] {
        let app = spawn_app_with(|c| {
            c.trust_proxy = trust_proxy;
            c.login_max_failures_per_address = 3;
        })
        .await;
        let names = ["ana", "ben", "cyd", "dee", "eve"];
        for name in names {
            app.create_user(name, Role::Editor).await;
        }
        for name in &names[..4] {
            let res = app.login(name, "wrong password").await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        }
        let res = app.login("eve", PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "eve, trust_proxy={trust_proxy}"
        );
    }
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_network() {
    let app = spawn_app_with(|c| {
        c.trust_proxy = true;
        c.login_max_failures_per_address = 3;
    })
    .await;
    app.create_user("ed", Role::Editor).await;
    for n in 1..=3 {
        let client = format!("2001:db8:7:1::{n}");
        let res = login_from(&app, &client, &format!("guess{n}"), "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{client}");
    }
    // Another address of the same /64 shares the limit; the next /64 does not.
    let res = login_from(&app, "2001:db8:7:1:ffff::9", "ed", PASSWORD).await;
    assert_throttled(res, "the same /64").await;
    let res = login_from(&app, "2001:db8:7:2::1", "ed", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn logins_checking_passwords_leave_the_database_pool_to_other_requests() {
    let app = spawn_app_with(|c| {
        c.db_pool_size = 1;
        c.login_max_failures = 100;
    })
    .await;
    let token = app.token_for("ed", Role::Editor).await;

    // Eight logins at once, each spending tens of milliseconds in Argon2; once half of them
    // have answered (the rest are still being checked), a request that needs the one pooled
    // connection. Were a login to hold the connection while its password is checked, that
    // request would wait for the check under way and for those queued before it: longer than
    // the quickest login took from start to end.
    let answered = AtomicUsize::new(0);
    let half_answered = Notify::new();
    let logins = join_all((0..8).map(|_| async {
        let started = Instant::now();
        let res = app.login("ed", "wrong password").await;
        let took = started.elapsed();
        if answered.fetch_add(1, Ordering::SeqCst) + 1 == 4 {
            half_answered.notify_one();
        }
        (res.status(), took)
    }));
    let probe = async {
        half_answered.notified().await;
        let started = Instant::now();
        let res = app.get("/api/v1/auth/me", Some(&token)).await;
        (res.status(), started.elapsed())
    };
    let (logins, (probe_status, probe_took)) = tokio::join!(logins, probe);
    assert_eq!(probe_status, StatusCode::OK);
    assert!(logins.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED));
    let quickest_login = logins.iter().map(|l| l.1).min().expect("logins");
    assert!(
        probe_took < quickest_login,
        "the request took {probe_took:?}, the quickest login {quickest_login:?}"
    );
}
