//! Stored renders of articles: a reader's article comes from one stored look-up, and every
//! change to what it shows, through any route and on any instance, is in the next answer.
//! The response cache is off here, so each GET reaches the database.

use chrono::{Duration, SecondsFormat, Utc};
use masthead::domain::user::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{header, id, series_of, set_series, slug, spawn_app_with, TestApp};

async fn app_without_cache() -> TestApp {
    spawn_app_with(|c| {
        c.cache_max_age = 0;
        c.comment_rate = 0;
        c.webhook_poll_ms = 3_600_000;
    })
    .await
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .send_json(Method::POST, "/api/v1/articles", Some(token), &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// The public answer for `slug`: body and ETag, with the statements it ran.
async fn read(app: &TestApp, slug: &str) -> (Value, String, u64) {
    let before = app.state.db.statements();
    let res = app.get(&format!("/api/v1/articles/{slug}"), None).await;
    assert_eq!(res.status(), StatusCode::OK, "{slug}");
    let etag = header(&res, "etag").unwrap();
    let body = res.json().await.unwrap();
    (body, etag, app.state.db.statements() - before)
}

/// Sends `method` to `path` as an editor does: with the ETag `read` answers now, and `change`
/// as the body when there is one. The status.
async fn guarded(
    app: &TestApp,
    token: &str,
    read: &str,
    method: Method,
    path: &str,
    change: Option<Value>,
) -> StatusCode {
    let res = app.get(read, Some(token)).await;
    let etag = header(&res, "etag").unwrap();
    let mut req = app
        .request(method, path)
        .bearer_auth(token)
        .header("If-Match", etag);
    if let Some(change) = change {
        req = req.json(&change);
    }
    req.send().await.unwrap().status()
}

/// Changes article `id` (with `slug`) as an editor does: with the current ETag.
async fn edit(app: &TestApp, token: &str, slug: &str, id: &Value, change: Value) {
    let read = format!("/api/v1/articles/{slug}");
    let path = format!("/api/v1/articles/{id}");
    let status = guarded(
        app,
        token,
        &read,
        Method::PATCH,
        &path,
        Some(change.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{change}");
}

#[tokio::test]
async fn a_stored_render_is_one_statement_and_every_change_reaches_the_next_reader() {
    let app = app_without_cache().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let admin = app.token_for("chief", Role::Admin).await;
    let moderator = app.token_for("mod", Role::Moderator).await;
    let a = create(
        &app,
        &editor,
        json!({"title": "Lighthouse keeper retires", "status": "published",
               "tags": ["coast"], "body_markdown": "After forty years the lamp goes automatic."}),
    )
    .await;
    let b = create(
        &app,
        &editor,
        json!({"title": "Lighthouse goes automatic", "status": "published"}),
    )
    .await;
    let slug = a["slug"].as_str().unwrap().to_string();
    let series = series_of(&app, &editor, "Lighthouse", &[id(&a), id(&b)]).await;

    // The first reader renders and stores; the next one reads the stored render alone.
    let (first, first_etag, cold) = read(&app, &slug).await;
    let (second, second_etag, warm) = read(&app, &slug).await;
    assert_eq!(second, first);
    assert_eq!(second_etag, first_etag);
    assert_eq!(
        warm, 1,
        "a stored render is one statement ({cold} to render)"
    );
    assert!(cold > warm);
    assert_eq!(
        first["series"][0]["next"]["title"],
        "Lighthouse goes automatic"
    );

    // Its own fields and tags.
    edit(
        &app,
        &editor,
        &slug,
        &a["id"],
        json!({"tags": ["coast", "jobs"]}),
    )
    .await;
    let (now, etag, _) = read(&app, &slug).await;
    assert_eq!(now["tags"], json!(["coast", "jobs"]));
    assert_ne!(etag, first_etag);

    // A neighbour's title.
    read(&app, &slug).await;
    let b_slug = b["slug"].as_str().unwrap();
    edit(
        &app,
        &editor,
        b_slug,
        &b["id"],
        json!({"title": "The lamp runs itself"}),
    )
    .await;
    let b_slug = b_slug.to_string();
    let (now, _, _) = read(&app, &slug).await;
    assert_eq!(now["series"][0]["next"]["title"], "The lamp runs itself");

    // The series' own title.
    read(&app, &slug).await;
    let status = guarded(
        &app,
        &editor,
        &format!("/api/v1/series/{}", series["slug"].as_str().unwrap()),
        Method::PATCH,
        &format!("/api/v1/series/{}", series["id"]),
        Some(json!({"title": "Lights of the coast"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (now, _, _) = read(&app, &slug).await;
    assert_eq!(now["series"][0]["title"], "Lights of the coast");

    // The author's name.
    read(&app, &slug).await;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/users/{}", a["author"]["id"]),
            Some(&admin),
            &json!({"display_name": "Edda Harbourmaster"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (now, _, _) = read(&app, &slug).await;
    assert_eq!(now["author"]["display_name"], "Edda Harbourmaster");

    // An approved comment counts.
    read(&app, &slug).await;
    let res = app
        .send_json(
            Method::POST,
            &format!("/api/v1/articles/{slug}/comments"),
            None,
            &json!({"author_name": "Reader", "author_email": "reader@example.org",
                    "body": "I remember the old keeper."}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let comment: Value = res.json().await.unwrap();
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/v1/comments/{}", comment["id"]),
            Some(&moderator),
            &json!({"status": "approved"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (now, _, _) = read(&app, &slug).await;
    assert_eq!(now["comment_count"], 1);

    // The neighbour leaves the series.
    read(&app, &slug).await;
    set_series(&app, &editor, &series, &[id(&a)]).await;
    let (now, _, _) = read(&app, &slug).await;
    assert_eq!(now["series"][0]["total"], 1);
    assert!(now["series"][0]["next"].is_null());

    // The neighbour is deleted after coming back.
    set_series(&app, &editor, &series, &[id(&a), id(&b)]).await;
    assert_eq!(read(&app, &slug).await.0["series"][0]["total"], 2);
    let status = guarded(
        &app,
        &editor,
        &format!("/api/v1/articles/{b_slug}"),
        Method::DELETE,
        &format!("/api/v1/articles/{}", b["id"]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(read(&app, &slug).await.0["series"][0]["total"], 1);

    // Unpublished: readers no longer get the stored render.
    edit(&app, &editor, &slug, &a["id"], json!({"status": "draft"})).await;
    let res = app.get(&format!("/api/v1/articles/{slug}"), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scheduled_neighbour_appears_in_a_stored_render_when_its_time_comes() {
    let app = app_without_cache().await;
    let editor = app.token_for("ed", Role::Editor).await;
    // The neighbour goes public `lead` after it is scheduled. The reads before its time must
    // end before it: on a loaded machine they may not, and the test starts again with a longer
    // lead.
    let mut leads = [2, 5, 15].into_iter();
    let (slug, at) = loop {
        let lead = leads.next().expect("the reads fit in the longest lead");
        let a = create(
            &app,
            &editor,
            json!({"title": "Bridge closes for repairs", "status": "published"}),
        )
        .await;
        let at = Utc::now() + Duration::seconds(lead);
        let b = create(
            &app,
            &editor,
            json!({"title": "Bridge reopens", "status": "scheduled",
                   "published_at": at.to_rfc3339_opts(SecondsFormat::Micros, true)}),
        )
        .await;
        series_of(&app, &editor, "Bridge works", &[id(&a), id(&b)]).await;
        let slug = a["slug"].as_str().unwrap().to_string();

        let (before, _, _) = read(&app, &slug).await;
        let (again, _, warm) = read(&app, &slug).await;
        if Utc::now() >= at {
            continue;
        }
        assert_eq!(again, before);
        assert_eq!(warm, 1, "stored until the neighbour's time");
        assert_eq!(before["series"][0]["total"], 1);
        break (slug, at);
    };

    let wait = at - Utc::now() + Duration::milliseconds(100);
    if let Ok(wait) = wait.to_std() {
        tokio::time::sleep(wait).await;
    }
    let (after, _, _) = read(&app, &slug).await;
    assert_eq!(after["series"][0]["total"], 2);
    assert_eq!(after["series"][0]["next"]["title"], "Bridge reopens");
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_readers_of_another_at_once() {
    let a = app_without_cache().await;
    let url = a.state.config.database_url.clone();
    let b = spawn_app_with(move |c| {
        c.cache_max_age = 0;
        c.database_url = url;
    })
    .await;
    let editor = a.token_for("ed", Role::Editor).await;
    let article = create(
        &a,
        &editor,
        json!({"title": "Ferry timetable changes", "status": "published"}),
    )
    .await;
    let slug = article["slug"].as_str().unwrap();
    let (stored, _, _) = read(&a, slug).await;
    assert_eq!(read(&a, slug).await.2, 1);
    edit(
        &b,
        &editor,
        slug,
        &article["id"],
        json!({"subtitle": "Winter sailings"}),
    )
    .await;
    let (now, _, _) = read(&a, slug).await;
    assert_ne!(now, stored);
    assert_eq!(now["subtitle"], "Winter sailings");
}

#[tokio::test]
async fn readers_asking_at_once_each_get_the_article_they_asked_for() {
    let app = app_without_cache().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let mut slugs = Vec::new();
    for n in 0..6 {
        let a = create(
            &app,
            &editor,
            json!({"title": format!("Ferry timetable change {n}"), "status": "published",
                   "body_markdown": format!("Sailing number {n} moves to the evening.")}),
        )
        .await;
        slugs.push(slug(&a));
    }
    // A draft and an unknown slug are 404s for readers; the old slug of a renamed article
    // sends them on.
    let draft = create(&app, &editor, json!({"title": "Ferry fares draft"})).await;
    let moved = create(
        &app,
        &editor,
        json!({"title": "Ferry pier closes", "status": "published"}),
    )
    .await;
    let (draft, moved_from) = (slug(&draft), slug(&moved));
    edit(
        &app,
        &editor,
        &moved_from,
        &moved["id"],
        json!({"slug": "ferry-pier-closes-for-repairs"}),
    )
    .await;
    for s in &slugs {
        read(&app, s).await; // stored, so the rounds below read stored renders
    }

    for _round in 0..3 {
        let mut asks: Vec<String> = slugs.iter().chain(slugs.iter()).cloned().collect();
        asks.push(draft.clone());
        asks.push("no-such-ferry".into());
        asks.push(moved_from.clone());
        let answers = futures_util::future::join_all(asks.iter().map(|asked| {
            app.request(Method::GET, &format!("/api/v1/articles/{asked}"))
                .send()
        }))
        .await;
        for (asked, res) in asks.iter().zip(answers) {
            let res = res.unwrap();
            if slugs.contains(asked) {
                assert_eq!(res.status(), StatusCode::OK, "{asked}");
                let body: Value = res.json().await.unwrap();
                assert_eq!(&body["slug"], asked.as_str());
            } else if asked == &moved_from {
                assert_eq!(res.status(), StatusCode::MOVED_PERMANENTLY, "{asked}");
                assert_eq!(
                    header(&res, "location").unwrap(),
                    "/api/v1/articles/ferry-pier-closes-for-repairs"
                );
            } else {
                assert_eq!(res.status(), StatusCode::NOT_FOUND, "{asked}");
            }
        }
    }
}
