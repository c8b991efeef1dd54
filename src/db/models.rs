//! Rows as stored, and the values written to them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
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

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub display_name: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A partial update; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub password_hash: Option<String>,
    pub role: Option<String>,
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
    pub token_version: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}

use super::schema::{article_revisions, articles};

/// The few columns that decide whether readers may see and comment on an article, without the
/// bodies: what the comment routes need, at a fraction of the row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleGate {
    pub id: i64,
    pub slug: String,
    pub status: String,
    pub published_at: Option<NaiveDateTime>,
    pub comments_enabled: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = articles)]
pub struct Article {
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

/// What list pages show: an article without its bodies.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles)]
pub struct ArticleSummaryRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
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
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every column an editor's write sets; the same struct inserts and updates, so a field can
/// never be forgotten in one of them.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = articles, treat_none_as_null = true)]
pub struct ArticleWrite {
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
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = article_revisions)]
pub struct Revision {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub article_id: i64,
    pub rev: i32,
    pub title: String,
    pub subtitle: Option<String>,
    pub excerpt: String,
    pub excerpt_is_custom: bool,
    pub body_markdown: String,
    pub cover_image_url: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    pub language: String,
    pub status: String,
    pub slug: String,
    pub published_at: Option<NaiveDateTime>,
    pub editor_id: i64,
    pub created_at: NaiveDateTime,
}

use super::schema::series;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = series)]
pub struct Series {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns an editor's write sets on a series.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = series, treat_none_as_null = true)]
pub struct SeriesWrite {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

use super::schema::{comment_blocklist, comments};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = comments)]
pub struct Comment {
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

/// A new comment's row. Absent values are written as NULL (their default anyway) rather than
/// left out, so the INSERT is the same statement every time and stays prepared.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = comments, treat_none_as_default_value = false)]
pub struct NewCommentRow {
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
    pub moderation_note: Option<String>,
    pub created_at: NaiveDateTime,
}

/// What readers see of a comment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
pub struct PublicCommentRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub thread_path: String,
    pub depth: i32,
    pub author_name: String,
    pub author_url: Option<String>,
    pub body_html: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comment_blocklist)]
pub struct BlockEntry {
    pub id: i64,
    pub kind: String,
    pub value: String,
    pub note: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

use super::schema::{webhook_deliveries, webhooks};

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// JSON array of event names.
    pub events: String,
    pub secret: String,
    pub active: bool,
    pub include_private: bool,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for Webhook {
    // The signing secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"…")
            .field("active", &self.active)
            .field("include_private", &self.include_private)
            .finish_non_exhaustive()
    }
}

/// No `Debug`: it holds the signing secret.
#[derive(Clone, Insertable, AsChangeset)]
#[diesel(table_name = webhooks, treat_none_as_null = true)]
pub struct WebhookWrite {
    pub url: String,
    pub events: String,
    pub secret: String,
    pub active: bool,
    pub include_private: bool,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
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
