//! What the series endpoints accept and answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::articles::some;
use crate::api::whole;
use crate::domain::article::Status;

/// One article of a series, in the series' order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesArticle {
    /// The article's place in the series, from 1. Readers' positions count public articles
    /// only; editors see every article and its stored position.
    #[schema(example = 2)]
    pub position: i64,
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// The article's slug.
    #[schema(example = "the-hearing-is-postponed")]
    pub slug: String,
    /// The headline.
    #[schema(example = "The hearing is postponed")]
    pub title: String,
    /// The article's excerpt.
    #[schema(example = "The court moved the hearing to December.")]
    pub excerpt: String,
    /// When the article was (or is to be) published.
    #[schema(example = "2026-11-20T09:00:00Z")]
    pub published_at: Option<DateTime<Utc>>,
    /// The article's status (always a public one in a reader's view).
    pub status: Status,
}

/// A series: an ordered list of articles on one story.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesView {
    /// The series id.
    #[schema(example = 3)]
    pub id: i64,
    /// The URL name: lowercase ASCII words joined by hyphens.
    #[schema(example = "the-bridge-trial")]
    pub slug: String,
    /// The series title.
    #[schema(example = "The bridge trial")]
    pub title: String,
    /// What the story is about.
    #[schema(example = "Our reports on the trial over the collapsed footbridge.")]
    pub description: Option<String>,
    /// When the series was created.
    #[schema(example = "2026-11-20T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the series or its order last changed.
    #[schema(example = "2026-11-25T07:55:00Z")]
    pub updated_at: DateTime<Utc>,
    /// How many articles `articles` holds.
    #[schema(example = 4)]
    pub article_count: i64,
    /// The articles in order: public ones for readers, all for editors.
    pub articles: Vec<SeriesArticle>,
}

/// A series in a list: everything but its articles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesSummary {
    /// The series id.
    #[schema(example = 3)]
    pub id: i64,
    /// The URL name.
    #[schema(example = "the-bridge-trial")]
    pub slug: String,
    /// The series title.
    #[schema(example = "The bridge trial")]
    pub title: String,
    /// What the story is about.
    #[schema(example = "Our reports on the trial over the collapsed footbridge.")]
    pub description: Option<String>,
    /// When the series was created.
    #[schema(example = "2026-11-20T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the series or its order last changed.
    #[schema(example = "2026-11-25T07:55:00Z")]
    pub updated_at: DateTime<Utc>,
    /// How many articles it holds: public ones for readers, all for editors.
    #[schema(example = 4)]
    pub article_count: i64,
}

/// A new series. Only `title` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSeries {
    /// 1–300 characters, not all spaces (surrounding spaces are trimmed).
    #[schema(
        example = "The bridge trial",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,298}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub title: String,
    /// Lowercase ASCII words joined by hyphens, at most 120 characters; made from the title
    /// when absent. A slug another series has (or had) is a 409.
    #[schema(
        example = "the-bridge-trial",
        max_length = 120,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// Plain text, at most 2,000 characters; blank counts as absent.
    #[schema(
        example = "Our reports on the trial over the collapsed footbridge.",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,1998}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub description: Option<String>,
}

/// Changes to a series: absent fields stay as they are; `description: null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSeries {
    /// 1–300 characters, not all spaces (surrounding spaces are trimmed).
    #[schema(
        example = "The footbridge trial",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,298}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub title: Option<String>,
    /// A new slug; the old one keeps redirecting (301).
    #[schema(
        example = "the-footbridge-trial",
        max_length = 120,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: Option<String>,
    /// At most 2,000 characters; `null` clears it.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, example = "Every report from the courtroom.", pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00]{0,1998}[^\\x00\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$")]
    pub description: Option<Option<String>>,
}

/// The complete new order of a series.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSeriesArticles {
    /// Article ids in their new order, each once, at most 1,000; `[]` empties the series.
    #[serde(deserialize_with = "whole::vec")]
    #[schema(example = json!([12, 15, 9]), max_items = 1000)]
    pub article_ids: Vec<i64>,
}

/// One article to put into a series.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSeriesArticle {
    /// The article's id.
    #[serde(deserialize_with = "whole::i64")]
    #[schema(example = 21)]
    pub article_id: i64,
    /// Where to insert it, 1 to (number of articles + 1); the articles from there on move down
    /// one. Absent: at the end.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(example = 1, minimum = 1)]
    pub position: Option<i64>,
}
