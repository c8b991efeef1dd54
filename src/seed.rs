//! `masthead seed-demo`: a small newsroom in an empty database, so a frontend developer has
//! articles, a series with a draft in the middle, and comments in every state at once. Every
//! row goes through the same code as the API, so the demo data obeys the same rules.

use chrono::{Duration, Utc};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;

use crate::db::queries;
use crate::db::DbConn;
use crate::domain::comment::{CommentStatus, SpamRules};
use crate::domain::user::{Password, Role, Username};
use crate::error::ApiError;
use crate::routes::articles::dto::CreateArticle;
use crate::routes::articles::write::{self, Draft};
use crate::routes::comments::dto::PostComment;
use crate::routes::comments::store::{self as comments, Client, IntakeRules};
use crate::routes::series::dto::CreateSeries;
use crate::routes::series::store::{self as series, SeriesDraft};
use crate::routes::users;

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
            body::<PostComment>(json!({
                "author_name": name,
                "author_email": format!("reader{n}@example.org"),
                "body": text,
                "parent_id": parent,
            }))?,
            &reader(n),
            &rules,
        )
        .map(|accepted| accepted.id)
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
    )?;
    let answer = post(
        conn,
        first,
        2,
        "Gulnar",
        "They do, according to the [timetable](https://example.org/timetable).",
        Some(question),
    )?;
    comments::set_status(conn, answer, CommentStatus::Approved, None, moderator_id)?;
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
    comments::set_status(conn, welcome, CommentStatus::Approved, None, moderator_id)?;

    Ok(Seeded {
        editor,
        moderator,
        articles: articles.iter().map(|a| a.slug.clone()).collect(),
        series: story.slug,
        comments: 5,
    })
}
