//! `masthead seed-demo`: a small newsroom in an empty database, so a frontend developer has
//! articles, a series with a draft in the middle, and comments in every state at once. Every
//! row goes through the same code as the API, so the demo data obeys the same rules.

use chrono::{Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

use crate::api::articles::CreateArticle;
use crate::api::comments::PostComment;
use crate::api::series::CreateSeries;
use crate::db::queries;
use crate::db::DbConn;
use crate::domain::comment::{CommentStatus, SpamRules};
use crate::domain::user::{Password, Role, Username};
use crate::error::ApiError;
use crate::services::articles::{self as write, Draft};
use crate::services::comments::{self as comments, Client, IntakeRules};
use crate::services::series::{self as series, SeriesDraft};
use crate::services::users;

/// What was made, for the operator.
pub struct Seeded {
    pub editor: (String, String),
    pub moderator: (String, String),
    pub articles: Vec<String>,
    pub series: String,
    pub comments: usize,
}

fn body<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

fn demo_user(
    conn: &mut DbConn,
    name: &str,
    role: Role,
    display_name: &str,
) -> Result<(i64, (String, String)), ApiError> {
    let password = Alphanumeric.sample_string(&mut rand::rng(), 20);
    let user = users::create(
        conn,
        &Username::parse(name).map_err(ApiError::internal)?,
        &Password::parse(&password).map_err(ApiError::internal)?,
        role,
        display_name,
    )?;
    Ok((user.id, (name.to_string(), password)))
}

/// Fills an empty database; refuses one that already has articles.
pub fn seed_demo(conn: &mut DbConn) -> Result<Seeded, ApiError> {
    if queries::articles::any(conn)? {
        return Err(ApiError::conflict(
            "articles",
            "the database already has articles; seed-demo only fills an empty one",
        ));
    }
    let (editor_id, editor) = demo_user(conn, "demo-editor", Role::Editor, "Saule Tulegenova")?;
    let (moderator_id, moderator) =
        demo_user(conn, "demo-moderator", Role::Moderator, "Demo moderator")?;

    let ago = |hours: i64| (Utc::now() - Duration::hours(hours)).to_rfc3339();
    let drafts = [
        json!({
            "title": "Tram line 4 will close for a summer of track work",
            "subtitle": "Buses replace trams between the depot and the river from June",
            "body_markdown": "The city transport office said on Tuesday that **line 4** will stop running for about three months while the tracks are replaced.\n\n## What changes for riders\n\n- Replacement buses every 8 minutes\n- Night service unchanged\n\nThe work is paid for from the 2026 road budget.",
            "tags": ["transport", "trams"],
            "status": "published",
            "published_at": ago(24 * 30),
        }),
        json!({
            "title": "Why the tram tracks are being laid twice",
            "body_markdown": "Inspectors found that the first layer of rails sat on a bed that was too thin. The contractor will lift them and start again at its own cost.\n\n> \"Better a late tram than a derailed one,\" one engineer told us.",
            "tags": ["transport", "trams", "construction"],
            "status": "published",
            "published_at": ago(24 * 12),
        }),
        json!({
            "title": "Winter timetable for line 4 (draft)",
            "body_markdown": "Times to be confirmed by the transport office.",
            "tags": ["transport"],
            "status": "draft",
        }),
        json!({
            "title": "Қалалық трамвай қайта жүрді",
            "subtitle": "Line 4 is back: the first trams ran at dawn",
            "body_markdown": "Трамвай төртінші бағытта қайтадан жүре бастады. The first tram left the depot at 5:40 with a dozen early commuters on board.",
            "tags": ["transport", "trams", "Қала"],
            "language": "kk",
            "status": "published",
            "published_at": ago(20),
        }),
        json!({
            "title": "The central library opens on Sundays from December",
            "body_markdown": "Reading rooms will open from 10:00 to 16:00 on Sundays. The children's floor stays closed on Sundays for now.",
            "tags": ["culture"],
            "status": "published",
            "published_at": ago(5),
        }),
    ];
    let mut articles = Vec::new();
    for value in drafts {
        let draft = Draft::from_create(body::<CreateArticle>(value)?)?;
        let rendered = write::render(&draft);
        articles.push(write::create(conn, &draft, &rendered, editor_id)?);
    }

    let story = series::create(
        conn,
        &SeriesDraft::from_create(body::<CreateSeries>(json!({
            "title": "Rebuilding tram line 4",
            "description": "Every report on the line 4 track works, from the closure to the first tram back.",
        }))?)?,
    )?;
    let order: Vec<i64> = articles[..4].iter().map(|a| a.id).collect();
    series::set_articles(conn, story.id, None, &order)?;

    let rules = IntakeRules {
        rate: 0,
        window_secs: 60,
        auto_approve: false,
        spam: SpamRules {
            max_links: 2,
            keywords: vec!["cheap pills".into()],
        },
    };
    let reader = |n: u8| Client::new(Some([192, 0, 2, n].into()), Some("seed-demo"));
    let first = &articles[0].slug;
    let post = |conn: &mut DbConn, slug: &str, n: u8, name: &str, text: &str, parent| {
        comments::post(
            conn,
            slug,
            comments::Checked::new(&body::<PostComment>(json!({
                "author_name": name,
                "author_email": format!("reader{n}@example.org"),
                "body": text,
                "parent_id": parent,
            }))?),
            &reader(n),
            &rules,
        )
        .map(|outcome| outcome.accepted.id)
    };
    let question = post(
        conn,
        first,
        1,
        "Aidos",
        "Will the **night buses** stop at the depot too?",
        None,
    )?;
    comments::set_status(
        conn,
        question,
        CommentStatus::Approved,
        Some("on topic"),
        moderator_id,
        None,
    )?;
    let answer = post(
        conn,
        first,
        2,
        "Gulnar",
        "They do, according to the [timetable](https://example.org/timetable).",
        Some(question),
    )?;
    comments::set_status(
        conn,
        answer,
        CommentStatus::Approved,
        None,
        moderator_id,
        None,
    )?;
    post(
        conn,
        first,
        3,
        "Yerlan",
        "Three months is optimistic. Let's see in September.",
        None,
    )?;
    post(
        conn,
        first,
        4,
        "Deals",
        "Cheap pills at https://spam.example https://spam.example/2 https://spam.example/3",
        None,
    )?;
    let kazakh = &articles[3].slug;
    let welcome = post(
        conn,
        kazakh,
        5,
        "Әлия",
        "Finally! The 5:40 tram was on time this morning.",
        None,
    )?;
    comments::set_status(
        conn,
        welcome,
        CommentStatus::Approved,
        None,
        moderator_id,
        None,
    )?;

    Ok(Seeded {
        editor,
        moderator,
        articles: articles.iter().map(|a| a.slug.clone()).collect(),
        series: story.slug,
        comments: 5,
    })
}

/// What `seed-bench` made.
pub struct BenchSeeded {
    pub articles: u32,
    pub comments: u32,
    pub series: u32,
}

const BENCH_WORDS: [&str; 24] = [
    "river",
    "harbour",
    "council",
    "budget",
    "tram",
    "school",
    "library",
    "bridge",
    "market",
    "festival",
    "election",
    "hospital",
    "airport",
    "museum",
    "stadium",
    "factory",
    "railway",
    "theatre",
    "courthouse",
    "station",
    "reservoir",
    "orchard",
    "observatory",
    "ferry",
];

/// A Markdown body of about 5 KB that differs per article, so searches find a few.
fn bench_body(i: u32) -> String {
    let w = |k: u32| BENCH_WORDS[((i.wrapping_mul(7).wrapping_add(k * 13)) % 24) as usize];
    let mut body = String::with_capacity(5200);
    let mut k = 0;
    while body.len() < 5000 {
        body.push_str(&format!(
            "## Part {k}\n\nThe {} report number {i} describes how the {} near the {} changed \
             over the year, with figures from the {} office and comments from residents who \
             use the {} every day. Officials said the work on the {} would finish in spring.\n\n\
             - The {} plan\n- The {} costs\n\n",
            w(k),
            w(k + 1),
            w(k + 2),
            w(k + 3),
            w(k + 4),
            w(k + 5),
            w(k + 6),
            w(k + 7)
        ));
        k += 1;
    }
    body
}

/// Fills an empty database with `articles` published articles of about 5 KB (slugs
/// `bench-article-1`…), tags, one series per ten articles, and `comments` comments: the first
/// 1,000 (or all, if fewer) on `bench-article-1` as a thread, the rest spread over the others.
/// Rows are written in batches of one transaction each, through the same row writers as the
/// API (search index, tags, thread paths) but without rendering each body again.
pub fn seed_bench(
    conn: &mut DbConn,
    articles: u32,
    comments: u32,
) -> Result<BenchSeeded, ApiError> {
    use crate::db::models::{ArticleWrite, NewCommentRow};
    use crate::db::write_transaction;
    use crate::domain::markdown::{plain_text, render_article};

    const BATCH: u32 = 2000;
    if queries::articles::any(conn)? {
        return Err(ApiError::conflict(
            "articles",
            "the database already has articles; seed-bench only fills an empty one",
        ));
    }
    let (author_id, _) = demo_user(conn, "bench-editor", Role::Editor, "Bench Editor")?;
    let base = queries::now() - Duration::minutes(i64::from(articles) + 10);
    let mut ids = Vec::with_capacity(articles as usize);
    let mut statistics = Statistics::default();
    let mut i = 0;
    while i < articles {
        let end = (i + BATCH).min(articles);
        write_transaction(conn, |conn| {
            for n in i..end {
                let number = n + 1;
                let body = bench_body(number);
                let rendered = render_article(&body);
                let at = base + Duration::minutes(i64::from(number));
                let row = ArticleWrite {
                    slug: format!("bench-article-{number}"),
                    title: format!(
                        "Bench article {number} about the {}",
                        BENCH_WORDS[(number % 24) as usize]
                    ),
                    subtitle: Some("A generated article for load tests".into()),
                    excerpt: rendered.excerpt.clone(),
                    excerpt_is_custom: false,
                    body_markdown: body.clone(),
                    body_html: rendered.html,
                    plain_text: plain_text(&body),
                    cover_image_url: None,
                    language: "en".into(),
                    status: "published".into(),
                    published_at: Some(at),
                    sort_at: at,
                    author_id,
                    reading_time_minutes: i32::try_from(rendered.reading_time_minutes).unwrap_or(1),
                    word_count: i32::try_from(rendered.word_count).unwrap_or(0),
                    comments_enabled: true,
                    version: 1,
                    created_at: at,
                    updated_at: at,
                };
                let article = queries::articles::insert(conn, &row)?;
                let tags = [
                    BENCH_WORDS[(number % 24) as usize].to_string(),
                    BENCH_WORDS[((number / 24) % 24) as usize].to_string(),
                    format!("year-{}", 2000 + number % 27),
                ];
                queries::articles::set_tags(conn, article.id, &tags)?;
                queries::articles::index_for_search(conn, &article)?;
                ids.push(article.id);
            }
            Ok::<_, ApiError>(())
        })?;
        statistics.after(conn, end)?;
        i = end;
    }

    let mut series_count = 0;
    let mut statistics = Statistics::default();
    for (k, chunk) in ids.chunks(10).enumerate() {
        if chunk.len() < 2 {
            break;
        }
        let s = series::create(
            conn,
            &SeriesDraft {
                title: format!("Bench series {}", k + 1),
                slug: Some(format!("bench-series-{}", k + 1)),
                description: None,
            },
        )?;
        series::set_articles(conn, s.id, None, chunk)?;
        series_count += 1;
        statistics.after(conn, series_count)?;
    }

    let html = render_comment_html();
    let mut c = 0;
    let mut last_top: Option<(i64, String)> = None;
    let mut statistics = Statistics::default();
    while c < comments {
        let end = (c + BATCH).min(comments);
        write_transaction(conn, |conn| {
            for n in c..end {
                let on_first = n < 1000 || ids.len() == 1;
                let article_id = if on_first {
                    ids[0]
                } else {
                    ids[1 + (n as usize % (ids.len() - 1))]
                };
                // In the big thread, every fourth comment answers the latest top-level one.
                let parent = if on_first && n % 4 == 3 {
                    last_top.clone()
                } else {
                    None
                };
                let now = base + Duration::seconds(i64::from(n));
                let email = format!("reader{}@example.org", n % 5000);
                let text = format!("Comment {n}: the bench thread needs some words to render.");
                let stored = queries::comments::insert(
                    conn,
                    &NewCommentRow {
                        article_id,
                        parent_id: parent.as_ref().map(|p| p.0),
                        thread_path: String::new(),
                        depth: i32::from(parent.is_some()),
                        author_name: format!("Reader {}", n % 5000),
                        author_email: email.clone(),
                        email_key: email.clone(),
                        author_url: None,
                        body_markdown: text.clone(),
                        body_html: html.clone(),
                        status: if n % 10 == 9 { "pending" } else { "approved" }.into(),
                        // Replies only answer approved top-level comments.
                        visible: n % 10 != 9,
                        ip_address: Some(format!("198.51.100.{}", n % 250)),
                        user_agent: Some("seed-bench".into()),
                        duplicate_key: crate::domain::comment::duplicate_key(&email, &text),
                        moderation_note: None,
                        created_at: now,
                    },
                    parent.as_ref().map(|p| p.1.as_str()),
                )?;
                if on_first && parent.is_none() && stored.status == "approved" {
                    last_top = Some((stored.id, stored.thread_path));
                }
            }
            Ok::<_, ApiError>(())
        })?;
        statistics.after(conn, end)?;
        c = end;
    }
    for id in &ids {
        queries::comments::recount(conn, *id)?;
    }
    // Every article's public render, as the first reader of each would store it.
    let now = queries::now();
    for chunk in ids.chunks(BATCH as usize) {
        write_transaction(conn, |conn| {
            for id in chunk {
                let generation = queries::renders::generation_of(conn, *id)?;
                crate::services::articles::refresh_render(conn, *id, generation, now)?;
            }
            Ok::<_, ApiError>(())
        })?;
    }
    // And what autovacuum would do next: set the visibility map and the hint bits, which the
    // benchmark's first reads of each row would otherwise write.
    on_postgres(conn, "VACUUM ANALYZE")?;
    Ok(BenchSeeded {
        articles,
        comments,
        series: series_count,
    })
}

/// Runs `sql` when the database is PostgreSQL.
fn on_postgres(conn: &mut DbConn, sql: &str) -> Result<(), ApiError> {
    if let DbConn::Pg(_) = conn {
        diesel::RunQueryDsl::execute(diesel::sql_query(sql), conn)?;
    }
    Ok(())
}

/// Gathers planner statistics for what has been loaded so far each time a loop's row count has
/// doubled (about log2(n) times for n rows), as autovacuum would gather them in time. On
/// PostgreSQL the seed's statements are planned once per connection while the tables are
/// small, and a plan made for a near-empty `articles` scans the whole table where it looks up
/// one id: without fresh statistics the seed went quadratic (7.4 ms per article at 10,000).
/// New statistics make PostgreSQL plan them again.
struct Statistics {
    next: u32,
}

impl Default for Statistics {
    fn default() -> Self {
        Self { next: 100 }
    }
}

impl Statistics {
    fn after(&mut self, conn: &mut DbConn, loaded: u32) -> Result<(), ApiError> {
        if loaded >= self.next {
            on_postgres(conn, "ANALYZE")?;
            self.next = loaded.saturating_mul(2);
        }
        Ok(())
    }
}

fn render_comment_html() -> String {
    crate::domain::markdown::render_comment("A *generated* comment for load tests.")
}
