//! The Series resource: creation and slugs, the list and one series in its public and
//! editorial views, conditional writes, ordering the member articles, the navigation every
//! member article carries, and how article deletes and status changes show through.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, header, id, slug, spawn_app, TestApp};

const SERIES: &str = "/api/v1/series";
const ARTICLES: &str = "/api/v1/articles";
const PRIVATE_CACHE: &str = "private, no-store";

// ---------------------------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------------------------

/// An RFC 3339 UTC timestamp `offset` away from now.
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

/// Asserts `status`, printing the body when it differs, and returns `(body, etag if any)`.
async fn expect(res: Response, status: StatusCode, what: &str) -> (Value, Option<String>) {
    let got = res.status();
    if got != status {
        let text = res.text().await.unwrap_or_default();
        panic!("{what}: expected {status}, got {got}: {text}");
    }
    let tag = header(&res, "etag");
    let body = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Value::Null
    } else {
        res.json().await.expect("a JSON body")
    };
    (body, tag)
}

async fn send(
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

/// A GET carrying `If-None-Match: tag`, anonymous.
async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> Response {
    app.request(Method::GET, path)
        .header("If-None-Match", tag)
        .send()
        .await
        .expect("request sent")
}

// Articles -------------------------------------------------------------------------------------

async fn new_article(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .send_json(Method::POST, ARTICLES, Some(token), &body)
        .await;
    expect(res, StatusCode::CREATED, &format!("POST article {body}"))
        .await
        .0
}

/// A published article, published an hour ago.
async fn published(app: &TestApp, token: &str, title: &str) -> Value {
    new_article(
        app,
        token,
        json!({"title": title, "status": "published", "published_at": at(-Duration::hours(1)),
               "excerpt": format!("Short summary: {title}.")}),
    )
    .await
}

async fn draft(app: &TestApp, token: &str, title: &str) -> Value {
    new_article(app, token, json!({"title": title})).await
}

fn article_path(article: &Value) -> String {
    format!("{ARTICLES}/{}", slug(article))
}

/// GETs an article by slug (as `token`, or anonymously), asserts 200, returns `(body, etag)`.
async fn article_tagged(app: &TestApp, article: &Value, token: Option<&str>) -> (Value, String) {
    let res = app.get(&article_path(article), token).await;
    let (body, tag) = expect(res, StatusCode::OK, &format!("GET {}", slug(article))).await;
    (body, tag.expect("an ETag on the article"))
}

async fn read_article(app: &TestApp, article: &Value, token: Option<&str>) -> Value {
    article_tagged(app, article, token).await.0
}

/// PATCHes an article with its current (editorial) ETag and returns the response body.
async fn patch_article(app: &TestApp, editor: &str, article: &Value, body: Value) -> Value {
    let (_, tag) = article_tagged(app, article, Some(editor)).await;
    let path = format!("{ARTICLES}/{}", id(article));
    let res = send(
        app,
        Method::PATCH,
        &path,
        Some(editor),
        Some(&tag),
        Some(&body),
    )
    .await;
    expect(res, StatusCode::OK, &format!("PATCH article {body}"))
        .await
        .0
}

/// The `series[]` entry of `article` for `series`, which must be there.
fn entry<'a>(article: &'a Value, series: &Value) -> &'a Value {
    article["series"]
        .as_array()
        .unwrap_or_else(|| panic!("no series array in {article}"))
        .iter()
        .find(|e| e["id"] == series["id"])
        .unwrap_or_else(|| panic!("{} has no entry for series {}", article, series["id"]))
}

fn neighbour(n: Option<&Value>) -> Value {
    n.map_or(
        Value::Null,
        |a| json!({"slug": a["slug"], "title": a["title"]}),
    )
}

/// Asserts the navigation `article` shows for `series`.
fn assert_nav(
    article: &Value,
    series: &Value,
    position: i64,
    total: i64,
    previous: Option<&Value>,
    next: Option<&Value>,
) {
    let e = entry(article, series);
    let what = format!("navigation of {} in {}", article["slug"], series["slug"]);
    assert_eq!(e["slug"], series["slug"], "{what}");
    assert_eq!(e["position"], position, "{what}: {e}");
    assert_eq!(e["total"], total, "{what}: {e}");
    assert_eq!(e["previous"], neighbour(previous), "{what}: previous");
    assert_eq!(e["next"], neighbour(next), "{what}: next");
}

// Series ---------------------------------------------------------------------------------------

async fn post_series(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    app.send_json(Method::POST, SERIES, token, body).await
}

/// Creates a series, asserts 201 and returns `(series, etag)`.
async fn series_tagged(app: &TestApp, token: &str, body: Value) -> (Value, String) {
    let res = post_series(app, Some(token), &body).await;
    let (s, tag) = expect(res, StatusCode::CREATED, &format!("POST series {body}")).await;
    (s, tag.expect("an ETag on the new series"))
}

async fn new_series(app: &TestApp, token: &str, title: &str) -> Value {
    series_tagged(app, token, json!({"title": title})).await.0
}

fn series_path(series: &Value) -> String {
    format!("{SERIES}/{}", id(series))
}

fn members_path(series: &Value) -> String {
    format!("{SERIES}/{}/articles", id(series))
}

async fn get_series(app: &TestApp, slug: &str, token: Option<&str>) -> Response {
    app.get(&format!("{SERIES}/{slug}"), token).await
}

/// GETs a series by its current slug, asserts 200 and returns `(view, etag)`.
async fn view_tagged(app: &TestApp, series: &Value, token: Option<&str>) -> (Value, String) {
    let s = slug(series);
    let res = get_series(app, &s, token).await;
    let (body, tag) = expect(res, StatusCode::OK, &format!("GET series {s}")).await;
    (body, tag.expect("an ETag on the series"))
}

async fn view(app: &TestApp, series: &Value, token: Option<&str>) -> Value {
    view_tagged(app, series, token).await.0
}

async fn put_order(
    app: &TestApp,
    token: &str,
    series: &Value,
    ids: &[i64],
    if_match: Option<&str>,
) -> Response {
    let body = json!({ "article_ids": ids });
    send(
        app,
        Method::PUT,
        &members_path(series),
        Some(token),
        if_match,
        Some(&body),
    )
    .await
}

/// Sets the order without `If-Match`, asserts 200 and returns the editorial view.
async fn set_order(app: &TestApp, token: &str, series: &Value, articles: &[&Value]) -> Value {
    let ids: Vec<i64> = articles.iter().map(|a| id(a)).collect();
    let res = put_order(app, token, series, &ids, None).await;
    expect(res, StatusCode::OK, &format!("PUT order {ids:?}"))
        .await
        .0
}

async fn add_member(app: &TestApp, token: &str, series: &Value, body: Value) -> Response {
    send(
        app,
        Method::POST,
        &members_path(series),
        Some(token),
        None,
        Some(&body),
    )
    .await
}

async fn remove_member(app: &TestApp, token: &str, series: &Value, article_id: i64) -> Response {
    let path = format!("{}/{article_id}", members_path(series));
    send(app, Method::DELETE, &path, Some(token), None, None).await
}

async fn patch_series(
    app: &TestApp,
    token: &str,
    series: &Value,
    if_match: Option<&str>,
    body: &Value,
) -> Response {
    send(
        app,
        Method::PATCH,
        &series_path(series),
        Some(token),
        if_match,
        Some(body),
    )
    .await
}

/// PATCHes a series with `tag`, asserts 200 and returns `(view, new etag)`.
async fn patch_series_ok(
    app: &TestApp,
    token: &str,
    series: &Value,
    tag: &str,
    body: Value,
) -> (Value, String) {
    let res = patch_series(app, token, series, Some(tag), &body).await;
    let (s, tag) = expect(res, StatusCode::OK, &format!("PATCH series {body}")).await;
    (s, tag.expect("an ETag on the patched series"))
}

/// The member ids of a series view, in the order given.
fn member_ids(view: &Value) -> Vec<i64> {
    view["articles"]
        .as_array()
        .unwrap_or_else(|| panic!("no articles array in {view}"))
        .iter()
        .map(id)
        .collect()
}

fn positions(view: &Value) -> Vec<i64> {
    view["articles"]
        .as_array()
        .unwrap_or_else(|| panic!("no articles array in {view}"))
        .iter()
        .map(|a| a["position"].as_i64().expect("integer position"))
        .collect()
}

fn ids_of(articles: &[&Value]) -> Vec<i64> {
    articles.iter().map(|a| id(a)).collect()
}

fn one_to(n: i64) -> Vec<i64> {
    (1..=n).collect()
}

/// Asserts a view lists exactly `articles`, in order, numbered 1..n, with a matching count.
fn assert_members(view: &Value, articles: &[&Value]) {
    assert_eq!(member_ids(view), ids_of(articles), "members of {view}");
    let n = articles.len() as i64;
    assert_eq!(positions(view), one_to(n), "positions of {view}");
    assert_eq!(view["article_count"], n, "article_count of {view}");
}

async fn list_series(app: &TestApp, query: &str) -> Value {
    let res = app.get(&format!("{SERIES}{query}"), None).await;
    expect(res, StatusCode::OK, &format!("GET {SERIES}{query}"))
        .await
        .0
}

fn slugs(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array in {page}"))
        .iter()
        .map(slug)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_editor_creates_a_series_and_reads_it_back() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let body = json!({
        "title": "Flooding on the river road",
        "description": "Our reporting on the spring floods along the river road."
    });
    let res = post_series(&app, Some(&editor), &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = header(&res, "location").expect("a Location header");
    etag(&res);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["slug"], "flooding-on-the-river-road");
    assert_eq!(location, format!("{SERIES}/flooding-on-the-river-road"));
    for key in [
        "id",
        "slug",
        "title",
        "description",
        "created_at",
        "updated_at",
        "article_count",
        "articles",
    ] {
        assert!(
            created.get(key).is_some(),
            "the series lacks {key:?}: {created}"
        );
    }
    assert!(created["id"].is_i64());
    assert_eq!(created["title"], body["title"]);
    assert_eq!(created["description"], body["description"]);
    assert_eq!(created["article_count"], 0);
    assert_eq!(created["articles"], json!([]));
    parse_time(&created["created_at"]);
    parse_time(&created["updated_at"]);

    let res = app.get(&location, None).await;
    let (fetched, tag) = expect(res, StatusCode::OK, "GET the new series").await;
    assert!(tag.is_some(), "a public series has an ETag");
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn a_series_without_a_description_has_a_null_one() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = new_series(&app, &editor, "Night bus trial").await;
    assert_eq!(a["description"], Value::Null);
    let b = series_tagged(
        &app,
        &editor,
        json!({"title": "Library hours", "description": null}),
    )
    .await
    .0;
    assert_eq!(b["description"], Value::Null);
    assert_eq!(view(&app, &b, None).await["description"], Value::Null);
}

#[tokio::test]
async fn only_editors_and_admins_create_series() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let admin = app.token_for("root", Role::Admin).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let body = json!({"title": "Market square renovation"});

    let res = post_series(&app, Some(&moderator), &body).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = post_series(&app, None, &body).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = post_series(&app, Some("not-a-token"), &body).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    let a = series_tagged(&app, &editor, body.clone()).await.0;
    let b = series_tagged(&app, &admin, body).await.0;
    assert_eq!(slug(&a), "market-square-renovation");
    // Only the two successful creations exist.
    assert_eq!(slug(&b), "market-square-renovation-2");
    let page = list_series(&app, "").await;
    assert_eq!(
        slugs(&page),
        vec!["market-square-renovation-2", "market-square-renovation"]
    );
}

// ---------------------------------------------------------------------------------------------
// Slugs and validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn series_slugs_are_made_from_titles_in_any_script() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for (title, expected) in [
        ("Мост на реке", "most-na-reke"),
        (
            "Café owners’ “summer” petition",
            "cafe-owners-summer-petition",
        ),
    ] {
        let s = new_series(&app, &editor, title).await;
        assert_eq!(s["slug"], expected, "slug of {title:?}");
        assert_eq!(s["title"], title);
        let fetched = view(&app, &s, None).await;
        assert_eq!(fetched["id"], s["id"]);
    }
}

#[tokio::test]
async fn the_same_series_title_gets_numbered_slugs() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(slug(
            &new_series(&app, &editor, "School roof repairs").await,
        ));
    }
    assert_eq!(
        got,
        vec![
            "school-roof-repairs",
            "school-roof-repairs-2",
            "school-roof-repairs-3"
        ]
    );
    let mut ids = Vec::new();
    for s in &got {
        let res = get_series(&app, s, None).await;
        let (v, _) = expect(res, StatusCode::OK, s).await;
        assert_eq!(&slug(&v), s);
        ids.push(id(&v));
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn a_generated_series_slug_avoids_slugs_other_series_used_to_have() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, tag) = series_tagged(&app, &editor, json!({"title": "Tram works"})).await;
    patch_series_ok(
        &app,
        &editor,
        &s,
        &tag,
        json!({"slug": "tram-works-phase-one"}),
    )
    .await;
    let again = new_series(&app, &editor, "Tram works").await;
    assert_eq!(again["slug"], "tram-works-2");
    // The old slug still leads to the first series.
    let res = get_series(&app, "tram-works", None).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
}

#[tokio::test]
async fn an_explicit_series_slug_is_used_and_must_be_well_formed() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let s = series_tagged(
        &app,
        &editor,
        json!({"title": "Harbour dredging", "slug": "harbour-2025-dredging"}),
    )
    .await
    .0;
    assert_eq!(s["slug"], "harbour-2025-dredging");
    view(&app, &s, None).await;

    let longest = format!("{}-{}", "a".repeat(60), "b".repeat(59));
    assert_eq!(longest.len(), 120);
    let s = series_tagged(&app, &editor, json!({"title": "Long one", "slug": longest}))
        .await
        .0;
    assert_eq!(s["slug"], longest.as_str());

    let too_long = "c".repeat(121);
    for bad in [
        "Bad Slug",
        "UPPER-case",
        "-leading",
        "trailing-",
        "double--hyphen",
        "under_score",
        "most-на-reke",
        "",
        too_long.as_str(),
    ] {
        let res = post_series(
            &app,
            Some(&editor),
            &json!({"title": "Fine title", "slug": bad}),
        )
        .await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["slug"], "slug {bad:?}");
    }
    // None of the refused ones was created.
    assert_eq!(
        list_series(&app, "").await["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_explicit_series_slug_another_series_has_or_had_is_a_409() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, tag) = series_tagged(
        &app,
        &editor,
        json!({"title": "Water prices", "slug": "water-prices"}),
    )
    .await;

    let res = post_series(
        &app,
        Some(&editor),
        &json!({"title": "Other", "slug": "water-prices"}),
    )
    .await;
    let p = assert_problem(res, StatusCode::CONFLICT).await;
    assert_eq!(error_fields(&p), vec!["slug"]);

    patch_series_ok(
        &app,
        &editor,
        &s,
        &tag,
        json!({"slug": "water-prices-2026"}),
    )
    .await;
    for taken in ["water-prices", "water-prices-2026"] {
        let res = post_series(
            &app,
            Some(&editor),
            &json!({"title": "Other", "slug": taken}),
        )
        .await;
        let p = assert_problem(res, StatusCode::CONFLICT).await;
        assert_eq!(error_fields(&p), vec!["slug"], "slug {taken}");
    }
    assert_eq!(
        list_series(&app, "").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn every_invalid_series_field_is_listed() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = post_series(
        &app,
        Some(&editor),
        &json!({"title": "", "description": "d".repeat(2001)}),
    )
    .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["description", "title"]);

    let res = post_series(
        &app,
        Some(&editor),
        &json!({"title": "t".repeat(301), "slug": "Not A Slug", "description": "d".repeat(2001)}),
    )
    .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["description", "slug", "title"]);
    assert_eq!(list_series(&app, "").await["data"], json!([]));
}

#[tokio::test]
async fn series_limits_count_characters_and_allow_the_maximum() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    // 300 and 2000 characters, but twice as many bytes.
    let title = format!("{}Рынок!", "Рынок ".repeat(49));
    assert_eq!(title.chars().count(), 300);
    let description = "д".repeat(2000);
    let s = series_tagged(
        &app,
        &editor,
        json!({"title": title, "description": description}),
    )
    .await
    .0;
    assert_eq!(s["title"], title.as_str());
    assert_eq!(s["description"], description.as_str());
    assert!(s["slug"].as_str().unwrap().len() <= 120);

    let res = post_series(&app, Some(&editor), &json!({"title": format!("{title}ы")})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["title"]);
    let res = post_series(
        &app,
        Some(&editor),
        &json!({"title": "Ok", "description": format!("{description}ы")}),
    )
    .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["description"]);
}

#[tokio::test]
async fn unknown_fields_wrong_types_and_a_missing_title_are_422() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    for body in [
        json!({"title": "Ok", "colour": "red"}),
        json!({"title": 42}),
        json!({"title": "Ok", "description": 5}),
        json!({"description": "No title at all"}),
    ] {
        let res = post_series(&app, Some(&editor), &body).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    assert_eq!(list_series(&app, "").await["data"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_series_list_shows_summaries_newest_first_counting_public_articles() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let first = new_series(&app, &editor, "Dog park plans").await;
    let second = new_series(&app, &editor, "Station clock").await;
    let third = new_series(&app, &editor, "Allotment waiting list").await;
    let shown = published(&app, &editor, "Station clock stops at noon").await;
    let hidden = draft(&app, &editor, "Station clock repair quote").await;
    set_order(&app, &editor, &second, &[&shown, &hidden]).await;

    let res = app.get(SERIES, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        header(&res, "link").is_none(),
        "no Link without a next page"
    );
    let page: Value = res.json().await.unwrap();
    assert_eq!(
        slugs(&page),
        vec![slug(&third), slug(&second), slug(&first)]
    );
    assert_eq!(page["page"]["next_cursor"], Value::Null);
    assert_eq!(page["page"]["limit"], 20);
    for item in page["data"].as_array().unwrap() {
        for key in [
            "id",
            "slug",
            "title",
            "description",
            "created_at",
            "updated_at",
            "article_count",
        ] {
            assert!(item.get(key).is_some(), "the summary lacks {key:?}: {item}");
        }
        assert!(
            item.get("articles").is_none(),
            "a summary has no articles: {item}"
        );
    }
    let counts: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["article_count"])
        .collect();
    assert_eq!(counts, vec![&json!(0), &json!(1), &json!(0)]);
    assert_eq!(page["data"][1]["title"], "Station clock");
}

#[tokio::test]
async fn the_series_list_pages_with_cursors_and_link_headers() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(slug(
            &new_series(&app, &editor, &format!("Council term {i}")).await,
        ));
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut path = format!("{SERIES}?limit=2");
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
                path = format!("{SERIES}?limit=2&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
}

#[tokio::test]
async fn bad_series_list_parameters_are_400_problems() {
    let app = spawn_app().await;
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=lots", "limit"),
        ("?cursor=garbage", "cursor"),
    ] {
        let res = app.get(&format!("{SERIES}{query}"), None).await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert!(
            error_fields(&p).contains(&field.to_string()),
            "{query}: {p}"
        );
    }
    for ok in ["?limit=1", "?limit=100"] {
        assert_eq!(list_series(&app, ok).await["data"], json!([]));
    }
}

#[tokio::test]
async fn the_series_list_is_cacheable_and_its_etag_follows_its_content() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    new_series(&app, &editor, "Harbour festival").await;
    let res = app.get(SERIES, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = header(&res, "cache-control").unwrap_or_default();
    assert!(cache.starts_with("public"), "{cache}");
    let tag = etag(&res);
    let res = get_if_none_match(&app, SERIES, &tag).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    new_series(&app, &editor, "Harbour festival parking").await;
    let res = get_if_none_match(&app, SERIES, &tag).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a new series changes the list"
    );
    let new_tag = etag(&res);
    assert_ne!(new_tag, tag);
    let res = get_if_none_match(&app, SERIES, &new_tag).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
}

// ---------------------------------------------------------------------------------------------
// Reading one series
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_series_is_cacheable_for_the_public_and_private_for_editors() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let s = new_series(&app, &editor, "Lighthouse restoration").await;
    let path = format!("{SERIES}/{}", slug(&s));

    let res = app.get(&path, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cache = header(&res, "cache-control").unwrap_or_default();
    assert!(cache.starts_with("public"), "{cache}");
    let tag = etag(&res);
    assert_eq!(
        get_if_none_match(&app, &path, &tag).await.status(),
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        get_if_none_match(&app, &path, "\"something-else\"")
            .await
            .status(),
        StatusCode::OK
    );

    let res = app.get(&path, Some(&editor)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(&res, "cache-control").as_deref(),
        Some(PRIVATE_CACHE)
    );
    etag(&res);
}

#[tokio::test]
async fn an_unknown_series_slug_is_a_404_problem() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let res = get_series(&app, "no-such-series", None).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = get_series(&app, "no-such-series", Some(&editor)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_old_series_slug_redirects_permanently_to_the_new_one() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, tag) = series_tagged(&app, &editor, json!({"title": "Ferry strike"})).await;
    let (patched, _) = patch_series_ok(
        &app,
        &editor,
        &s,
        &tag,
        json!({"slug": "ferry-strike-talks"}),
    )
    .await;
    assert_eq!(patched["slug"], "ferry-strike-talks");

    let res = get_series(&app, "ferry-strike", None).await;
    assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY);
    let location = header(&res, "location").expect("a Location header");
    assert!(
        location.ends_with("/api/v1/series/ferry-strike-talks"),
        "{location}"
    );
    let now = view(&app, &patched, None).await;
    assert_eq!(now["id"], s["id"]);
    assert_eq!(now["title"], "Ferry strike");
}

#[tokio::test]
async fn the_public_sees_only_public_members_renumbered_and_editors_see_all() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Wind farm gets approval").await;
    let d = draft(&app, &editor, "Wind farm draft notes").await;
    let future = new_article(
        &app,
        &editor,
        json!({"title": "Wind farm opening day", "status": "scheduled", "published_at": at(Duration::days(3))}),
    )
    .await;
    let past = new_article(
        &app,
        &editor,
        json!({"title": "Wind farm first turbine", "status": "scheduled", "published_at": at(-Duration::minutes(10))}),
    )
    .await;
    let archived = new_article(
        &app,
        &editor,
        json!({"title": "Wind farm old plans", "status": "archived"}),
    )
    .await;
    let b = published(&app, &editor, "Wind farm power flows").await;
    let s = new_series(&app, &editor, "Wind farm").await;
    set_order(&app, &editor, &s, &[&a, &d, &future, &past, &archived, &b]).await;

    let public = view(&app, &s, None).await;
    assert_members(&public, &[&a, &past, &b]);
    let first = &public["articles"][0];
    for key in [
        "position",
        "id",
        "slug",
        "title",
        "excerpt",
        "published_at",
        "status",
    ] {
        assert!(
            first.get(key).is_some(),
            "the member lacks {key:?}: {first}"
        );
    }
    assert_eq!(first["slug"], a["slug"]);
    assert_eq!(first["title"], a["title"]);
    assert_eq!(first["excerpt"], a["excerpt"]);
    assert_eq!(
        parse_time(&first["published_at"]),
        parse_time(&a["published_at"])
    );
    assert_eq!(first["status"], "published");
    assert_eq!(public["articles"][1]["status"], "scheduled");

    let editorial = view(&app, &s, Some(&editor)).await;
    assert_members(&editorial, &[&a, &d, &future, &past, &archived, &b]);
    let statuses: Vec<&Value> = editorial["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["status"])
        .collect();
    assert_eq!(
        statuses,
        vec![
            &json!("published"),
            &json!("draft"),
            &json!("scheduled"),
            &json!("scheduled"),
            &json!("archived"),
            &json!("published")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Changing and deleting a series
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_series_patch_without_if_match_is_428_and_with_a_stale_one_412() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let s = new_series(&app, &editor, "Pier repairs").await;
    let (_, from_get) = view_tagged(&app, &s, Some(&editor)).await;

    let res = patch_series(
        &app,
        &editor,
        &s,
        None,
        &json!({"title": "Pier repairs begin"}),
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_REQUIRED).await;

    // The ETag of a GET is good for a write.
    patch_series_ok(
        &app,
        &editor,
        &s,
        &from_get,
        json!({"title": "Pier repairs begin"}),
    )
    .await;
    let res = patch_series(
        &app,
        &editor,
        &s,
        Some(&from_get),
        &json!({"title": "Pier repairs cancelled", "description": "Lost edit"}),
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;

    let now = view(&app, &s, Some(&editor)).await;
    assert_eq!(now["title"], "Pier repairs begin");
    assert_eq!(now["description"], Value::Null);
}

#[tokio::test]
async fn a_series_patch_changes_only_the_given_fields_and_null_clears_the_description() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, tag0) = series_tagged(
        &app,
        &editor,
        json!({"title": "Rail link", "description": "Plans for a rail link to the airport."}),
    )
    .await;

    let (after_title, tag1) = patch_series_ok(
        &app,
        &editor,
        &s,
        &tag0,
        json!({"title": "Airport rail link"}),
    )
    .await;
    assert_ne!(tag1, tag0);
    assert_eq!(after_title["id"], s["id"]);
    assert_eq!(after_title["title"], "Airport rail link");
    assert_eq!(
        after_title["slug"], "rail-link",
        "a new title keeps the slug"
    );
    assert_eq!(after_title["description"], s["description"]);
    assert_eq!(after_title["created_at"], s["created_at"]);

    // The ETag of a write response is good for the next write.
    let (cleared, tag2) =
        patch_series_ok(&app, &editor, &s, &tag1, json!({"description": null})).await;
    assert_ne!(tag2, tag1);
    assert_eq!(cleared["description"], Value::Null);
    assert_eq!(cleared["title"], "Airport rail link");

    let (moved, _) = patch_series_ok(
        &app,
        &editor,
        &s,
        &tag2,
        json!({"slug": "airport-rail-link", "description": "Back again."}),
    )
    .await;
    assert_eq!(moved["slug"], "airport-rail-link");
    assert_eq!(moved["description"], "Back again.");
    let now = view(&app, &moved, None).await;
    assert_eq!(now["title"], "Airport rail link");
    assert_eq!(now["description"], "Back again.");
}

#[tokio::test]
async fn patching_to_a_slug_another_series_has_or_had_is_a_409() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (ferry, ferry_tag) = series_tagged(
        &app,
        &editor,
        json!({"title": "Ferry timetable", "slug": "ferry-timetable"}),
    )
    .await;
    let (bus, bus_tag) = series_tagged(
        &app,
        &editor,
        json!({"title": "Bus timetable", "slug": "bus-timetable"}),
    )
    .await;
    let res = patch_series(
        &app,
        &editor,
        &bus,
        Some(&bus_tag),
        &json!({"slug": "ferry-timetable"}),
    )
    .await;
    let p = assert_problem(res, StatusCode::CONFLICT).await;
    assert_eq!(error_fields(&p), vec!["slug"]);

    patch_series_ok(
        &app,
        &editor,
        &ferry,
        &ferry_tag,
        json!({"slug": "ferry-timetable-winter"}),
    )
    .await;
    let res = patch_series(
        &app,
        &editor,
        &bus,
        Some(&bus_tag),
        &json!({"slug": "ferry-timetable"}),
    )
    .await;
    assert_problem(res, StatusCode::CONFLICT).await;

    let now = view(&app, &bus, Some(&editor)).await;
    assert_eq!(now["slug"], "bus-timetable");
}

#[tokio::test]
async fn an_invalid_series_patch_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, tag) = series_tagged(&app, &editor, json!({"title": "Recycling centre"})).await;
    for (body, fields) in [
        (json!({"title": ""}), vec!["title"]),
        (
            json!({"title": "", "description": "d".repeat(2001)}),
            vec!["description", "title"],
        ),
        (json!({"slug": "Not Good"}), vec!["slug"]),
    ] {
        let res = patch_series(&app, &editor, &s, Some(&tag), &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), fields, "{body}");
    }
    let res = patch_series(&app, &editor, &s, Some(&tag), &json!({"colour": "green"})).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert_eq!(
        view(&app, &s, Some(&editor)).await["title"],
        "Recycling centre"
    );
    // Nothing changed, so the ETag from before the refused writes is still current.
    patch_series_ok(
        &app,
        &editor,
        &s,
        &tag,
        json!({"title": "Recycling centre hours"}),
    )
    .await;
}

#[tokio::test]
async fn moderators_and_anonymous_users_cannot_change_series() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mo", Role::Moderator).await;
    let a = published(&app, &editor, "Skate park opens").await;
    let b = published(&app, &editor, "Skate park noise complaints").await;
    let s = new_series(&app, &editor, "Skate park").await;
    set_order(&app, &editor, &s, &[&a]).await;
    let (_, tag) = view_tagged(&app, &s, Some(&editor)).await;

    let writes = [
        (
            Method::PATCH,
            series_path(&s),
            Some(json!({"title": "Hijacked"})),
        ),
        (Method::DELETE, series_path(&s), None),
        (
            Method::PUT,
            members_path(&s),
            Some(json!({"article_ids": [id(&b)]})),
        ),
        (
            Method::POST,
            members_path(&s),
            Some(json!({"article_id": id(&b)})),
        ),
        (
            Method::DELETE,
            format!("{}/{}", members_path(&s), id(&a)),
            None,
        ),
    ];
    for (method, path, body) in &writes {
        for (token, status) in [
            (Some(moderator.as_str()), StatusCode::FORBIDDEN),
            (None, StatusCode::UNAUTHORIZED),
        ] {
            let res = send(&app, method.clone(), path, token, Some(&tag), body.as_ref()).await;
            assert_eq!(res.status(), status, "{method} {path} as {token:?}");
            assert_problem(res, status).await;
        }
    }
    let (now, now_tag) = view_tagged(&app, &s, Some(&editor)).await;
    assert_eq!(now["title"], "Skate park");
    assert_members(&now, &[&a]);
    assert_eq!(now_tag, tag);
}

#[tokio::test]
async fn deleting_a_series_needs_if_match_and_then_it_is_gone() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (s, stale) = series_tagged(&app, &editor, json!({"title": "Old mill fire"})).await;
    let (_, current) = patch_series_ok(
        &app,
        &editor,
        &s,
        &stale,
        json!({"description": "Updates."}),
    )
    .await;

    let res = send(
        &app,
        Method::DELETE,
        &series_path(&s),
        Some(&editor),
        None,
        None,
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_REQUIRED).await;
    let res = send(
        &app,
        Method::DELETE,
        &series_path(&s),
        Some(&editor),
        Some(&stale),
        None,
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    view(&app, &s, None).await;

    let res = send(
        &app,
        Method::DELETE,
        &series_path(&s),
        Some(&editor),
        Some(&current),
        None,
    )
    .await;
    expect(res, StatusCode::NO_CONTENT, "DELETE series").await;
    assert_problem(
        get_series(&app, &slug(&s), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(list_series(&app, "").await["data"], json!([]));

    // Gone now, and an id that never existed: both 404.
    for path in [series_path(&s), format!("{SERIES}/987654")] {
        let res = send(
            &app,
            Method::DELETE,
            &path,
            Some(&editor),
            Some(&current),
            None,
        )
        .await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn deleting_a_series_keeps_its_articles() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Canal cleanup starts").await;
    let b = published(&app, &editor, "Canal cleanup finds a car").await;
    let gone = new_series(&app, &editor, "Canal cleanup").await;
    let kept = new_series(&app, &editor, "Volunteers of the year").await;
    set_order(&app, &editor, &gone, &[&a, &b]).await;
    set_order(&app, &editor, &kept, &[&a]).await;
    let (_, tag) = view_tagged(&app, &gone, Some(&editor)).await;

    let res = send(
        &app,
        Method::DELETE,
        &series_path(&gone),
        Some(&editor),
        Some(&tag),
        None,
    )
    .await;
    expect(res, StatusCode::NO_CONTENT, "DELETE series").await;

    let a_now = read_article(&app, &a, None).await;
    let series_ids: Vec<&Value> = a_now["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(series_ids, vec![&kept["id"]]);
    assert_nav(&a_now, &kept, 1, 1, None, None);
    let b_now = read_article(&app, &b, None).await;
    assert_eq!(b_now["series"], json!([]));
    let b_editorial = read_article(&app, &b, Some(&editor)).await;
    assert_eq!(b_editorial["series"], json!([]));
    assert_members(&view(&app, &kept, None).await, &[&a]);
}

// ---------------------------------------------------------------------------------------------
// Setting the whole order
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn putting_the_order_sets_every_position_at_once() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Bakery wins award").await;
    let b = published(&app, &editor, "Bakery expands").await;
    let c = draft(&app, &editor, "Bakery owner interview").await;
    let s = new_series(&app, &editor, "Bakery").await;

    let res = put_order(&app, &editor, &s, &ids_of(&[&c, &a, &b]), None).await;
    let (put, tag) = expect(res, StatusCode::OK, "PUT order").await;
    assert!(tag.is_some(), "the write answers with an ETag");
    assert_members(&put, &[&c, &a, &b]);
    assert_eq!(put["articles"][0]["status"], "draft");
    assert_members(&view(&app, &s, Some(&editor)).await, &[&c, &a, &b]);

    let put = set_order(&app, &editor, &s, &[&b, &a]).await;
    assert_members(&put, &[&b, &a]);
    assert_members(&view(&app, &s, Some(&editor)).await, &[&b, &a]);
    assert_eq!(
        read_article(&app, &c, Some(&editor)).await["series"],
        json!([])
    );
}

#[tokio::test]
async fn a_reorder_naming_an_unknown_article_is_422_and_keeps_the_old_order() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Pool closes for repairs").await;
    let b = published(&app, &editor, "Pool reopens").await;
    let s = new_series(&app, &editor, "Public pool").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;
    let (_, tag) = view_tagged(&app, &s, Some(&editor)).await;

    let res = put_order(&app, &editor, &s, &[id(&b), 999_999, id(&a)], None).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["article_ids[1]"]);

    let (now, now_tag) = view_tagged(&app, &s, Some(&editor)).await;
    assert_members(&now, &[&a, &b]);
    assert_eq!(now_tag, tag);
}

#[tokio::test]
async fn a_reorder_repeating_an_article_is_422_and_keeps_the_old_order() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Cinema sold").await;
    let b = published(&app, &editor, "Cinema to become flats").await;
    let c = published(&app, &editor, "Cinema last screening").await;
    let s = new_series(&app, &editor, "Old cinema").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;

    let res = put_order(&app, &editor, &s, &[id(&c), id(&b), id(&c)], None).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields = error_fields(&p);
    assert!(
        fields.contains(&"article_ids[2]".to_string()),
        "the repeated entry is named: {fields:?}"
    );
    assert!(
        fields.iter().all(|f| f.starts_with("article_ids[")),
        "{fields:?}"
    );

    assert_members(&view(&app, &s, Some(&editor)).await, &[&a, &b]);
    assert_eq!(read_article(&app, &c, None).await["series"], json!([]));
}

#[tokio::test]
async fn an_empty_order_empties_the_series() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Beach litter count").await;
    let b = published(&app, &editor, "Beach litter halves").await;
    let s = new_series(&app, &editor, "Clean beaches").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;

    let emptied = set_order(&app, &editor, &s, &[]).await;
    assert_members(&emptied, &[]);
    assert_members(&view(&app, &s, None).await, &[]);
    assert_eq!(read_article(&app, &a, None).await["series"], json!([]));
    // The articles themselves remain.
    read_article(&app, &b, None).await;
}

#[tokio::test]
async fn a_reorder_with_if_match_must_name_the_current_etag() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Hospital wing approved").await;
    let b = published(&app, &editor, "Hospital wing delayed").await;
    let (s, stale) = series_tagged(&app, &editor, json!({"title": "Hospital wing"})).await;
    let res = put_order(&app, &editor, &s, &ids_of(&[&a, &b]), Some(&stale)).await;
    let (_, current) = expect(res, StatusCode::OK, "PUT with the current ETag").await;
    let current = current.expect("an ETag");
    assert_ne!(current, stale);

    let res = put_order(&app, &editor, &s, &ids_of(&[&b, &a]), Some(&stale)).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a, &b]);

    let res = put_order(&app, &editor, &s, &ids_of(&[&b, &a]), Some(&current)).await;
    let (put, _) = expect(res, StatusCode::OK, "PUT with the current ETag").await;
    assert_members(&put, &[&b, &a]);
}

// ---------------------------------------------------------------------------------------------
// Adding and removing one article
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn adding_an_article_without_a_position_appends_it() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Zoo gets a new tiger").await;
    let b = draft(&app, &editor, "Zoo tiger names shortlist").await;
    let s = new_series(&app, &editor, "Zoo tiger").await;

    let res = add_member(&app, &editor, &s, json!({"article_id": id(&a)})).await;
    let (one, tag) = expect(res, StatusCode::OK, "POST member").await;
    assert!(tag.is_some(), "the write answers with an ETag");
    assert_members(&one, &[&a]);
    let res = add_member(&app, &editor, &s, json!({"article_id": id(&b)})).await;
    let (two, _) = expect(res, StatusCode::OK, "POST member").await;
    assert_members(&two, &[&a, &b]);
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a, &b]);
}

#[tokio::test]
async fn inserting_at_a_position_shifts_the_rest_down() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Road closure announced").await;
    let b = published(&app, &editor, "Road closure extended").await;
    let c = published(&app, &editor, "Road closure background").await;
    let d = published(&app, &editor, "Road closure middle chapter").await;
    let e = published(&app, &editor, "Road reopens").await;
    let s = new_series(&app, &editor, "Road closure").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;

    let res = add_member(
        &app,
        &editor,
        &s,
        json!({"article_id": id(&c), "position": 1}),
    )
    .await;
    let (v, _) = expect(res, StatusCode::OK, "insert at 1").await;
    assert_members(&v, &[&c, &a, &b]);

    let res = add_member(
        &app,
        &editor,
        &s,
        json!({"article_id": id(&d), "position": 3}),
    )
    .await;
    let (v, _) = expect(res, StatusCode::OK, "insert at 3").await;
    assert_members(&v, &[&c, &a, &d, &b]);

    let res = add_member(
        &app,
        &editor,
        &s,
        json!({"article_id": id(&e), "position": 5}),
    )
    .await;
    let (v, _) = expect(res, StatusCode::OK, "insert at n+1").await;
    assert_members(&v, &[&c, &a, &d, &b, &e]);

    assert_members(&view(&app, &s, None).await, &[&c, &a, &d, &b, &e]);
}

#[tokio::test]
async fn an_insert_position_outside_one_to_n_plus_one_is_422() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Orchestra loses funding").await;
    let b = published(&app, &editor, "Orchestra fundraiser").await;
    let s = new_series(&app, &editor, "Orchestra").await;
    set_order(&app, &editor, &s, &[&a]).await;

    for position in [0, 3, -1] {
        let res = add_member(
            &app,
            &editor,
            &s,
            json!({"article_id": id(&b), "position": position}),
        )
        .await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["position"], "position {position}");
    }
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a]);
}

#[tokio::test]
async fn adding_an_article_already_in_the_series_is_409() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Rowing club centenary").await;
    let b = published(&app, &editor, "Rowing club regatta").await;
    let s = new_series(&app, &editor, "Rowing club").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;

    for body in [
        json!({"article_id": id(&a)}),
        json!({"article_id": id(&a), "position": 2}),
    ] {
        let res = add_member(&app, &editor, &s, body).await;
        assert_problem(res, StatusCode::CONFLICT).await;
    }
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a, &b]);
}

#[tokio::test]
async fn adding_an_unknown_article_is_422_naming_article_id() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Fish market moves").await;
    let s = new_series(&app, &editor, "Fish market").await;
    set_order(&app, &editor, &s, &[&a]).await;

    let res = add_member(&app, &editor, &s, json!({"article_id": 999_999})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&p), vec!["article_id"]);
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a]);
}

#[tokio::test]
async fn adding_to_an_unknown_series_is_404() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Town hall clock restored").await;
    let res = app
        .send_json(
            Method::POST,
            &format!("{SERIES}/987654/articles"),
            Some(&editor),
            &json!({"article_id": id(&a)}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    assert_eq!(read_article(&app, &a, None).await["series"], json!([]));
}

#[tokio::test]
async fn removing_an_article_closes_the_gap() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Airport noise study").await;
    let b = published(&app, &editor, "Airport noise meeting").await;
    let c = published(&app, &editor, "Airport noise limits set").await;
    let s = new_series(&app, &editor, "Airport noise").await;
    set_order(&app, &editor, &s, &[&a, &b, &c]).await;

    let res = remove_member(&app, &editor, &s, id(&b)).await;
    expect(res, StatusCode::NO_CONTENT, "DELETE member").await;
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a, &c]);
    assert_members(&view(&app, &s, None).await, &[&a, &c]);

    // The article remains, outside the series; its old neighbours now follow each other.
    assert_eq!(read_article(&app, &b, None).await["series"], json!([]));
    assert_nav(
        &read_article(&app, &c, None).await,
        &s,
        2,
        2,
        Some(&a),
        None,
    );

    // Appending after a removal continues at n+1.
    let res = add_member(&app, &editor, &s, json!({"article_id": id(&b)})).await;
    let (v, _) = expect(res, StatusCode::OK, "POST member").await;
    assert_members(&v, &[&a, &c, &b]);
}

#[tokio::test]
async fn removing_an_article_that_is_not_in_the_series_is_404() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Chess club champion").await;
    let outsider = published(&app, &editor, "Knitting circle record").await;
    let s = new_series(&app, &editor, "Chess club").await;
    set_order(&app, &editor, &s, &[&a]).await;

    let res = remove_member(&app, &editor, &s, id(&outsider)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = remove_member(&app, &editor, &s, 999_999).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = send(
        &app,
        Method::DELETE,
        &format!("{SERIES}/987654/articles/{}", id(&a)),
        Some(&editor),
        None,
        None,
    )
    .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    assert_members(&view(&app, &s, Some(&editor)).await, &[&a]);
}

// ---------------------------------------------------------------------------------------------
// Navigation on articles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_member_article_shows_its_position_and_neighbours() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Stadium plan unveiled").await;
    let b = published(&app, &editor, "Stadium plan opposed").await;
    let c = published(&app, &editor, "Stadium plan shelved").await;
    let s = new_series(&app, &editor, "Stadium plan").await;
    set_order(&app, &editor, &s, &[&a, &b, &c]).await;

    let a_now = read_article(&app, &a, None).await;
    let e = entry(&a_now, &s);
    assert_eq!(e["title"], "Stadium plan");
    let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec!["id", "next", "position", "previous", "slug", "title", "total"]
    );
    assert_nav(&a_now, &s, 1, 3, None, Some(&b));
    assert_nav(
        &read_article(&app, &b, None).await,
        &s,
        2,
        3,
        Some(&a),
        Some(&c),
    );
    assert_nav(
        &read_article(&app, &c, None).await,
        &s,
        3,
        3,
        Some(&b),
        None,
    );
}

#[tokio::test]
async fn public_readers_skip_a_draft_in_the_middle_and_editors_do_not() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Election called").await;
    let d = draft(&app, &editor, "Election candidate list").await;
    let b = published(&app, &editor, "Election results").await;
    let s = new_series(&app, &editor, "Local election").await;
    set_order(&app, &editor, &s, &[&a, &d, &b]).await;

    let public = view(&app, &s, None).await;
    assert_members(&public, &[&a, &b]);
    assert_nav(
        &read_article(&app, &a, None).await,
        &s,
        1,
        2,
        None,
        Some(&b),
    );
    assert_nav(
        &read_article(&app, &b, None).await,
        &s,
        2,
        2,
        Some(&a),
        None,
    );

    let editorial = view(&app, &s, Some(&editor)).await;
    assert_members(&editorial, &[&a, &d, &b]);
    assert_nav(
        &read_article(&app, &a, Some(&editor)).await,
        &s,
        1,
        3,
        None,
        Some(&d),
    );
    assert_nav(
        &read_article(&app, &d, Some(&editor)).await,
        &s,
        2,
        3,
        Some(&a),
        Some(&b),
    );
    assert_nav(
        &read_article(&app, &b, Some(&editor)).await,
        &s,
        3,
        3,
        Some(&d),
        None,
    );
}

#[tokio::test]
async fn an_article_in_two_series_has_an_entry_for_each_ordered_by_series_id() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let shared = published(&app, &editor, "Mayor resigns").await;
    let before = published(&app, &editor, "Mayor under investigation").await;
    let after = published(&app, &editor, "Acting mayor named").await;
    let scandal = new_series(&app, &editor, "Town hall scandal").await;
    let succession = new_series(&app, &editor, "Who runs the town").await;
    // Joining the later series first must not change the order of the entries.
    set_order(&app, &editor, &succession, &[&shared, &after]).await;
    set_order(&app, &editor, &scandal, &[&before, &shared]).await;

    let got = read_article(&app, &shared, None).await;
    let ids: Vec<&Value> = got["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, vec![&scandal["id"], &succession["id"]]);
    assert_nav(&got, &scandal, 2, 2, Some(&before), None);
    assert_nav(&got, &succession, 1, 2, None, Some(&after));
    assert_eq!(entry(&got, &succession)["title"], "Who runs the town");

    let editorial = read_article(&app, &shared, Some(&editor)).await;
    assert_eq!(editorial["series"], got["series"]);
}

#[tokio::test]
async fn an_article_patch_response_carries_the_editorial_navigation() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Lake level falls").await;
    let d = draft(&app, &editor, "Lake level expert view").await;
    let s = new_series(&app, &editor, "Dry summer").await;
    set_order(&app, &editor, &s, &[&a, &d]).await;

    let patched = patch_article(&app, &editor, &a, json!({"subtitle": "Lowest in decades"})).await;
    assert_eq!(patched["subtitle"], "Lowest in decades");
    assert_nav(&patched, &s, 1, 2, None, Some(&d));
}

// ---------------------------------------------------------------------------------------------
// Articles changing under a series
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_an_article_removes_it_from_every_series_and_renumbers() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Factory closure rumoured").await;
    let doomed = published(&app, &editor, "Factory closure confirmed").await;
    let b = published(&app, &editor, "Factory workers protest").await;
    let c = published(&app, &editor, "Factory site for sale").await;
    let jobs = new_series(&app, &editor, "Factory jobs").await;
    let land = new_series(&app, &editor, "Factory land").await;
    set_order(&app, &editor, &jobs, &[&a, &doomed, &b]).await;
    set_order(&app, &editor, &land, &[&doomed, &c]).await;

    let (_, tag) = article_tagged(&app, &doomed, Some(&editor)).await;
    let path = format!("{ARTICLES}/{}", id(&doomed));
    let res = send(&app, Method::DELETE, &path, Some(&editor), Some(&tag), None).await;
    expect(res, StatusCode::NO_CONTENT, "DELETE article").await;

    assert_members(&view(&app, &jobs, Some(&editor)).await, &[&a, &b]);
    assert_members(&view(&app, &land, Some(&editor)).await, &[&c]);
    assert_members(&view(&app, &jobs, None).await, &[&a, &b]);
    assert_nav(
        &read_article(&app, &a, None).await,
        &jobs,
        1,
        2,
        None,
        Some(&b),
    );
    assert_nav(
        &read_article(&app, &b, None).await,
        &jobs,
        2,
        2,
        Some(&a),
        None,
    );
    assert_nav(&read_article(&app, &c, None).await, &land, 1, 1, None, None);

    // Positions stay 1..n for the next insert too.
    let res = add_member(
        &app,
        &editor,
        &land,
        json!({"article_id": id(&a), "position": 2}),
    )
    .await;
    let (v, _) = expect(res, StatusCode::OK, "POST member").await;
    assert_members(&v, &[&c, &a]);
}

#[tokio::test]
async fn unpublishing_an_article_hides_it_from_the_public_but_keeps_editor_positions() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Library fines abolished").await;
    let m = published(&app, &editor, "Library fines: the numbers").await;
    let b = published(&app, &editor, "Library visits rise").await;
    let s = new_series(&app, &editor, "Library fines").await;
    set_order(&app, &editor, &s, &[&a, &m, &b]).await;
    assert_members(&view(&app, &s, None).await, &[&a, &m, &b]);

    let unpublished = patch_article(&app, &editor, &m, json!({"status": "draft"})).await;
    assert_eq!(unpublished["status"], "draft");

    assert_members(&view(&app, &s, None).await, &[&a, &b]);
    assert_nav(
        &read_article(&app, &a, None).await,
        &s,
        1,
        2,
        None,
        Some(&b),
    );
    assert_nav(
        &read_article(&app, &b, None).await,
        &s,
        2,
        2,
        Some(&a),
        None,
    );
    assert_eq!(
        list_series(&app, "").await["data"][0]["article_count"],
        2,
        "the public count drops too"
    );

    let editorial = view(&app, &s, Some(&editor)).await;
    assert_members(&editorial, &[&a, &m, &b]);
    assert_eq!(editorial["articles"][1]["status"], "draft");
    assert_nav(
        &read_article(&app, &a, Some(&editor)).await,
        &s,
        1,
        3,
        None,
        Some(&m),
    );
}

// ---------------------------------------------------------------------------------------------
// ETags across series and articles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn renaming_a_series_changes_its_etag_and_its_articles_etags() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Hill fire spreads").await;
    let b = published(&app, &editor, "Hill fire contained").await;
    let s = new_series(&app, &editor, "Hill fire").await;
    set_order(&app, &editor, &s, &[&a, &b]).await;
    let series_path_by_slug = format!("{SERIES}/{}", slug(&s));
    let (_, series_before) = view_tagged(&app, &s, None).await;
    let (_, a_before) = article_tagged(&app, &a, None).await;
    let (_, b_before) = article_tagged(&app, &b, None).await;
    let (_, edit_tag) = view_tagged(&app, &s, Some(&editor)).await;

    patch_series_ok(
        &app,
        &editor,
        &s,
        &edit_tag,
        json!({"title": "The hill fire"}),
    )
    .await;

    let res = get_if_none_match(&app, &series_path_by_slug, &series_before).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the series' old ETag is stale"
    );
    let series_after = etag(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["title"], "The hill fire");
    assert_eq!(
        get_if_none_match(&app, &series_path_by_slug, &series_after)
            .await
            .status(),
        StatusCode::NOT_MODIFIED
    );

    for (article, before) in [(&a, &a_before), (&b, &b_before)] {
        let path = article_path(article);
        let res = get_if_none_match(&app, &path, before).await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{path}: the old ETag is stale"
        );
        let after = etag(&res);
        let body: Value = res.json().await.unwrap();
        assert_eq!(entry(&body, &s)["title"], "The hill fire");
        assert_eq!(
            get_if_none_match(&app, &path, &after).await.status(),
            StatusCode::NOT_MODIFIED,
            "{path}"
        );
    }
}

#[tokio::test]
async fn retitling_a_member_article_changes_the_series_etag() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Bridge toll introduced").await;
    let s = new_series(&app, &editor, "Bridge toll").await;
    set_order(&app, &editor, &s, &[&a]).await;
    let path = format!("{SERIES}/{}", slug(&s));
    let (_, before) = view_tagged(&app, &s, None).await;
    let (_, edit_before) = view_tagged(&app, &s, Some(&editor)).await;

    patch_article(&app, &editor, &a, json!({"title": "Bridge toll doubled"})).await;

    let res = get_if_none_match(&app, &path, &before).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the series' old ETag is stale"
    );
    let after = etag(&res);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["articles"][0]["title"], "Bridge toll doubled");
    assert_eq!(
        get_if_none_match(&app, &path, &after).await.status(),
        StatusCode::NOT_MODIFIED
    );
    // A write based on the series as it was before is stale too.
    let res = patch_series(
        &app,
        &editor,
        &s,
        Some(&edit_before),
        &json!({"description": "Tolls on the old bridge."}),
    )
    .await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
}

#[tokio::test]
async fn reordering_changes_the_etags_of_articles_whose_navigation_changed() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Cycle lane proposed").await;
    let b = published(&app, &editor, "Cycle lane consultation").await;
    let c = published(&app, &editor, "Cycle lane built").await;
    let s = new_series(&app, &editor, "Cycle lane").await;
    set_order(&app, &editor, &s, &[&a, &b, &c]).await;
    let mut before = Vec::new();
    for article in [&a, &b, &c] {
        before.push(article_tagged(&app, article, None).await.1);
    }

    set_order(&app, &editor, &s, &[&b, &a, &c]).await;

    for (article, old) in [&a, &b, &c].into_iter().zip(&before) {
        let path = article_path(article);
        let res = get_if_none_match(&app, &path, old).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}: navigation changed");
        let now = etag(&res);
        assert_eq!(
            get_if_none_match(&app, &path, &now).await.status(),
            StatusCode::NOT_MODIFIED,
            "{path}"
        );
    }
    let c_now = read_article(&app, &c, None).await;
    assert_nav(&c_now, &s, 3, 3, Some(&a), None);
}

// ---------------------------------------------------------------------------------------------
// The articles list filtered by series
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_series_filter_lists_only_the_public_articles_of_that_series() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let a = published(&app, &editor, "Post office to close").await;
    let d = draft(&app, &editor, "Post office petition draft").await;
    let b = published(&app, &editor, "Post office saved").await;
    let outsider = published(&app, &editor, "Baker retires").await;
    let s = new_series(&app, &editor, "Post office").await;
    let other = new_series(&app, &editor, "Retirements").await;
    set_order(&app, &editor, &s, &[&a, &d, &b]).await;
    set_order(&app, &editor, &other, &[&outsider]).await;

    let res = app
        .get(&format!("{ARTICLES}?series={}", slug(&s)), None)
        .await;
    let (page, _) = expect(res, StatusCode::OK, "GET articles?series=").await;
    let mut got: Vec<String> = slugs(&page);
    got.sort();
    let mut want = vec![slug(&a), slug(&b)];
    want.sort();
    assert_eq!(got, want);

    let res = app
        .get(&format!("{ARTICLES}?series=no-such-series"), None)
        .await;
    let (page, _) = expect(res, StatusCode::OK, "GET articles?series=unknown").await;
    assert_eq!(page["data"], json!([]));
}

// Concurrency ---------------------------------------------------------------------------------

#[tokio::test]
async fn concurrent_inserts_keep_positions_one_to_n() {
    let app = spawn_app().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let series = new_series(&app, &editor, "Harbour works").await;
    let mut articles = Vec::new();
    for i in 0..8 {
        articles.push(published(&app, &editor, &format!("Harbour works, week {i}")).await);
    }
    // Every insert goes to the front at once: each must see the order the previous one left.
    let inserts = articles.iter().map(|a| {
        add_member(
            &app,
            &editor,
            &series,
            json!({"article_id": id(a), "position": 1}),
        )
    });
    for res in futures_util::future::join_all(inserts).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let v = view(&app, &series, Some(&editor)).await;
    let positions: Vec<i64> = v["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..=8).collect::<Vec<i64>>());
    let mut ids: Vec<i64> = v["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = articles.iter().map(id).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
}
