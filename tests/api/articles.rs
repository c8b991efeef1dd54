//! The Articles resource: creation, slugs, public and editorial reads, conditional writes,
//! sanitised Markdown, the public list with its filters and cursors, and revisions.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, header, spawn_app, TestApp};

const ARTICLES: &str = "/api/v1/articles";
const PUBLIC_CACHE: &str = "public, max-age=60, stale-while-revalidate=300";
const PRIVATE_CACHE: &str = "private, no-store";

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// An RFC 3339 UTC timestamp `offset` away from now, whole seconds, `Z` suffix (URL-safe).
fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a timestamp string"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// The response's ETag, checked to be a strong, quoted entity tag.
fn etag(res: &Response) -> String {
    let tag = header(res, "etag").expect("an ETag header");
    assert!(
        tag.len() > 2 && tag.starts_with('"') && tag.ends_with('"'),
        "ETag {tag:?} is not a strong quoted tag"
    );
    tag
}

fn article_path(id: &Value) -> String {
    format!("{ARTICLES}/{id}")
}

async fn post_article(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.send_json(Method::POST, ARTICLES, token, body).await
}

/// Creates an article, asserts 201, and returns `(article, etag)`.
async fn create_tagged(app: &TestApp, token: &str, body: Value) -> (Value, String) {
    let res = post_article(app, Some(token), &body).await;
    let status = res.status();
    if status != StatusCode::CREATED {
        let text = res.text().await.unwrap_or_default();
        panic!("creating {body} answered {status}: {text}");
    }
    let tag = etag(&res);
    (res.json().await.unwrap(), tag)
}

async fn create_article(app: &TestApp, token: &str, body: Value) -> Value {
    create_tagged(app, token, body).await.0
}

fn slug_of(article: &Value) -> String {
    article["slug"].as_str().expect("slug string").to_string()
}

async fn write_with(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = app.request(method, path);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request sent")
}

async fn patch(
    app: &TestApp,
    article: &Value,
    token: Option<&str>,
    if_match: Option<&str>,
    body: &Value,
) -> Response {
    let path = article_path(&article["id"]);
    write_with(app, Method::PATCH, &path, token, if_match, Some(body)).await
}

async fn delete(
    app: &TestApp,
    article: &Value,
    token: Option<&str>,
    if_match: Option<&str>,
) -> Response {
    let path = article_path(&article["id"]);
    write_with(app, Method::DELETE, &path, token, if_match, None).await
}

/// PATCHes with `If-Match`, asserts 200 and returns `(article, new etag)`.
async fn patch_ok(
    app: &TestApp,
    token: &str,
    article: &Value,
    tag: &str,
    body: Value,
) -> (Value, String) {
    let res = patch(app, article, Some(token), Some(tag), &body).await;
    let status = res.status();
    if status != StatusCode::OK {
        let text = res.text().await.unwrap_or_default();
        panic!("PATCH {body} answered {status}: {text}");
    }
    let new_tag = etag(&res);
    (res.json().await.unwrap(), new_tag)
}

async fn get_slug(app: &TestApp, slug: &str, token: Option<&str>) -> Response {
    app.get(&format!("{ARTICLES}/{slug}"), token).await
}

/// GETs an article by slug as `token` (an editor, to see drafts too) and asserts 200.
async fn fetch(app: &TestApp, slug: &str, token: Option<&str>) -> Value {
    let res = get_slug(app, slug, token).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {slug}");
    res.json().await.unwrap()
}

async fn list(app: &TestApp, query: &str, token: Option<&str>) -> Value {
    let res = app.get(&format!("{ARTICLES}{query}"), token).await;
    let status = res.status();
    if status != StatusCode::OK {
        let text = res.text().await.unwrap_or_default();
        panic!("GET {ARTICLES}{query} answered {status}: {text}");
    }
    res.json().await.unwrap()
}

fn slugs(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(slug_of)
        .collect()
}

fn published(title: &str, published_at: &str) -> Value {
    json!({"title": title, "status": "published", "published_at": published_at})
}

/// A word-for-word slug of an ASCII title: what a slug is a prefix of.
fn naive_slug(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("-")
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_editor_creates_an_article_with_every_field_and_reads_it_back() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let published_at = at(-Duration::hours(2));
    let body = json!({
        "title": "City council approves new tram line",
        "subtitle": "Construction starts next spring after a narrow vote",
        "excerpt": "The council voted 21 to 19 in favour.",
        "body_markdown": "The council met on Tuesday.\n\nThe vote was **close**.",
        "cover_image_url": "https://images.example.org/tram.jpg",
        "tags": ["transport", "city-hall"],
        "language": "en",
        "status": "published",
        "published_at": published_at,
        "comments_enabled": false
    });
    let res = post_article(&app, Some(&editor), &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = header(&res, "location").expect("a Location header");
    let tag = etag(&res);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("{ARTICLES}/{}", created["slug"].as_str().unwrap())
    );
    assert_eq!(created["slug"], "city-council-approves-new-tram-line");

    for key in [
        "id",
        "slug",
        "title",
        "subtitle",
        "excerpt",
        "body_markdown",
        "body_html",
        "cover_image_url",
        "tags",
        "language",
        "status",
        "published_at",
        "created_at",
        "updated_at",
        "author",
        "reading_time_minutes",
        "word_count",
        "comments_enabled",
        "comment_count",
        "series",
    ] {
        assert!(
            created.get(key).is_some(),
            "the article lacks {key:?}: {created}"
        );
    }
    assert!(created["id"].is_i64());
    assert_eq!(created["title"], body["title"]);
    assert_eq!(created["subtitle"], body["subtitle"]);
    assert_eq!(created["excerpt"], body["excerpt"]);
    assert_eq!(created["body_markdown"], body["body_markdown"]);
    assert!(created["body_html"]
        .as_str()
        .unwrap()
        .contains("<strong>close</strong>"));
    assert_eq!(created["cover_image_url"], body["cover_image_url"]);
    let tags: HashSet<&str> = created["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, HashSet::from(["transport", "city-hall"]));
    assert_eq!(created["language"], "en");
    assert_eq!(created["status"], "published");
    assert_eq!(
        parse_time(&created["published_at"]),
        parse_time(&json!(published_at))
    );
    parse_time(&created["created_at"]);
    parse_time(&created["updated_at"]);
    assert!(created["author"]["id"].is_i64());
    assert_eq!(created["author"]["display_name"], "ed Person");
    assert_eq!(created["word_count"], 9);
    assert_eq!(created["reading_time_minutes"], 1);
    assert_eq!(created["comments_enabled"], false);
    assert_eq!(created["comment_count"], 0);
    assert_eq!(created["series"], json!([]));

    let res = app.get(&location, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    etag(&res);
    let fetched: Value = res.json().await.unwrap();
    assert_eq!(fetched, created);
    let _ = tag;
}

#[tokio::test]
async fn a_title_alone_gives_a_draft_with_the_defaults() {
    let app = spawn_app().await;
    let admin = app.token_for("root", Role::Admin).await;
    let a = create_article(
        &app,
        &admin,
        json!({"title": "Harbour reopens after storm"}),
    )
    .await;
    assert_eq!(a["status"], "draft");
    assert_eq!(a["language"], "en");
    assert_eq!(a["comments_enabled"], true);
    assert_eq!(a["body_markdown"], "");
    assert_eq!(a["tags"], json!([]));
    assert_eq!(a["subtitle"], Value::Null);
    assert_eq!(a["cover_image_url"], Value::Null);
    assert_eq!(a["comment_count"], 0);
    assert_eq!(a["series"], json!([]));
    assert_eq!(a["author"]["display_name"], "root Person");
}

#[tokio::test]
async fn publishing_without_a_date_publishes_now() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let before = Utc::now() - Duration::seconds(5);
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Grain exports rise", "status": "published"}),
    )
    .await;
    let after = Utc::now() + Duration::seconds(5);
    let when = parse_time(&a["published_at"]);
    assert!(
        before <= when && when <= after,
        "published_at {when} is not now"
    );
    let res = get_slug(&app, &slug_of(&a), None).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_editors_and_admins_create_articles() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let admin = app.token_for("root", Role::Admin).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let body = json!({"title": "Weather warning for the coast"});

    let res = post_article(&app, Some(&moderator), &body).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = post_article(&app, None, &body).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = post_article(&app, Some("not-a-token"), &body).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    let a = create_article(&app, &editor, body.clone()).await;
    let b = create_article(&app, &admin, body).await;
    assert_eq!(slug_of(&a), "weather-warning-for-the-coast");
    // Only the two successful creations exist.
    assert_eq!(slug_of(&b), "weather-warning-for-the-coast-2");
}

// ---------------------------------------------------------------------------------------------
// Slugs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn slugs_are_made_from_titles_in_any_script() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for (title, slug) in [
        ("Masimov’s “Chinese” Secret", "masimovs-chinese-secret"),
        ("Қазақстан Әуе Жолдары", "qazaqstan-aue-zholdary"),
        ("Привет, мир", "privet-mir"),
        ("Café Crème", "cafe-creme"),
    ] {
        let a = create_article(&app, &editor, json!({"title": title})).await;
        assert_eq!(a["slug"], slug, "slug of {title:?}");
        assert_eq!(a["title"], title);
    }
}

#[tokio::test]
async fn the_same_title_gets_numbered_slugs() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let title = "Parliament passes the budget";
    let mut got = Vec::new();
    for _ in 0..3 {
        let (a, _) = create_tagged(
            &app,
            &editor,
            json!({"title": title, "status": "published"}),
        )
        .await;
        got.push(slug_of(&a));
    }
    assert_eq!(
        got,
        vec![
            "parliament-passes-the-budget",
            "parliament-passes-the-budget-2",
            "parliament-passes-the-budget-3"
        ]
    );
    // Each is reachable on its own slug with its own id.
    let mut ids = HashSet::new();
    for s in &got {
        let a = fetch(&app, s, None).await;
        assert_eq!(&slug_of(&a), s);
        ids.insert(a["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn long_titles_give_slugs_cut_at_a_word_boundary() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let title = "Regional assembly approves sweeping reform of water tariffs after months of \
                 heated debate between farmers, utilities and city councils across the northern \
                 provinces";
    let full = naive_slug(title);
    assert!(full.len() > 120);
    let a = create_article(&app, &editor, json!({"title": title})).await;
    let slug = slug_of(&a);
    assert!(slug.len() <= 120, "{slug} is {} chars", slug.len());
    assert!(slug.len() > 60, "{slug} is cut much too short");
    assert!(
        full.starts_with(&slug) && full[slug.len()..].starts_with('-'),
        "{slug:?} is not cut at a word boundary of {full:?}"
    );
}

#[tokio::test]
async fn an_explicit_slug_is_used_and_must_be_well_formed() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Budget vote", "slug": "budget-2025-vote", "status": "published"}),
    )
    .await;
    assert_eq!(a["slug"], "budget-2025-vote");
    fetch(&app, "budget-2025-vote", None).await;

    let longest = format!("{}-{}", "a".repeat(60), "b".repeat(59));
    assert_eq!(longest.len(), 120);
    let b = create_article(
        &app,
        &editor,
        json!({"title": "Long slug", "slug": longest}),
    )
    .await;
    assert_eq!(b["slug"], longest.as_str());

    let too_long = "c".repeat(121);
    for bad in [
        "Bad Slug",
        "UPPER-case",
        "-leading",
        "trailing-",
        "double--hyphen",
        "under_score",
        "kazakh-қ",
        "",
        too_long.as_str(),
    ] {
        let res = post_article(
            &app,
            Some(&editor),
            &json!({"title": "Fine title", "slug": bad}),
        )
        .await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["slug"], "slug {bad:?}");
    }
}

#[tokio::test]
async fn a_taken_slug_current_or_old_is_a_409_naming_the_field() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Mine closure", "slug": "mine-closure"}),
    )
    .await;

    let res = post_article(
        &app,
        Some(&editor),
        &json!({"title": "Other", "slug": "mine-closure"}),
    )
    .await;
    let p = assert_problem(res, StatusCode::CONFLICT).await;
    assert_eq!(p["errors"][0]["field"], "slug");

    patch_ok(
        &app,
        &editor,
        &a,
        &tag,
        json!({"slug": "mine-closure-confirmed"}),
    )
    .await;
    for taken in ["mine-closure", "mine-closure-confirmed"] {
        let res = post_article(
            &app,
            Some(&editor),
            &json!({"title": "Other", "slug": taken}),
        )
        .await;
        let p = assert_problem(res, StatusCode::CONFLICT).await;
        assert_eq!(p["errors"][0]["field"], "slug", "slug {taken}");
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_invalid_field_is_listed() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let tags: Vec<String> = (0..21).map(|i| format!("tag{i}")).collect();
    let res = post_article(
        &app,
        Some(&editor),
        &json!({
            "title": "",
            "slug": "Bad Slug",
            "cover_image_url": "javascript:alert(1)",
            "tags": tags,
            "status": "live",
            "language": "not a language!!"
        }),
    )
    .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields = error_fields(&p);
    for f in ["title", "slug", "cover_image_url", "status", "language"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    assert!(
        fields.iter().any(|x| x.starts_with("tags")),
        "tags missing from {fields:?}"
    );
}

#[tokio::test]
async fn each_field_limit_is_enforced() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let long_cover = format!("https://cdn.example.org/{}.jpg", "p".repeat(2000));
    let cases = [
        (json!({"title": "   "}), "title"),
        (json!({"title": "x".repeat(301)}), "title"),
        (
            json!({"title": "Ok", "subtitle": "s".repeat(501)}),
            "subtitle",
        ),
        (
            json!({"title": "Ok", "excerpt": "e".repeat(1001)}),
            "excerpt",
        ),
        (
            json!({"title": "Ok", "cover_image_url": "ftp://example.org/a.jpg"}),
            "cover_image_url",
        ),
        (
            json!({"title": "Ok", "cover_image_url": "not a url"}),
            "cover_image_url",
        ),
        (
            json!({"title": "Ok", "cover_image_url": long_cover}),
            "cover_image_url",
        ),
        (json!({"title": "Ok", "tags": [""]}), "tags"),
        (json!({"title": "Ok", "tags": ["t".repeat(51)]}), "tags"),
        (
            json!({"title": "Ok", "language": "english please"}),
            "language",
        ),
        (
            json!({"title": "Ok", "status": "scheduled"}),
            "published_at",
        ),
        (
            json!({"title": "Ok", "published_at": "next tuesday"}),
            "published_at",
        ),
    ];
    for (body, field) in cases {
        let res = post_article(&app, Some(&editor), &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields = error_fields(&p);
        assert!(
            fields.iter().any(|f| f.starts_with(field)),
            "{field} missing from {fields:?} for {body}"
        );
    }

    // The limits themselves are allowed; titles count characters, not bytes.
    let twenty: Vec<String> = (0..20).map(|i| format!("topic-{i}")).collect();
    create_article(
        &app,
        &editor,
        json!({
            "title": format!("  {}  ", "T".repeat(300)),
            "slug": "limits-ok",
            "subtitle": "s".repeat(500),
            "excerpt": "e".repeat(1000),
            "tags": twenty,
            "cover_image_url": "http://example.org/cover.png"
        }),
    )
    .await;
    let kazakh = "Жол".repeat(100);
    let a = create_article(
        &app,
        &editor,
        json!({"title": kazakh, "slug": "kazakh-long-title"}),
    )
    .await;
    assert_eq!(a["title"], kazakh.as_str());
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Tag", "tags": ["t".repeat(50)]}),
    )
    .await;
    assert_eq!(a["tags"], json!(["t".repeat(50)]));
}

#[tokio::test]
async fn tags_are_deduplicated_and_languages_are_language_tags() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Oil price falls", "tags": ["economy", "energy", "economy", "energy"]}),
    )
    .await;
    let tags: Vec<&str> = a["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert!(tags.contains(&"economy") && tags.contains(&"energy"));

    for lang in ["en", "kk", "ru", "pt-BR"] {
        let a = create_article(
            &app,
            &editor,
            json!({"title": "Language check", "language": lang}),
        )
        .await;
        assert_eq!(a["language"], lang);
    }
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for body in [
        json!({"title": "Ok", "colour": "red"}),
        json!({"title": "Ok", "tags": "x"}),
        json!({"title": 42}),
        json!({"title": "Ok", "comments_enabled": "yes"}),
    ] {
        let res = post_article(&app, Some(&editor), &body).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let res = post_article(&app, Some(&editor), &json!({"title": "Ok", "tags": "x"})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error_fields(&p).iter().any(|f| f.starts_with("tags")),
        "{p}"
    );
    // Nothing was created by any of these.
    let page = list(&app, "?status=draft", Some(&editor)).await;
    assert_eq!(page["data"], json!([]));
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_refused_but_one_mebibyte_is_fine() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = post_article(
        &app,
        Some(&editor),
        &json!({"title": "Huge", "body_markdown": "a".repeat(1_100_000)}),
    )
    .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error_fields(&p).contains(&"body_markdown".to_string()),
        "{p}"
    );

    let mut body = "word ".repeat(209_715);
    body.push('a');
    assert_eq!(body.len(), 1 << 20);
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Big but fine", "body_markdown": body}),
    )
    .await;
    assert_eq!(a["word_count"], 209_716);
}

// ---------------------------------------------------------------------------------------------
// Reading one article
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_public_article_is_cacheable_and_answers_304_to_its_etag() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Museum reopens", "status": "published", "body_markdown": "Doors open at nine."}),
    )
    .await;
    let res = get_slug(&app, &slug_of(&a), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control").as_deref(), Some(PUBLIC_CACHE));
    let tag = etag(&res);

    let res = app
        .request(Method::GET, &format!("{ARTICLES}/{}", slug_of(&a)))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    let res = app
        .request(Method::GET, &format!("{ARTICLES}/{}", slug_of(&a)))
        .header("If-None-Match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn drafts_archived_and_future_scheduled_articles_are_hidden_from_the_public() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let hidden = [
        json!({"title": "Draft piece"}),
        json!({"title": "Archived piece", "status": "archived"}),
        json!({"title": "Future piece", "status": "scheduled", "published_at": at(Duration::days(2))}),
    ];
    for body in hidden {
        let a = create_article(&app, &editor, body).await;
        let slug = slug_of(&a);
        assert_problem(get_slug(&app, &slug, None).await, StatusCode::NOT_FOUND).await;
        let res = get_slug(&app, &slug, Some(&editor)).await;
        assert_eq!(res.status(), StatusCode::OK, "editor GET {slug}");
        assert_eq!(
            header(&res, "cache-control").as_deref(),
            Some(PRIVATE_CACHE),
            "{slug}"
        );
        let seen: Value = res.json().await.unwrap();
        assert_eq!(seen["id"], a["id"]);
    }

    let past = create_article(
        &app,
        &editor,
        json!({"title": "Past scheduled piece", "status": "scheduled", "published_at": at(-Duration::minutes(5))}),
    )
    .await;
    let res = get_slug(&app, &slug_of(&past), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "cache-control").as_deref(), Some(PUBLIC_CACHE));
}

#[tokio::test]
async fn an_old_slug_redirects_permanently_to_the_new_one() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Bridge collapse inquiry", "status": "published"}),
    )
    .await;
    let old = slug_of(&a);
    let (b, _) = patch_ok(
        &app,
        &editor,
        &a,
        &tag,
        json!({"slug": "bridge-inquiry-report"}),
    )
    .await;
    assert_eq!(b["slug"], "bridge-inquiry-report");

    let res = get_slug(&app, &old, None).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header(&res, "location").as_deref(),
        Some("/api/v1/articles/bridge-inquiry-report")
    );
    let now = fetch(&app, "bridge-inquiry-report", None).await;
    assert_eq!(now["id"], a["id"]);
    assert_eq!(now["title"], "Bridge collapse inquiry");
}

#[tokio::test]
async fn an_unknown_slug_is_a_404_problem() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    assert_problem(
        get_slug(&app, "no-such-story", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        get_slug(&app, "no-such-story", Some(&editor)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_kazakh_article_round_trips_and_is_reachable_by_its_slug() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let title = "Қазақстан Әуе Жолдары";
    let body =
        "Әуе компаниясы жаңа бағыт ашты: Алматы — Түркістан.\n\nҰшақтар аптасына екі рет ұшады.";
    let a = create_article(
        &app,
        &editor,
        json!({"title": title, "body_markdown": body, "language": "kk", "status": "published"}),
    )
    .await;
    assert_eq!(a["slug"], "qazaqstan-aue-zholdary");
    let got = fetch(&app, "qazaqstan-aue-zholdary", None).await;
    assert_eq!(got["title"], title);
    assert_eq!(got["body_markdown"], body);
    assert_eq!(got["language"], "kk");
    assert_eq!(
        got["excerpt"],
        "Әуе компаниясы жаңа бағыт ашты: Алматы — Түркістан."
    );
}

// ---------------------------------------------------------------------------------------------
// Conditional writes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_patch_without_if_match_is_428_and_with_a_stale_one_412() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, first_tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Airport expansion", "status": "published"}),
    )
    .await;
    let (b, _) = patch_ok(
        &app,
        &editor,
        &a,
        &first_tag,
        json!({"title": "Airport expansion halted"}),
    )
    .await;
    let before = fetch(&app, &slug_of(&b), None).await;

    let change = json!({"title": "Overwritten"});
    let res = patch(&app, &a, Some(&editor), None, &change).await;
    assert_problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    let res = patch(&app, &a, Some(&editor), Some(&first_tag), &change).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    let res = patch(&app, &a, Some(&editor), Some("\"made-up\""), &change).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;

    let after = fetch(&app, &slug_of(&b), None).await;
    assert_eq!(after, before);
    assert_eq!(after["title"], "Airport expansion halted");
}

#[tokio::test]
async fn a_patch_changes_only_the_given_fields_and_null_clears() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({
            "title": "Library budget cut",
            "subtitle": "Opening hours shrink",
            "excerpt": "A hand-written summary.",
            "body_markdown": "Branches will close on Mondays.\n\nStaff are worried.",
            "cover_image_url": "https://images.example.org/library.jpg",
            "tags": ["culture"],
            "status": "published"
        }),
    )
    .await;
    // The ETag of a plain GET is good for If-Match.
    let res = get_slug(&app, &slug_of(&a), None).await;
    let tag = etag(&res);

    let (b, tag2) = patch_ok(
        &app,
        &editor,
        &a,
        &tag,
        json!({"title": "Library budget cut reversed"}),
    )
    .await;
    assert_ne!(tag2, tag, "a change gives a new ETag");
    assert_eq!(b["title"], "Library budget cut reversed");
    for key in [
        "id",
        "subtitle",
        "excerpt",
        "body_markdown",
        "body_html",
        "cover_image_url",
        "tags",
        "language",
        "status",
        "published_at",
        "comments_enabled",
        "created_at",
        "word_count",
    ] {
        assert_eq!(b[key], a[key], "{key} changed");
    }
    assert!(parse_time(&b["updated_at"]) >= parse_time(&a["updated_at"]));

    let (c, tag3) = patch_ok(
        &app,
        &editor,
        &b,
        &tag2,
        json!({"subtitle": null, "cover_image_url": null, "excerpt": null}),
    )
    .await;
    assert_ne!(tag3, tag2);
    assert_eq!(c["subtitle"], Value::Null);
    assert_eq!(c["cover_image_url"], Value::Null);
    assert_eq!(c["excerpt"], "Branches will close on Mondays.");
    assert_eq!(c["title"], "Library budget cut reversed");

    let stored = fetch(&app, &slug_of(&c), None).await;
    assert_eq!(stored, c);
}

#[tokio::test]
async fn changing_the_body_rerenders_and_recounts() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Counting words", "body_markdown": "one two three"}),
    )
    .await;
    assert_eq!(a["word_count"], 3);
    assert_eq!(a["reading_time_minutes"], 1);
    assert_eq!(a["excerpt"], "one two three");

    let long = format!(
        "Rivers flooded *several* villages overnight.\n\n{}",
        "rescue teams worked through the night ".repeat(100)
    );
    let (b, _) = patch_ok(&app, &editor, &a, &tag, json!({"body_markdown": long})).await;
    assert_eq!(b["word_count"], 5 + 600);
    assert!(
        b["reading_time_minutes"].as_i64().unwrap() > 1,
        "{}",
        b["reading_time_minutes"]
    );
    assert_eq!(b["excerpt"], "Rivers flooded several villages overnight.");
    let html = b["body_html"].as_str().unwrap();
    assert!(html.contains("<em>several</em>"), "{html}");
    assert!(!html.contains("one two three"));
}

#[tokio::test]
async fn concurrent_patches_with_the_same_etag_let_exactly_one_win() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (mut article, mut tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Election night", "status": "published"}),
    )
    .await;
    for round in 0..3 {
        let left = json!({"title": format!("Left wins round {round}")});
        let right = json!({"title": format!("Right wins round {round}")});
        let (l, r) = tokio::join!(
            patch(&app, &article, Some(&editor), Some(&tag), &left),
            patch(&app, &article, Some(&editor), Some(&tag), &right),
        );
        let statuses = (l.status(), r.status());
        let (winner, winning_title, loser) = match statuses {
            (StatusCode::OK, StatusCode::PRECONDITION_FAILED) => (l, &left["title"], r),
            (StatusCode::PRECONDITION_FAILED, StatusCode::OK) => (r, &right["title"], l),
            other => panic!("round {round}: expected one 200 and one 412, got {other:?}"),
        };
        assert_problem(loser, StatusCode::PRECONDITION_FAILED).await;
        tag = etag(&winner);
        article = winner.json().await.unwrap();
        assert_eq!(&article["title"], winning_title);
        let stored = fetch(&app, &slug_of(&article), None).await;
        assert_eq!(&stored["title"], winning_title, "round {round}");
    }
}

#[tokio::test]
async fn delete_needs_if_match_and_then_the_article_is_gone() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Factory fire", "status": "published"}),
    )
    .await;
    let (b, tag2) = patch_ok(
        &app,
        &editor,
        &a,
        &tag,
        json!({"subtitle": "No one was hurt"}),
    )
    .await;

    assert_problem(
        delete(&app, &b, Some(&editor), None).await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    assert_problem(
        delete(&app, &b, Some(&editor), Some(&tag)).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let still = fetch(&app, &slug_of(&b), None).await;
    assert_eq!(still, b);

    let res = delete(&app, &b, Some(&editor), Some(&tag2)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        get_slug(&app, &slug_of(&b), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        get_slug(&app, &slug_of(&b), Some(&editor)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn moderators_and_anonymous_users_cannot_change_or_delete_articles() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Strike ends", "status": "published"}),
    )
    .await;
    let change = json!({"title": "Vandalised"});

    let res = patch(&app, &a, Some(&moderator), Some(&tag), &change).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = patch(&app, &a, None, Some(&tag), &change).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    assert_problem(
        delete(&app, &a, Some(&moderator), Some(&tag)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(
        delete(&app, &a, None, Some(&tag)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let still = fetch(&app, &slug_of(&a), None).await;
    assert_eq!(still, a);
    // The original ETag is still current.
    patch_ok(
        &app,
        &editor,
        &a,
        &tag,
        json!({"subtitle": "Workers return on Monday"}),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rendered_html_is_sanitised() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let attacks = [
        "Intro.\n\n<script>alert(1)</script>\n\nOutro.",
        "Photo: <img src=x onerror=alert(1)>",
        "A [x](javascript:alert(1)) link.",
        "Raw <a href=\"javascript:alert(1)\">y</a> anchor.",
        "<p style=\"color:red\" onclick=\"x()\">z</p>",
        "Payload [d](data:text/html;base64,PHNjcmlwdD4=) here.",
    ];
    let all = attacks.join("\n\n");
    for body in attacks.iter().copied().chain([all.as_str()]) {
        let a = create_article(
            &app,
            &editor,
            json!({"title": "Sanitiser check", "body_markdown": body}),
        )
        .await;
        let html = a["body_html"].as_str().unwrap().to_lowercase();
        for bad in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "data:",
            "style=",
        ] {
            assert!(
                !html.contains(bad),
                "{bad:?} survives in {html:?} (from {body:?})"
            );
        }
        // The source is kept as written.
        assert_eq!(a["body_markdown"], body);
    }
}

#[tokio::test]
async fn tables_and_strikethrough_render() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Results", "body_markdown": "| a | b |\n|---|---|\n| 1 | 2 |\n\nTurnout was ~~low~~ high."}),
    )
    .await;
    let html = a["body_html"].as_str().unwrap();
    assert!(html.contains("<table"), "{html}");
    assert!(html.contains("<del>low</del>"), "{html}");
}

#[tokio::test]
async fn counts_and_the_automatic_excerpt_come_from_the_body() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = create_article(
        &app,
        &editor,
        json!({"title": "Three", "body_markdown": "one two three"}),
    )
    .await;
    assert_eq!(
        (a["word_count"].as_i64(), a["reading_time_minutes"].as_i64()),
        (Some(3), Some(1))
    );

    let a = create_article(
        &app,
        &editor,
        json!({"title": "Heading", "body_markdown": "# Heading\n\nFirst paragraph here.\n\nSecond."}),
    )
    .await;
    assert_eq!(a["excerpt"], "First paragraph here.");

    let a = create_article(
        &app,
        &editor,
        json!({"title": "Plain", "body_markdown": "## Sub\n\nFirst *styled* paragraph with a [link](https://example.org).\n\nMore."}),
    )
    .await;
    assert_eq!(a["excerpt"], "First styled paragraph with a link.");

    let a = create_article(
        &app,
        &editor,
        json!({"title": "Own", "excerpt": "Chosen by hand.", "body_markdown": "Body text."}),
    )
    .await;
    assert_eq!(a["excerpt"], "Chosen by hand.");
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_shows_public_summaries_newest_first() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for (title, hours) in [
        ("Oldest story", 30),
        ("Newest story", 1),
        ("Middle story", 10),
    ] {
        create_article(
            &app,
            &editor,
            published(title, &at(-Duration::hours(hours))),
        )
        .await;
    }
    create_article(
        &app,
        &editor,
        json!({"title": "Earlier scheduled story", "status": "scheduled", "published_at": at(-Duration::hours(5))}),
    )
    .await;
    create_article(&app, &editor, json!({"title": "Draft story"})).await;
    create_article(&app, &editor, json!({"title": "Archived story", "status": "archived", "published_at": at(-Duration::hours(3))})).await;
    create_article(
        &app,
        &editor,
        json!({"title": "Future story", "status": "scheduled", "published_at": at(Duration::days(1))}),
    )
    .await;

    let res = app.get(ARTICLES, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "link").is_none());
    let page: Value = res.json().await.unwrap();
    assert_eq!(
        slugs(&page),
        vec![
            "newest-story",
            "earlier-scheduled-story",
            "middle-story",
            "oldest-story"
        ]
    );
    assert_eq!(page["page"]["limit"], 20);
    assert_eq!(page["page"]["next_cursor"], Value::Null);
    for item in page["data"].as_array().unwrap() {
        assert!(
            item.get("body_markdown").is_none() && item.get("body_html").is_none(),
            "{item}"
        );
        assert!(item["title"].is_string() && item["id"].is_i64(), "{item}");
        parse_time(&item["published_at"]);
    }

    let oldest = list(&app, "?order=oldest", None).await;
    assert_eq!(
        slugs(&oldest),
        vec![
            "oldest-story",
            "middle-story",
            "earlier-scheduled-story",
            "newest-story"
        ]
    );
    let newest = list(&app, "?order=newest", None).await;
    assert_eq!(slugs(&newest), slugs(&page));
}

#[tokio::test]
async fn bad_list_parameters_are_400_problems() {
    let app = spawn_app().await;
    for (query, field) in [
        ("?limit=0", Some("limit")),
        ("?limit=101", Some("limit")),
        ("?cursor=garbage", Some("cursor")),
        ("?order=sideways", None),
    ] {
        let res = app.get(&format!("{ARTICLES}{query}"), None).await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        if let Some(field) = field {
            assert!(
                error_fields(&p).contains(&field.to_string()),
                "{query}: {p}"
            );
        }
    }
    for ok in ["?limit=1", "?limit=100"] {
        let page = list(&app, ok, None).await;
        assert_eq!(page["data"], json!([]));
    }
}

#[tokio::test]
async fn the_list_pages_with_cursors_and_link_headers() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for i in 0..5 {
        create_article(
            &app,
            &editor,
            published(&format!("Story number {i}"), &at(-Duration::hours(i + 1))),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = format!("{ARTICLES}?limit=2");
    let mut pages = 0;
    loop {
        let res = app.get(&path, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let link = header(&res, "link");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["page"]["limit"], 2);
        seen.extend(slugs(&body));
        pages += 1;
        match body["page"]["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a Link header when there is a next page");
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                assert!(link.contains(&format!("cursor={cursor}")), "{link}");
                path = format!("{ARTICLES}?limit=2&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..5).map(|i| format!("story-number-{i}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_cursor_walk_neither_repeats_nor_loses_rows_while_articles_are_added() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut initial = HashSet::new();
    for i in 0..25 {
        let a = create_article(
            &app,
            &editor,
            published(
                &format!("Archive report {i}"),
                &at(-Duration::minutes(10 * (i + 1))),
            ),
        )
        .await;
        initial.insert(a["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut path = format!("{ARTICLES}?limit=7");
    let mut added = 0;
    loop {
        let page = list(&app, &path[ARTICLES.len()..], None).await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_i64().unwrap()),
        );
        // Newer articles appear between page requests.
        for _ in 0..2 {
            create_article(
                &app,
                &editor,
                json!({"title": format!("Breaking update {added}"), "status": "published"}),
            )
            .await;
            added += 1;
        }
        match page["page"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("{ARTICLES}?limit=7&cursor={cursor}"),
            None => break,
        }
        assert!(added < 40, "the walk does not end");
    }
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates in {seen:?}");
    for id in &initial {
        assert!(unique.contains(id), "article {id} was skipped: {seen:?}");
    }
    assert_eq!(seen.len(), 25, "{seen:?}");
}

#[tokio::test]
async fn the_list_filters_by_tag_author_and_publication_dates() {
    let app = spawn_app().await;
    let first = app.token_for("first", Role::Editor).await;
    let second = app.token_for("second", Role::Editor).await;
    let mut a = published("Solar farm opens", &at(-Duration::hours(72)));
    a["tags"] = json!(["energy", "regions"]);
    let mut b = published("Wind tender delayed", &at(-Duration::hours(48)));
    b["tags"] = json!(["energy-policy"]);
    let mut c = published("Cup final tonight", &at(-Duration::hours(24)));
    c["tags"] = json!(["sport"]);
    let a = create_article(&app, &first, a).await;
    let b = create_article(&app, &second, b).await;
    create_article(&app, &first, c).await;
    create_article(
        &app,
        &first,
        json!({"title": "Draft about energy", "tags": ["energy"]}),
    )
    .await;

    assert_eq!(
        slugs(&list(&app, "?tag=energy", None).await),
        vec!["solar-farm-opens"]
    );
    assert_eq!(
        slugs(&list(&app, "?tag=sport", None).await),
        vec!["cup-final-tonight"]
    );
    assert_eq!(
        slugs(&list(&app, "?tag=nothing", None).await),
        Vec::<String>::new()
    );

    let second_id = &b["author"]["id"];
    assert_eq!(
        slugs(&list(&app, &format!("?author={second_id}"), None).await),
        vec!["wind-tender-delayed"]
    );
    let first_id = &a["author"]["id"];
    assert_ne!(first_id, second_id);
    let mine = list(&app, &format!("?author={first_id}"), None).await;
    assert_eq!(slugs(&mine), vec!["cup-final-tonight", "solar-farm-opens"]);

    let after = at(-Duration::hours(60));
    let before = at(-Duration::hours(36));
    assert_eq!(
        slugs(&list(&app, &format!("?published_after={after}"), None).await),
        vec!["cup-final-tonight", "wind-tender-delayed"]
    );
    assert_eq!(
        slugs(&list(&app, &format!("?published_before={before}"), None).await),
        vec!["wind-tender-delayed", "solar-farm-opens"]
    );
    assert_eq!(
        slugs(
            &list(
                &app,
                &format!("?published_after={after}&published_before={before}"),
                None
            )
            .await
        ),
        vec!["wind-tender-delayed"]
    );
    assert_eq!(
        slugs(&list(&app, &format!("?tag=energy&published_after={after}"), None).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn full_text_search_ranks_title_matches_above_body_mentions() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut title_hit = published("Volcano erupts near the capital", &at(-Duration::hours(20)));
    title_hit["body_markdown"] = json!("Ash clouds closed the airport for a day.");
    let mut body_hit = published("Tourism season summary", &at(-Duration::hours(1)));
    body_hit["body_markdown"] = json!(
        "Hotels reported record bookings this summer. Guides said hikers kept asking about the \
         old volcano trail, while most visitors stayed on the beaches and in the museums."
    );
    let mut subtitle_hit = published("Geologists meet", &at(-Duration::hours(5)));
    subtitle_hit["subtitle"] = json!("A conference about the volcano and its neighbours");
    let mut miss = published("Harvest festival", &at(-Duration::hours(2)));
    miss["body_markdown"] = json!("Apples and pears filled the market square.");
    for body in [title_hit, body_hit, subtitle_hit, miss] {
        create_article(&app, &editor, body).await;
    }
    create_article(
        &app,
        &editor,
        json!({"title": "Volcano draft", "body_markdown": "volcano volcano"}),
    )
    .await;

    let found = slugs(&list(&app, "?q=volcano", None).await);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.contains(&"geologists-meet".to_string()), "{found:?}");
    assert!(
        !found.contains(&"harvest-festival".to_string()),
        "{found:?}"
    );
    assert!(!found.contains(&"volcano-draft".to_string()), "{found:?}");
    let title_pos = found
        .iter()
        .position(|s| s == "volcano-erupts-near-the-capital");
    let body_pos = found.iter().position(|s| s == "tourism-season-summary");
    assert!(
        matches!((title_pos, body_pos), (Some(t), Some(b)) if t < b),
        "the title match must rank above the body mention: {found:?}"
    );
    assert_eq!(
        slugs(&list(&app, "?q=apples", None).await),
        vec!["harvest-festival"]
    );
    assert_eq!(
        slugs(&list(&app, "?q=zeppelin", None).await),
        Vec::<String>::new()
    );
}

/// Paging through a one-word search gives the order of one page holding every match, the
/// articles with the word in a heading first, whether a page comes from the headings alone
/// (PostgreSQL reads those first when they fill it) or from the whole ranking.
#[tokio::test]
async fn search_pages_keep_the_order_of_the_whole_ranking() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut n = 0;
    let mut add = |title: String, subtitle: Option<&str>, body: String| {
        n += 1;
        let mut a = published(&title, &at(-Duration::hours(n)));
        a["subtitle"] = json!(subtitle);
        a["body_markdown"] = json!(body);
        a
    };
    let mut articles = Vec::new();
    for i in 0..5 {
        articles.push(add(
            format!("Lighthouse keeper {i}"),
            None,
            "A quiet night.".into(),
        ));
    }
    for i in 0..2 {
        articles.push(add(
            format!("Coastal notes {i}"),
            Some("Where the lighthouse stands"),
            "Cliffs and birds.".into(),
        ));
    }
    for i in 0..4 {
        let body = "The old lighthouse was repainted. ".repeat(10 * (i + 1));
        articles.push(add(format!("Weather report {i}"), None, body));
    }
    articles.push(add("Market day".into(), None, "Fish and bread.".into()));
    for a in articles {
        create_article(&app, &editor, a).await;
    }

    let all = slugs(&list(&app, "?q=lighthouse&limit=50", None).await);
    assert_eq!(all.len(), 11, "{all:?}");
    let (headings, bodies) = all.split_at(7);
    assert!(
        headings.iter().all(|s| !s.starts_with("weather-report"))
            && bodies.iter().all(|s| s.starts_with("weather-report")),
        "heading matches first: {all:?}"
    );
    for limit in [2, 3, 5] {
        let mut paged = Vec::new();
        let mut query = format!("?q=lighthouse&limit={limit}");
        loop {
            let page = list(&app, &query, None).await;
            paged.extend(slugs(&page));
            match page["page"]["next_cursor"].as_str() {
                Some(cursor) => query = format!("?q=lighthouse&limit={limit}&cursor={cursor}"),
                None => break,
            }
            assert!(paged.len() <= all.len(), "{paged:?}");
        }
        assert_eq!(paged, all, "pages of {limit}");
    }
}

#[tokio::test]
async fn the_status_filter_is_for_editors_only() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    create_article(
        &app,
        &editor,
        json!({"title": "Public one", "status": "published"}),
    )
    .await;
    create_article(&app, &editor, json!({"title": "Unfinished one"})).await;
    create_article(
        &app,
        &editor,
        json!({"title": "Shelved one", "status": "archived"}),
    )
    .await;
    create_article(
        &app,
        &editor,
        json!({"title": "Coming one", "status": "scheduled", "published_at": at(Duration::days(3))}),
    )
    .await;

    assert_problem(
        app.get(&format!("{ARTICLES}?status=draft"), None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_problem(
        app.get(&format!("{ARTICLES}?status=draft"), Some(&moderator))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let res = app
        .get(&format!("{ARTICLES}?status=draft"), Some(&editor))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "cache-control").as_deref(),
        Some(PRIVATE_CACHE)
    );
    let drafts: Value = res.json().await.unwrap();
    assert_eq!(slugs(&drafts), vec!["unfinished-one"]);
    assert_eq!(
        slugs(&list(&app, "?status=archived", Some(&editor)).await),
        vec!["shelved-one"]
    );
    assert_eq!(
        slugs(&list(&app, "?status=scheduled", Some(&editor)).await),
        vec!["coming-one"]
    );
    assert_eq!(
        slugs(&list(&app, "?status=published", Some(&editor)).await),
        vec!["public-one"]
    );
    // Without `status`, the list stays the public one.
    assert_eq!(slugs(&list(&app, "", None).await), vec!["public-one"]);
}

#[tokio::test]
async fn an_unknown_series_filter_gives_an_empty_list() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    create_article(
        &app,
        &editor,
        json!({"title": "Standalone", "status": "published"}),
    )
    .await;
    let page = list(&app, "?series=no-such-series", None).await;
    assert_eq!(page["data"], json!([]));
    assert_eq!(page["page"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_public_list_has_an_etag_that_changes_with_its_content() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    create_article(
        &app,
        &editor,
        json!({"title": "First edition", "status": "published"}),
    )
    .await;
    let res = app.get(ARTICLES, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = header(&res, "cache-control").unwrap_or_default();
    assert!(cache.starts_with("public"), "{cache}");
    let tag = etag(&res);
    let conditional = |t: String| {
        app.request(Method::GET, ARTICLES)
            .header("If-None-Match", t)
            .send()
    };
    assert_eq!(
        conditional(tag.clone()).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );

    create_article(
        &app,
        &editor,
        json!({"title": "Second edition", "status": "published"}),
    )
    .await;
    let res = conditional(tag.clone()).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a new article must change the list's ETag"
    );
    assert_ne!(etag(&res), tag);
}

// ---------------------------------------------------------------------------------------------
// Revisions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_write_is_kept_as_a_revision_newest_first() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let admin = app.token_for("root", Role::Admin).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let (a, tag) = create_tagged(
        &app,
        &editor,
        json!({"title": "Draft headline", "body_markdown": "Version one."}),
    )
    .await;
    let (b, tag) = patch_ok(&app, &editor, &a, &tag, json!({"title": "Better headline"})).await;
    patch_ok(
        &app,
        &admin,
        &b,
        &tag,
        json!({"body_markdown": "Version three.", "status": "published"}),
    )
    .await;

    let path = format!("{}/revisions", article_path(&a["id"]));
    assert_problem(app.get(&path, None).await, StatusCode::UNAUTHORIZED).await;
    assert_problem(
        app.get(&path, Some(&moderator)).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let res = app.get(&path, Some(&editor)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    assert!(page["page"].is_object(), "{page}");
    let revs = page["data"].as_array().expect("data array");
    let numbers: Vec<i64> = revs.iter().map(|r| r["rev"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    for r in revs {
        for key in [
            "rev",
            "title",
            "subtitle",
            "excerpt",
            "body_markdown",
            "status",
            "slug",
            "created_at",
        ] {
            assert!(r.get(key).is_some(), "revision lacks {key:?}: {r}");
        }
        assert!(
            r["editor"]["id"].is_i64() && r["editor"]["display_name"].is_string(),
            "{r}"
        );
        parse_time(&r["created_at"]);
    }
    assert_eq!(revs[2]["title"], "Draft headline");
    assert_eq!(revs[2]["body_markdown"], "Version one.");
    assert_eq!(revs[2]["status"], "draft");
    assert_eq!(revs[2]["editor"]["display_name"], "ed Person");
    assert_eq!(revs[1]["title"], "Better headline");
    assert_eq!(revs[0]["body_markdown"], "Version three.");
    assert_eq!(revs[0]["status"], "published");
    assert_eq!(revs[0]["editor"]["display_name"], "root Person");
}

#[tokio::test]
async fn restoring_a_revision_brings_its_content_back_as_a_new_revision() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (a, first_tag) = create_tagged(
        &app,
        &editor,
        json!({
            "title": "Original headline",
            "subtitle": "Original subtitle",
            "excerpt": "Original excerpt.",
            "body_markdown": "Original body.",
            "tags": ["original"],
            "cover_image_url": "https://images.example.org/original.jpg",
            "status": "published"
        }),
    )
    .await;
    let (b, tag) = patch_ok(
        &app,
        &editor,
        &a,
        &first_tag,
        json!({
            "title": "Rewritten headline",
            "subtitle": null,
            "excerpt": "Rewritten excerpt.",
            "body_markdown": "Rewritten body.",
            "tags": ["rewritten"],
            "cover_image_url": "https://images.example.org/rewritten.jpg"
        }),
    )
    .await;
    assert_eq!(b["title"], "Rewritten headline");
    let (b, tag) = patch_ok(
        &app,
        &editor,
        &b,
        &tag,
        json!({"title": "Rewritten headline, corrected"}),
    )
    .await;

    let restore = format!("{}/revisions/1/restore", article_path(&a["id"]));
    let res = write_with(&app, Method::POST, &restore, Some(&editor), None, None).await;
    assert_problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    let res = write_with(
        &app,
        Method::POST,
        &restore,
        Some(&editor),
        Some(&first_tag),
        None,
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(fetch(&app, &slug_of(&b), None).await, b);

    let missing = format!("{}/revisions/99/restore", article_path(&a["id"]));
    let res = write_with(
        &app,
        Method::POST,
        &missing,
        Some(&editor),
        Some(&tag),
        None,
    )
    .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    let res = write_with(
        &app,
        Method::POST,
        &restore,
        Some(&editor),
        Some(&tag),
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(etag(&res), tag);
    let restored: Value = res.json().await.unwrap();
    for key in [
        "title",
        "subtitle",
        "excerpt",
        "body_markdown",
        "body_html",
        "tags",
        "cover_image_url",
    ] {
        assert_eq!(restored[key], a[key], "{key} was not restored");
    }
    assert_eq!(restored["id"], a["id"]);
    assert_eq!(fetch(&app, &slug_of(&restored), None).await, restored);

    let revs: Value = app
        .get(
            &format!("{}/revisions", article_path(&a["id"])),
            Some(&editor),
        )
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<i64> = revs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rev"].as_i64().unwrap())
        .collect();
    // create (1), two PATCHes (2, 3), the restore (4)
    assert_eq!(numbers, vec![4, 3, 2, 1]);
    assert_eq!(revs["data"][0]["title"], "Original headline");
    assert_eq!(revs["data"][0]["body_markdown"], "Original body.");
}

#[tokio::test]
async fn the_author_filter_takes_an_id_and_never_a_login_name() {
    let app = spawn_app().await;
    let editor = app.token_for("night-desk", Role::Editor).await;
    let res = app
        .send_json(
            Method::POST,
            ARTICLES,
            Some(&editor),
            &json!({"title": "Tram line extended", "body_markdown": "Two stops more.",
                    "status": "published"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let article: Value = res.json().await.unwrap();
    let by_id = list(&app, &format!("?author={}", article["author"]["id"]), None).await;
    assert_eq!(slugs(&by_id), vec!["tram-line-extended"]);

    // A login name that exists and one that does not get the same refusal: the filter cannot
    // tell anyone which accounts exist.
    let mut answers = Vec::new();
    for name in ["night-desk", "no-such-login"] {
        let res = app.get(&format!("{ARTICLES}?author={name}"), None).await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_eq!(error_fields(&problem), vec!["author".to_string()]);
        answers.push(problem["errors"].clone());
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn a_draft_changes_nothing_a_reader_sees_of_a_search_and_cursors_are_sealed() {
    use base64::Engine;
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for (title, body) in [
        (
            "Zebra crossing repainted",
            "The zebra crossing by the school is white again.",
        ),
        (
            "Night buses return",
            "A zebra mural marks the new night bus stop.",
        ),
        (
            "Market hall roof",
            "Zebra-striped awnings shade the stalls and the zebra logo.",
        ),
    ] {
        create_article(
            &app,
            &editor,
            json!({"title": title, "body_markdown": body, "status": "published"}),
        )
        .await;
    }
    let before = list(&app, "?q=zebra&limit=1", None).await;
    let cursor = before["page"]["next_cursor"].as_str().unwrap().to_string();

    // The cursor tells a reader nothing: not the relevance, not the id.
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cursor)
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("\"r\"") && !text.contains("\"id\""),
        "{text}"
    );

    // An editor saves drafts full of the word, and archives nothing: a reader's search is the
    // same, byte for byte, cursor included.
    for n in 0..3 {
        create_article(
            &app,
            &editor,
            json!({"title": format!("Zebra zebra draft {n}"),
                   "body_markdown": "zebra zebra zebra zebra zebra zebra zebra zebra",
                   "status": "draft"}),
        )
        .await;
    }
    let after = list(&app, "?q=zebra&limit=1", None).await;
    assert_eq!(after, before);
    let second = list(&app, &format!("?q=zebra&limit=1&cursor={cursor}"), None).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);

    // Editors still find the drafts.
    let drafts = list(&app, "?q=zebra&status=draft&limit=10", Some(&editor)).await;
    assert_eq!(drafts["data"].as_array().unwrap().len(), 3);

    // A cursor made by hand, as the old ones were, is refused.
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"r":0.5,"id":2}"#);
    let res = app
        .get(&format!("{ARTICLES}?q=zebra&cursor={forged}"), None)
        .await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(error_fields(&problem), vec!["cursor".to_string()]);
}
