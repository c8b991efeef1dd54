//! One struct per exported table, with every column in `schema.rs` order. They are loaded with
//! the table's default selection (all its columns), so a column added to `schema.rs` without
//! being added here stops this module from compiling instead of silently missing from exports.
//! Unknown fields in a dump are refused rather than dropped.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::models::Article;
use crate::db::schema::{
    article_revisions, article_slugs, article_tags, articles, comment_blocklist,
    comment_moderation_log, comments, series, series_articles, series_slugs, settings, users,
    webhook_deliveries, webhooks,
};

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = users)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub display_name: String,
    pub disabled: bool,
    pub token_version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = settings)]
#[serde(deny_unknown_fields)]
pub struct SettingRow {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = articles)]
#[serde(deny_unknown_fields)]
pub struct ArticleRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
    pub excerpt_is_custom: bool,
    pub body_markdown: String,
    pub body_html: String,
    pub plain_text: String,
    pub cover_image_url: Option<String>,
    pub language: String,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub sort_at: NaiveDateTime,
    pub author_id: i64,
    pub reading_time_minutes: i32,
    pub word_count: i32,
    pub comments_enabled: bool,
    pub comment_count: i32,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<ArticleRow> for Article {
    fn from(r: ArticleRow) -> Self {
        Article {
            id: r.id,
            slug: r.slug,
            title: r.title,
            subtitle: r.subtitle,
            excerpt: r.excerpt,
            excerpt_is_custom: r.excerpt_is_custom,
            body_markdown: r.body_markdown,
            body_html: r.body_html,
            plain_text: r.plain_text,
            cover_image_url: r.cover_image_url,
            language: r.language,
            status: r.status,
            published_at: r.published_at,
            sort_at: r.sort_at,
            author_id: r.author_id,
            reading_time_minutes: r.reading_time_minutes,
            word_count: r.word_count,
            comments_enabled: r.comments_enabled,
            comment_count: r.comment_count,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = article_tags)]
#[serde(deny_unknown_fields)]
pub struct ArticleTagRow {
    pub article_id: i64,
    pub position: i32,
    pub tag: String,
    pub tag_slug: String,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = article_slugs)]
#[serde(deny_unknown_fields)]
pub struct ArticleSlugRow {
    pub slug: String,
    pub article_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = article_revisions)]
#[serde(deny_unknown_fields)]
pub struct RevisionRow {
    pub id: i64,
    pub article_id: i64,
    pub rev: i32,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
    pub excerpt_is_custom: bool,
    pub body_markdown: String,
    pub cover_image_url: Option<String>,
    pub tags: String,
    pub language: String,
    pub status: String,
    pub slug: String,
    pub published_at: Option<NaiveDateTime>,
    pub editor_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = series)]
#[serde(deny_unknown_fields)]
pub struct SeriesRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = series_slugs)]
#[serde(deny_unknown_fields)]
pub struct SeriesSlugRow {
    pub slug: String,
    pub series_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = series_articles)]
#[serde(deny_unknown_fields)]
pub struct SeriesArticleRow {
    pub series_id: i64,
    pub article_id: i64,
    pub position: i32,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = comments)]
#[serde(deny_unknown_fields)]
pub struct CommentRow {
    pub id: i64,
    pub article_id: i64,
    pub parent_id: Option<i64>,
    pub thread_path: String,
    pub depth: i32,
    pub author_name: String,
    pub author_email: String,
    pub email_key: String,
    pub author_url: Option<String>,
    pub body_markdown: String,
    pub body_html: String,
    pub status: String,
    pub visible: bool,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub duplicate_key: String,
    pub moderated_by: Option<i64>,
    pub moderated_at: Option<NaiveDateTime>,
    pub moderation_note: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = comment_moderation_log)]
#[serde(deny_unknown_fields)]
pub struct ModerationLogRow {
    pub id: i64,
    pub comment_id: i64,
    pub moderator_id: Option<i64>,
    pub from_status: String,
    pub to_status: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = comment_blocklist)]
#[serde(deny_unknown_fields)]
pub struct BlockRow {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub note: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = webhooks)]
#[serde(deny_unknown_fields)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub secret: String,
    pub active: bool,
    pub include_private: bool,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = webhook_deliveries)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: String,
    pub event: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_response: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}
