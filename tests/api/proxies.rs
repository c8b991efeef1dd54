//! The client address behind trusted proxies (`MASTHEAD_TRUST_PROXY`): the right-most
//! `X-Forwarded-For` address that is not a trusted proxy, so what a client prepends is ignored.

use chrono::{Duration, SecondsFormat, Utc};
use masthead::config::Config;
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{slug, spawn_app_with, TestApp};

struct Site {
    app: TestApp,
    moderator: String,
    article: String,
}

/// A site behind a proxy on 127.0.0.1 with one published article.
async fn site(customize: impl FnOnce(&mut Config)) -> Site {
    let app = spawn_app_with(|c| {
        c.trust_proxy = true;
        customize(c);
    })
    .await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mod", Role::Moderator).await;
    let published_at = (Utc::now() - Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/articles",
            Some(&editor),
            &json!({"title": "Harbour wall repairs", "status": "published",
                    "published_at": published_at, "body_markdown": "Work starts Monday."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let article = slug(&res.json().await.unwrap());
    Site {
        app,
        moderator,
        article,
    }
}

async fn comment_from(s: &Site, forwarded_for: &str, n: usize) -> Response {
    s.app
        .request(
            Method::POST,
            &format!("/api/v1/articles/{}/comments", s.article),
        )
        .header("X-Forwarded-For", forwarded_for)
        .json(
            &json!({"author_name": "Reader", "author_email": format!("reader{n}@example.org"),
                      "body": format!("The scaffolding blocks the ferry path (note {n}).")}),
        )
        .send()
        .await
        .expect("request sent")
}

async fn queue(s: &Site, status: &str) -> Vec<Value> {
    let res = s
        .app
        .get(
            &format!("/api/v1/comments?status={status}"),
            Some(&s.moderator),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    page["data"].as_array().expect("a list").clone()
}

#[tokio::test]
async fn a_blocked_network_is_not_escaped_by_prepending_addresses() {
    let s = site(|_| {}).await;
    let res = s
        .app
        .send_json(
            Method::POST,
            "/api/v1/comments/blocklist",
            Some(&s.moderator),
            &json!({"kind": "cidr", "value": "203.0.113.0/24"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // The proxy appended the real address; the client wrote 8.8.8.8 itself.
    let res = comment_from(&s, "8.8.8.8, 203.0.113.7", 1).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let spam = queue(&s, "spam").await;
    assert_eq!(spam.len(), 1, "{spam:?}");
    assert_eq!(spam[0]["ip_address"], "203.0.113.7");
    assert!(queue(&s, "pending").await.is_empty());
}

#[tokio::test]
async fn the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() {
    let s = site(|_| {}).await;
    for (n, xff) in [
        "spoofed, 198.51.100.4",
        "192.0.2.1, 198.51.100.5, 10.0.0.3",
        "unknown, 10.0.0.8",
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            comment_from(&s, xff, n).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let mut seen: Vec<String> = queue(&s, "pending")
        .await
        .iter()
        .map(|c| c["ip_address"].as_str().expect("an address").to_string())
        .collect();
    seen.sort();
    // The last: only trusted proxies after garbage, so the nearest of them.
    assert_eq!(seen, ["10.0.0.8", "198.51.100.4", "198.51.100.5"]);
}

#[tokio::test]
async fn two_ipv6_clients_in_one_64_share_the_comment_rate_limit() {
    let s = site(|c| c.comment_rate = 1).await;
    let res = comment_from(&s, "2001:db8:5:6::1", 1).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let res = comment_from(&s, "2001:db8:5:6:abcd::2", 2).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another /64 is another client.
    let res = comment_from(&s, "2001:db8:5:7::1", 3).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // Moderators still see the full address.
    let pending = queue(&s, "pending").await;
    let mut seen: Vec<&str> = pending
        .iter()
        .map(|c| c["ip_address"].as_str().expect("an address"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, ["2001:db8:5:6::1", "2001:db8:5:7::1"]);
}
