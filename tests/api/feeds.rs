//! Atom feeds: the site's latest articles and each series in order, read back with a feed
//! parser. Links are absolute, drafts and future articles stay out, and feeds are cacheable.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use feed_rs::model::{Entry, Feed, FeedType};
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, header, spawn_app, spawn_app_with, TestApp};

const PUBLIC_URL: &str = "https://news.example";

async fn spawn_public() -> TestApp {
    spawn_app_with(|c| c.public_url = Some(PUBLIC_URL.into())).await
}

/// An RFC 3339 UTC timestamp `offset` away from now.
fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn created(res: Response, what: &str) -> Value {
    let status = res.status();
    if !status.is_success() {
        let text = res.text().await.unwrap_or_default();
        panic!("{what}: got {status}: {text}");
    }
    res.json().await.expect("a JSON body")
}

async fn new_article(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .send_json(Method::POST, "/api/v1/articles", Some(token), &body)
        .await;
    created(res, &format!("POST article {body}")).await
}

/// A published article, published `hours_ago` hours ago.
async fn published(app: &TestApp, token: &str, title: &str, hours_ago: i64) -> Value {
    new_article(
        app,
        token,
        json!({"title": title, "status": "published", "published_at": at(-Duration::hours(hours_ago)),
               "excerpt": format!("Short summary: {title}."),
               "body_markdown": format!("About *{title}*.")}),
    )
    .await
}

async fn draft(app: &TestApp, token: &str, title: &str) -> Value {
    new_article(app, token, json!({"title": title})).await
}

async fn new_series(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .send_json(Method::POST, "/api/v1/series", Some(token), &body)
        .await;
    created(res, &format!("POST series {body}")).await
}

async fn set_order(app: &TestApp, token: &str, series: &Value, articles: &[&Value]) {
    let ids: Vec<&Value> = articles.iter().map(|a| &a["id"]).collect();
    let path = format!("/api/v1/series/{}/articles", series["id"]);
    let res = app
        .send_json(
            Method::PUT,
            &path,
            Some(token),
            &json!({ "article_ids": ids }),
        )
        .await;
    created(res, "PUT series order").await;
}

/// GETs a feed, asserts a 200 Atom answer with public caching, and parses it.
async fn fetch_feed(app: &TestApp, path: &str) -> (Feed, String, String) {
    let res = app.get(path, None).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/atom+xml; charset=utf-8")
    );
    let cache = header(&res, "cache-control").expect("a Cache-Control header");
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let etag = header(&res, "etag").expect("an ETag header");
    assert!(etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'));
    let xml = res.text().await.unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\"?>"), "{xml}");
    let feed = feed_rs::parser::parse(xml.as_bytes())
        .unwrap_or_else(|e| panic!("{path} is not a parsable feed: {e}\n{xml}"));
    assert_eq!(feed.feed_type, FeedType::Atom);
    (feed, etag, xml)
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().expect("an entry title").content.clone())
        .collect()
}

fn link<'a>(links: &'a [feed_rs::model::Link], rel: &str) -> &'a str {
    links
        .iter()
        .find(|l| l.rel.as_deref() == Some(rel))
        .unwrap_or_else(|| panic!("no {rel} link in {links:?}"))
        .href
        .as_str()
}

fn entry<'a>(feed: &'a Feed, title: &str) -> &'a Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().is_some_and(|t| t.content == title))
        .unwrap_or_else(|| panic!("no entry titled {title:?}"))
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// The site feed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_site_feed_lists_public_articles_newest_first_with_absolute_links() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    published(&app, &editor, "Harbour dues rise", 3).await;
    draft(&app, &editor, "Unfinished draft").await;
    let newest = published(&app, &editor, "Ferry returns", 1).await;
    new_article(
        &app,
        &editor,
        json!({"title": "Scheduled for tomorrow", "status": "scheduled",
               "published_at": at(Duration::days(1))}),
    )
    .await;
    let due = new_article(
        &app,
        &editor,
        json!({"title": "Scheduled and due", "status": "scheduled",
               "published_at": at(-Duration::hours(2))}),
    )
    .await;

    let (feed, _, _) = fetch_feed(&app, "/feed.atom").await;
    assert_eq!(
        titles(&feed),
        ["Ferry returns", "Scheduled and due", "Harbour dues rise"]
    );
    assert_eq!(feed.id, format!("{PUBLIC_URL}/feed.atom"));
    assert_eq!(link(&feed.links, "self"), format!("{PUBLIC_URL}/feed.atom"));
    assert_eq!(
        link(&feed.links, "alternate"),
        format!("{PUBLIC_URL}/api/v1/articles")
    );
    assert!(feed
        .title
        .as_ref()
        .is_some_and(|t| t.content.contains("news.example")));
    let generator = feed.generator.as_ref().expect("a generator");
    assert_eq!(generator.content, "Masthead");
    // The feed changed when its most recently changed entry did.
    assert_eq!(feed.updated, Some(time(&due["updated_at"])));

    let e = entry(&feed, "Ferry returns");
    assert_eq!(
        link(&e.links, "alternate"),
        format!(
            "{PUBLIC_URL}/api/v1/articles/{}",
            newest["slug"].as_str().unwrap()
        )
    );
    assert!(e.id.starts_with("tag:news.example,"), "{}", e.id);
    assert!(
        e.id.ends_with(&format!(":articles/{}", newest["id"])),
        "{}",
        e.id
    );
    assert_eq!(e.published, Some(time(&newest["published_at"])));
    assert_eq!(e.updated, Some(time(&newest["updated_at"])));
    assert_eq!(e.authors[0].name.as_deref(), Some("ed Person"));
    assert_eq!(
        e.summary.as_ref().map(|s| s.content.as_str()),
        Some("Short summary: Ferry returns.")
    );
    let content = e.content.as_ref().expect("content");
    assert_eq!(content.content_type.to_string(), "text/html");
    let body = content.body.as_deref().unwrap_or_default();
    assert!(
        body.contains("<p>About <em>Ferry returns</em>.</p>"),
        "{body}"
    );
    // Every link points at the public site.
    for e in &feed.entries {
        for l in &e.links {
            assert!(l.href.starts_with(PUBLIC_URL), "{}", l.href);
        }
    }
}

#[tokio::test]
async fn feed_entries_carry_sanitised_html_and_tags_as_categories() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    new_article(
        &app,
        &editor,
        json!({"title": "Council & <the> budget", "status": "published",
               "tags": ["Local politics", "budget"],
               "body_markdown": "A **bold** claim.\n\n<script>alert('x')</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"x()\">link</a>"}),
    )
    .await;

    let (feed, _, xml) = fetch_feed(&app, "/feed.atom").await;
    // Markup in a title is text, escaped in the XML.
    assert!(xml.contains("Council &amp; &lt;the&gt; budget"), "{xml}");
    let e = entry(&feed, "Council & <the> budget");
    let body = e
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .expect("a body");
    assert!(body.contains("<strong>bold</strong>"), "{body}");
    for unsafe_part in ["<script", "javascript:", "onclick"] {
        assert!(!body.contains(unsafe_part), "{unsafe_part} in {body}");
    }
    let categories: Vec<(&str, Option<&str>)> = e
        .categories
        .iter()
        .map(|c| (c.term.as_str(), c.label.as_deref()))
        .collect();
    assert_eq!(
        categories,
        [
            ("local-politics", Some("Local politics")),
            ("budget", Some("budget"))
        ]
    );
}

#[tokio::test]
async fn the_site_feed_carries_the_twenty_latest_articles() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for i in 0..22 {
        published(&app, &editor, &format!("Story {i:02}"), 100 - i).await;
    }
    let (feed, _, _) = fetch_feed(&app, "/feed.atom").await;
    let expected: Vec<String> = (2..22).rev().map(|i| format!("Story {i:02}")).collect();
    assert_eq!(titles(&feed), expected);
}

#[tokio::test]
async fn an_empty_site_feed_is_still_valid_atom_with_a_stable_etag() {
    let app = spawn_public().await;
    let (feed, etag, _) = fetch_feed(&app, "/feed.atom").await;
    assert!(feed.entries.is_empty());
    assert_eq!(feed.updated, Some(DateTime::UNIX_EPOCH));
    let (_, again, _) = fetch_feed(&app, "/feed.atom").await;
    assert_eq!(etag, again);
}

#[tokio::test]
async fn a_feed_answers_304_to_its_etag_and_changes_with_its_content() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    published(&app, &editor, "First", 2).await;
    let (_, etag, _) = fetch_feed(&app, "/feed.atom").await;

    let res = app
        .request(Method::GET, "/feed.atom")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&res, "etag").as_deref(), Some(etag.as_str()));
    assert!(header(&res, "cache-control").is_some_and(|c| c.starts_with("public")));
    assert!(res.bytes().await.unwrap().is_empty());

    published(&app, &editor, "Second", 1).await;
    let (feed, changed, _) = fetch_feed(&app, "/feed.atom").await;
    assert_ne!(etag, changed);
    assert_eq!(titles(&feed), ["Second", "First"]);
    let res = app
        .request(Method::GET, "/feed.atom")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_public_url_links_use_the_requests_own_origin() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let article = published(&app, &editor, "Local news", 1).await;
    // Not behind a trusted proxy: a forwarded host must not leak into cached links.
    let res = app
        .request(Method::GET, "/feed.atom")
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let feed = feed_rs::parser::parse(res.text().await.unwrap().as_bytes()).unwrap();
    assert_eq!(link(&feed.links, "self"), app.url("/feed.atom"));
    assert_eq!(
        link(&feed.entries[0].links, "alternate"),
        app.url(&format!(
            "/api/v1/articles/{}",
            article["slug"].as_str().unwrap()
        ))
    );
    assert!(feed.entries[0].id.starts_with("tag:127.0.0.1,"));
}

// ---------------------------------------------------------------------------------------------
// Series feeds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_series_feed_follows_the_series_order_and_skips_drafts() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    // Published in another order than the series tells them.
    let part_two = published(&app, &editor, "Part two", 3).await;
    let part_one = published(&app, &editor, "Part one", 1).await;
    let unfinished = draft(&app, &editor, "Part three, unfinished").await;
    let part_four = published(&app, &editor, "Part four", 2).await;
    published(&app, &editor, "Not in the series", 1).await;
    let series = new_series(
        &app,
        &editor,
        json!({"title": "The bridge trial", "description": "Every hearing, in order."}),
    )
    .await;
    set_order(
        &app,
        &editor,
        &series,
        &[&part_one, &part_two, &unfinished, &part_four],
    )
    .await;
    let slug = series["slug"].as_str().unwrap();

    let path = format!("/series/{slug}/feed.atom");
    let (feed, etag, _) = fetch_feed(&app, &path).await;
    assert_eq!(titles(&feed), ["Part one", "Part two", "Part four"]);
    assert_eq!(
        feed.title.as_ref().map(|t| t.content.as_str()),
        Some("The bridge trial")
    );
    assert_eq!(
        feed.description.as_ref().map(|t| t.content.as_str()),
        Some("Every hearing, in order.")
    );
    assert_eq!(
        link(&feed.links, "self"),
        format!("{PUBLIC_URL}/series/{slug}/feed.atom")
    );
    assert_eq!(
        link(&feed.links, "alternate"),
        format!("{PUBLIC_URL}/api/v1/series/{slug}")
    );
    assert!(feed.id.starts_with("tag:news.example,"), "{}", feed.id);
    assert!(feed.id.ends_with(&format!(":series/{}", series["id"])));
    for e in &feed.entries {
        assert!(link(&e.links, "alternate").starts_with(PUBLIC_URL));
    }

    // Reordering changes the feed and its ETag.
    set_order(&app, &editor, &series, &[&part_four, &part_one]).await;
    let (feed, changed, _) = fetch_feed(&app, &path).await;
    assert_eq!(titles(&feed), ["Part four", "Part one"]);
    assert_ne!(etag, changed);
    let res = app
        .request(Method::GET, &path)
        .header("If-None-Match", &changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn an_empty_series_has_a_valid_feed() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let series = new_series(&app, &editor, json!({"title": "Coming soon"})).await;
    let path = format!("/series/{}/feed.atom", series["slug"].as_str().unwrap());
    let (feed, _, _) = fetch_feed(&app, &path).await;
    assert!(feed.entries.is_empty());
    assert_eq!(feed.updated, Some(time(&series["updated_at"])));
}

#[tokio::test]
async fn an_unknown_series_feed_is_a_404_problem() {
    let app = spawn_public().await;
    let res = app.get("/series/no-such-series/feed.atom", None).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_old_series_slug_redirects_to_the_current_feed() {
    let app = spawn_public().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = app
        .send_json(
            Method::POST,
            "/api/v1/series",
            Some(&editor),
            &json!({"title": "Ferry strike"}),
        )
        .await;
    let tag = header(&res, "etag").expect("an ETag");
    let series = created(res, "POST series").await;
    let res = app
        .request(Method::PATCH, &format!("/api/v1/series/{}", series["id"]))
        .bearer_auth(&editor)
        .header("If-Match", tag)
        .json(&json!({"slug": "ferry-strike-talks"}))
        .send()
        .await
        .unwrap();
    created(res, "PATCH series slug").await;

    let res = app.get("/series/ferry-strike/feed.atom", None).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header(&res, "location").as_deref(),
        Some("https://news.example/series/ferry-strike-talks/feed.atom")
    );
    fetch_feed(&app, "/series/ferry-strike-talks/feed.atom").await;
}

// ---------------------------------------------------------------------------------------------
// Links never come from one reader's headers into another's answer
// ---------------------------------------------------------------------------------------------

/// GETs `path` with every header of `headers`; the answer's status, headers and body.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut req = app.request(Method::GET, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let mut seen = format!("{:?}", res.headers());
    seen.push_str(&res.text().await.unwrap_or_default());
    (status, seen)
}

#[tokio::test]
async fn a_request_with_another_host_does_not_change_the_links_others_are_served() {
    // No MASTHEAD_PUBLIC_URL: feed links come from the request's own host.
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Harbour reopens", 2).await;
    let b = published(&app, &editor, "Harbour fees", 1).await;
    let series = new_series(&app, &editor, json!({"title": "Harbour"})).await;
    set_order(&app, &editor, &series, &[&a, &b]).await;
    let series_feed = format!("/series/{}/feed.atom", series["slug"].as_str().unwrap());
    // A list with a next page (Link) and an old slug's redirect (Location).
    let list = "/api/v1/articles?limit=1";
    let res = app
        .request(Method::PATCH, &format!("/api/v1/articles/{}", a["id"]))
        .bearer_auth(&editor)
        .header(
            "If-Match",
            header(
                &app.get(
                    &format!("/api/v1/articles/{}", a["slug"].as_str().unwrap()),
                    None,
                )
                .await,
                "etag",
            )
            .expect("an ETag"),
        )
        .json(&json!({"slug": "harbour-reopens-at-last"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let moved = format!("/api/v1/articles/{}", a["slug"].as_str().unwrap());

    for path in ["/feed.atom", series_feed.as_str(), list, moved.as_str()] {
        for hostile in [
            vec![("Host", "evil.example")],
            vec![
                ("Host", "evil.example:8443"),
                ("X-Forwarded-Host", "evil.example"),
            ],
            vec![
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Proto", "https"),
            ],
            vec![("Forwarded", "host=evil.example;proto=https")],
        ] {
            let (status, _) = get_with(&app, path, &hostile).await;
            assert!(
                status.is_success() || status.is_redirection(),
                "{path}: {status}"
            );
            let (status, plain) = get_with(&app, path, &[]).await;
            assert!(
                status.is_success() || status.is_redirection(),
                "{path}: {status}"
            );
            assert!(
                !plain.contains("evil.example"),
                "{path} after a request with {hostile:?}: {plain}"
            );
        }
    }
    // The plain reader's feed links to where it was fetched from.
    let (feed, _, _) = fetch_feed(&app, &series_feed).await;
    assert_eq!(link(&feed.links, "self"), app.url(&series_feed));
}

#[tokio::test]
async fn behind_a_trusted_proxy_feed_links_follow_its_forwarded_host_and_no_one_elses() {
    let app = spawn_app_with(|c| c.trust_proxy = true).await;
    let editor = app.token_for("ed", Role::Editor).await;
    published(&app, &editor, "Night ferry", 1).await;
    let forwarded = [
        ("X-Forwarded-Host", "news.example"),
        ("X-Forwarded-Proto", "https"),
    ];
    let (status, proxied) = get_with(&app, "/feed.atom", &forwarded).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        proxied.contains("https://news.example/feed.atom"),
        "{proxied}"
    );
    assert!(
        proxied
            .to_ascii_lowercase()
            .contains("vary\": \"forwarded, x-forwarded-host"),
        "no Vary on forwarded headers: {proxied}"
    );
    let (_, direct) = get_with(&app, "/feed.atom", &[]).await;
    assert!(!direct.contains("news.example"), "{direct}");

    // The same headers from a peer that is not a trusted proxy are ignored.
    let untrusting = spawn_app_with(|c| {
        c.trust_proxy = true;
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    let (status, spoofed) = get_with(&untrusting, "/feed.atom", &forwarded).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!spoofed.contains("news.example"), "{spoofed}");
}
