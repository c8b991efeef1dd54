//! What the article endpoints accept and answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::article::Status;

/// The author of an article.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Author {
    /// The user's id.
    #[schema(example = 2)]
    pub id: i64,
    /// The name shown on the article.
    #[schema(example = "Aliya Nurlanovna")]
    pub display_name: String,
}

/// A neighbour in a series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesNeighbour {
    /// The neighbour's slug.
    #[schema(example = "the-hearing-is-postponed")]
    pub slug: String,
    /// The neighbour's title.
    #[schema(example = "The hearing is postponed")]
    pub title: String,
}

/// "Part N of M" navigation for one series the article is in, counted over public articles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesNav {
    /// The series id.
    #[schema(example = 1)]
    pub id: i64,
    /// The series slug.
    #[schema(example = "the-trial")]
    pub slug: String,
    /// The series title.
    #[schema(example = "The trial")]
    pub title: String,
    /// This article's place in the series, from 1.
    #[schema(example = 2)]
    pub position: i64,
    /// How many articles the series has.
    #[schema(example = 5)]
    pub total: i64,
    /// The article before this one, if any.
    pub previous: Option<SeriesNeighbour>,
    /// The article after this one, if any.
    pub next: Option<SeriesNeighbour>,
}

/// An article in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleView {
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// The URL name: lowercase ASCII words joined by hyphens.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
    /// The headline.
    #[schema(example = "The river crossing reopens")]
    pub title: String,
    /// A secondary headline.
    #[schema(example = "Ferries run again after three weeks")]
    pub subtitle: Option<String>,
    /// A short summary; by default the first paragraph's text.
    #[schema(example = "The ferry service resumed on Monday morning.")]
    pub excerpt: String,
    /// The body as CommonMark.
    #[schema(
        example = "The ferry service resumed on Monday morning.\n\n## What changed\n\nA new pier."
    )]
    pub body_markdown: String,
    /// The body rendered to sanitised HTML when it was saved.
    #[schema(
        example = "<p>The ferry service resumed on Monday morning.</p>\n<h2>What changed</h2>\n<p>A new pier.</p>\n"
    )]
    pub body_html: String,
    /// An http(s) URL of the cover image.
    #[schema(example = "https://images.example/ferry.jpg")]
    pub cover_image_url: Option<String>,
    /// Tags in the editor's order.
    #[schema(example = json!(["transport", "Almaty"]))]
    pub tags: Vec<String>,
    /// The language tag of the text.
    #[schema(example = "en")]
    pub language: String,
    /// Where the article is in its life.
    pub status: Status,
    /// When the article was (or is to be) published.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// When the article was created.
    #[schema(example = "2026-11-24T17:30:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the article was last changed.
    #[schema(example = "2026-11-25T07:55:00Z")]
    pub updated_at: DateTime<Utc>,
    /// Who wrote it.
    pub author: Author,
    /// Minutes to read at 200 words a minute.
    #[schema(example = 4)]
    pub reading_time_minutes: i32,
    /// Words in the body.
    #[schema(example = 730)]
    pub word_count: i32,
    /// Whether readers may comment.
    #[schema(example = true)]
    pub comments_enabled: bool,
    /// Approved comments.
    #[schema(example = 3)]
    pub comment_count: i32,
    /// Navigation for each series the article is in.
    pub series: Vec<SeriesNav>,
}

/// An article in a list: everything but the bodies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleSummary {
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// The URL name.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
    /// The headline.
    #[schema(example = "The river crossing reopens")]
    pub title: String,
    /// A secondary headline.
    #[schema(example = "Ferries run again after three weeks")]
    pub subtitle: Option<String>,
    /// A short summary.
    #[schema(example = "The ferry service resumed on Monday morning.")]
    pub excerpt: String,
    /// An http(s) URL of the cover image.
    #[schema(example = "https://images.example/ferry.jpg")]
    pub cover_image_url: Option<String>,
    /// Tags in the editor's order.
    #[schema(example = json!(["transport"]))]
    pub tags: Vec<String>,
    /// The language tag of the text.
    #[schema(example = "en")]
    pub language: String,
    /// Where the article is in its life.
    pub status: Status,
    /// When the article was (or is to be) published.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// When the article was created.
    #[schema(example = "2026-11-24T17:30:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the article was last changed.
    #[schema(example = "2026-11-25T07:55:00Z")]
    pub updated_at: DateTime<Utc>,
    /// Who wrote it.
    pub author: Author,
    /// Minutes to read.
    #[schema(example = 4)]
    pub reading_time_minutes: i32,
    /// Words in the body.
    #[schema(example = 730)]
    pub word_count: i32,
    /// Whether readers may comment.
    #[schema(example = true)]
    pub comments_enabled: bool,
    /// Approved comments.
    #[schema(example = 3)]
    pub comment_count: i32,
}

/// A new article. Only `title` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    /// 1–300 characters, not all spaces (surrounding spaces are trimmed).
    #[schema(
        example = "The river crossing reopens",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,298}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub title: String,
    /// Lowercase ASCII words joined by hyphens, at most 120 characters; made from the title
    /// when absent. A slug another article has (or had) is a 409.
    #[schema(
        example = "the-river-crossing-reopens",
        max_length = 120,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// At most 500 characters; blank counts as absent.
    #[schema(
        example = "Ferries run again after three weeks",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,498}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub subtitle: Option<String>,
    /// At most 1,000 characters; by default the first paragraph of the body.
    #[schema(
        example = "The ferry service resumed on Monday morning.",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,998}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub excerpt: Option<String>,
    /// CommonMark, at most 1 MiB.
    #[schema(
        example = "The ferry service resumed on Monday morning.",
        pattern = "^[^\\x00]*$"
    )]
    pub body_markdown: Option<String>,
    /// An http(s) URL, at most 2,000 characters; blank counts as absent.
    #[schema(
        example = "https://images.example/ferry.jpg",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*(?:[Hh][Tt][Tt][Pp]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1992}|[Hh][Tt][Tt][Pp][Ss]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1991})[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub cover_image_url: Option<String>,
    /// At most 20 tags; duplicates (by their URL form) are dropped.
    #[schema(value_type = Option<Vec<TagName>>, example = json!(["transport"]), max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// A language tag such as `en`, `kk`, `ru`, `pt-BR`; default `en`.
    #[schema(
        example = "en",
        max_length = 35,
        pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
    )]
    pub language: Option<String>,
    /// Default `draft`. `scheduled` needs `published_at`.
    #[schema(value_type = Option<Status>, example = "draft")]
    pub status: Option<String>,
    /// When the article is (or was) published; set to now when publishing without it.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// Whether readers may comment; default true.
    #[schema(example = true)]
    pub comments_enabled: Option<bool>,
}

/// Changes to an article: absent fields stay as they are; `null` clears `subtitle`,
/// `cover_image_url`, `published_at`, and returns `excerpt` to the automatic one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticle {
    /// 1–300 characters, not all spaces (surrounding spaces are trimmed).
    #[schema(
        example = "The river crossing reopens at last",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,298}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub title: Option<String>,
    /// A new slug; the old one keeps redirecting (301).
    #[schema(
        example = "river-crossing-reopens",
        max_length = 120,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// At most 500 characters; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "Ferries run again", pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,498}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$")]
    pub subtitle: Option<Option<String>>,
    /// At most 1,000 characters; `null` returns to the automatic excerpt.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "A short summary.", pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,998}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$")]
    pub excerpt: Option<Option<String>>,
    /// CommonMark, at most 1 MiB.
    #[schema(example = "Updated text.", pattern = "^[^\\x00]*$")]
    pub body_markdown: Option<String>,
    /// An http(s) URL; `null` (or blank) clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "https://images.example/ferry2.jpg", pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*(?:[Hh][Tt][Tt][Pp]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1992}|[Hh][Tt][Tt][Pp][Ss]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1991})[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$")]
    pub cover_image_url: Option<Option<String>>,
    /// Replaces all tags.
    #[schema(value_type = Option<Vec<TagName>>, example = json!(["transport", "rivers"]), max_items = 20)]
    pub tags: Option<Vec<String>>,
    /// A language tag.
    #[schema(
        example = "kk",
        max_length = 35,
        pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
    )]
    pub language: Option<String>,
    /// A new status.
    #[schema(value_type = Option<Status>, example = "published")]
    pub status: Option<String>,
    /// A new publication time; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<DateTime<Utc>>, example = "2026-11-26T06:00:00Z")]
    pub published_at: Option<Option<DateTime<Utc>>>,
    /// Whether readers may comment.
    #[schema(example = false)]
    pub comments_enabled: Option<bool>,
}

/// A tag: 1–50 characters without control characters, not all spaces (surrounding spaces are
/// trimmed).
#[derive(ToSchema)]
#[schema(
    example = "transport",
    min_length = 1,
    pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,48}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
)]
#[allow(dead_code)]
pub struct TagName(String);

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn some<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Filters of the article list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// `page.next_cursor` of the previous page: an opaque token the server issued.
    #[param(
        example = "eyJ0IjoiMjAyNi0xMS0yNVQwODowMDowMCIsImlkIjoxMn0",
        max_length = 1024,
        pattern = "^[A-Za-z0-9_-]*$"
    )]
    pub cursor: Option<String>,
    /// Only articles with this tag (its name or its slug).
    #[param(example = "transport", pattern = "^[^\\x00]*$")]
    pub tag: Option<String>,
    /// Only articles in the series with this slug.
    #[param(example = "the-trial", pattern = "^[^\\x00]*$")]
    pub series: Option<String>,
    /// Only articles by this author: the `author.id` of an article (login names are refused).
    #[param(example = "2", pattern = "^[0-9]{1,9}$")]
    pub author: Option<String>,
    /// Full-text search over title, subtitle and body; results ranked by relevance.
    #[param(example = "ferry", pattern = "^[^\\x00]*$")]
    pub q: Option<String>,
    /// Only articles published after this time (RFC 3339).
    #[param(example = "2026-11-01T00:00:00Z")]
    pub published_after: Option<DateTime<Utc>>,
    /// Only articles published before this time (RFC 3339).
    #[param(example = "2026-12-01T00:00:00Z")]
    pub published_before: Option<DateTime<Utc>>,
    /// `newest` (default) or `oldest` first. Ignored when `q` ranks by relevance.
    #[param(value_type = Option<String>, example = "newest", pattern = "^(newest|oldest)$")]
    pub order: Option<String>,
    /// Editors and admins only: articles with this status instead of the public ones.
    #[param(value_type = Option<Status>, example = "draft")]
    pub status: Option<String>,
}

/// An earlier (or the current) version of an article.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// The revision number; the article's first version is 1.
    #[schema(example = 3)]
    pub rev: i32,
    /// The headline then.
    #[schema(example = "The river crossing reopens")]
    pub title: String,
    /// The secondary headline then.
    #[schema(example = "Ferries run again")]
    pub subtitle: Option<String>,
    /// The excerpt then.
    #[schema(example = "The ferry service resumed on Monday morning.")]
    pub excerpt: String,
    /// The body then.
    #[schema(example = "The ferry service resumed on Monday morning.")]
    pub body_markdown: String,
    /// The cover image then.
    #[schema(example = "https://images.example/ferry.jpg")]
    pub cover_image_url: Option<String>,
    /// The tags then.
    #[schema(example = json!(["transport"]))]
    pub tags: Vec<String>,
    /// The language then.
    #[schema(example = "en")]
    pub language: String,
    /// The status then.
    pub status: Status,
    /// The slug then.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
    /// The publication time then.
    #[schema(example = "2026-11-25T08:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// Who saved this version.
    pub editor: Author,
    /// When this version was saved.
    #[schema(example = "2026-11-25T07:55:00Z")]
    pub created_at: DateTime<Utc>,
}
