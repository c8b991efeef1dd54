//! What the comment endpoints accept and answer. Public shapes carry no e-mail, address, user
//! agent or status; those exist only in the moderators' shapes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::whole;
use crate::domain::comment::{BlockKind, CommentStatus, ModerationAction};

/// A reader's comment as the public form sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostComment {
    /// The name shown with the comment, 1–100 characters without control characters.
    #[schema(
        example = "Dana K.",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x1f\\x7f-\\x9f]{0,98}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub author_name: String,
    /// Required, never published: only moderators see it. An address with a dotted domain, no
    /// IP literal and no display name.
    #[schema(example = "dana@example.org", max_length = 254, format = Email)]
    pub author_email: String,
    /// Markdown subset (emphasis, links, code, quotes, lists), 1–10,000 characters; no control
    /// characters but tabs and line breaks.
    #[schema(
        example = "The ferry timetable is *still* wrong on the website.",
        min_length = 1,
        pattern = "^[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]{0,9998}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$"
    )]
    pub body: String,
    /// The approved comment of the same article this one answers.
    #[serde(default, deserialize_with = "whole::option")]
    #[schema(example = 41)]
    pub parent_id: Option<i64>,
    /// The commenter's own site, http(s) only; blank counts as absent.
    #[schema(
        example = "https://dana.example.org",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*(?:[Hh][Tt][Tt][Pp]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1992}|[Hh][Tt][Tt][Pp][Ss]://[^/\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\"<>\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]{0,1991})[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub author_url: Option<String>,
    /// Honeypot: render this field invisibly and leave it empty. Bots fill it in; their comment
    /// is then filed as spam (the answer does not change).
    #[schema(example = "", pattern = "^[^\\x00]*$")]
    pub website: Option<String>,
}

/// The answer to a posted comment: it waits for a moderator.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentAccepted {
    /// The new comment's id.
    #[schema(example = 42)]
    pub id: i64,
    /// Always `pending`: the answer never says whether the comment was filed as spam, repeats
    /// an earlier one, or was approved at once for a known e-mail address.
    #[schema(example = "pending")]
    pub status: CommentStatus,
}

/// A comment as readers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicComment {
    /// The comment's id.
    #[schema(example = 42)]
    pub id: i64,
    /// The comment this one answers, or `null` at the top of the thread.
    #[schema(example = 41)]
    pub parent_id: Option<i64>,
    /// How deep in the thread: 0 for a top-level comment, 1 for a reply, …
    #[schema(example = 1)]
    pub depth: i32,
    /// The name the commenter gave.
    #[schema(example = "Dana K.")]
    pub author_name: String,
    /// The site the commenter gave.
    #[schema(example = "https://dana.example.org")]
    pub author_url: Option<String>,
    /// The comment rendered to sanitised HTML; links carry `rel="nofollow ugc noopener"`.
    #[schema(example = "<p>The ferry timetable is <em>still</em> wrong on the website.</p>\n")]
    pub body_html: String,
    /// When it was posted.
    #[schema(example = "2026-11-25T09:15:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A staff member.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaffRef {
    /// The user's id.
    #[schema(example = 3)]
    pub id: i64,
    /// The user's display name.
    #[schema(example = "Marat (moderator)")]
    pub display_name: String,
}

/// The article a comment belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentArticle {
    /// The article's id.
    #[schema(example = 12)]
    pub id: i64,
    /// The article's slug.
    #[schema(example = "the-river-crossing-reopens")]
    pub slug: String,
    /// The article's title.
    #[schema(example = "The river crossing reopens")]
    pub title: String,
}

/// One step in a comment's moderation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationStep {
    /// The status before.
    #[schema(example = "pending")]
    pub from_status: String,
    /// The status after: `pending`, `approved`, `rejected`, `spam` or `deleted`.
    #[schema(example = "approved")]
    pub to_status: String,
    /// Who did it; `null` for the automatic spam filters (or a deleted user).
    pub moderator: Option<StaffRef>,
    /// The note given, or the automatic filter's reason.
    #[schema(example = "on topic")]
    pub note: Option<String>,
    /// When.
    #[schema(example = "2026-11-25T09:30:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A comment as moderators see it, with the private fields and its moderation history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeratorComment {
    /// The comment's id.
    #[schema(example = 42)]
    pub id: i64,
    /// The article it was posted on.
    pub article: CommentArticle,
    /// The comment this one answers.
    #[schema(example = 41)]
    pub parent_id: Option<i64>,
    /// How deep in the thread.
    #[schema(example = 1)]
    pub depth: i32,
    /// The name the commenter gave.
    #[schema(example = "Dana K.")]
    pub author_name: String,
    /// The commenter's e-mail: private, never published.
    #[schema(example = "dana@example.org")]
    pub author_email: String,
    /// The site the commenter gave.
    #[schema(example = "https://dana.example.org")]
    pub author_url: Option<String>,
    /// The comment as typed.
    #[schema(example = "The ferry timetable is *still* wrong on the website.")]
    pub body_markdown: String,
    /// The comment as readers see it.
    #[schema(example = "<p>The ferry timetable is <em>still</em> wrong on the website.</p>\n")]
    pub body_html: String,
    /// Where it is in moderation.
    pub status: CommentStatus,
    /// The client's address: private.
    #[schema(example = "203.0.113.7")]
    pub ip_address: Option<String>,
    /// The client's user agent: private.
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64)")]
    pub user_agent: Option<String>,
    /// Who last moderated it.
    pub moderated_by: Option<StaffRef>,
    /// When it was last moderated.
    #[schema(example = "2026-11-25T09:30:00Z")]
    pub moderated_at: Option<DateTime<Utc>>,
    /// The last moderation note, or the automatic filter's reason.
    #[schema(example = "on topic")]
    pub moderation_note: Option<String>,
    /// When it was posted.
    #[schema(example = "2026-11-25T09:15:00Z")]
    pub created_at: DateTime<Utc>,
    /// Every moderation step, oldest first.
    pub history: Vec<ModerationStep>,
}

/// Filters of the moderation queue.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Only comments with this status (default: all).
    #[param(value_type = Option<CommentStatus>, example = "pending")]
    pub status: Option<String>,
    /// Only comments on the article with this slug.
    #[param(example = "the-river-crossing-reopens", pattern = "^[^\\x00]*$")]
    pub article: Option<String>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<i64>,
    /// `page.next_cursor` of the previous page, an opaque token the server issued.
    #[param(example = "NDI", max_length = 1024, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A moderator's decision on one comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerateComment {
    /// The new status.
    #[schema(value_type = CommentStatus, example = "approved")]
    pub status: String,
    /// Why, for the other moderators; at most 1,000 characters, no control characters but tabs
    /// and line breaks.
    #[schema(
        example = "on topic",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]{0,998}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub moderation_note: Option<String>,
}

/// One action on many comments, all or nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkModerate {
    /// The comments, 1–500 ids, each once.
    #[serde(deserialize_with = "whole::vec")]
    #[schema(example = json!([42, 43, 47]), min_items = 1, max_items = 500)]
    pub ids: Vec<i64>,
    /// What to do with every one of them.
    #[schema(value_type = ModerationAction, example = "approve")]
    pub action: String,
    /// A precondition: the status every listed comment must have now. When one has another (a
    /// second moderator got there first), the answer is 409 naming each such `ids[i]`, and
    /// nothing is changed. Absent: the action applies whatever the current statuses.
    #[schema(value_type = Option<CommentStatus>, example = "pending")]
    pub expected_status: Option<String>,
    /// A note recorded with each, at most 1,000 characters, no control characters but tabs and
    /// line breaks.
    #[schema(
        example = "cleared the morning queue",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]{0,998}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub moderation_note: Option<String>,
}

/// What happened to one comment of a bulk action.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOutcome {
    /// The comment's id.
    #[schema(example = 42)]
    pub id: i64,
    /// Its status now: `pending`, `approved`, `rejected`, `spam`, or `deleted`.
    #[schema(example = "approved")]
    pub status: String,
}

/// The answer to a bulk action, one entry per id in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// One outcome per id.
    pub results: Vec<BulkOutcome>,
}

/// How many comments have each status.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentStats {
    /// Waiting for a moderator.
    #[schema(example = 4)]
    pub pending: i64,
    /// Shown to readers.
    #[schema(example = 120)]
    pub approved: i64,
    /// Turned down.
    #[schema(example = 9)]
    pub rejected: i64,
    /// Filed as spam.
    #[schema(example = 37)]
    pub spam: i64,
}

/// A blocklist entry: new comments that match it are filed as spam.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// The entry's id.
    #[schema(example = 5)]
    pub id: i64,
    /// What `value` is.
    pub kind: BlockKind,
    /// The e-mail, domain (subdomains match too), IP address or CIDR network, normalised.
    #[schema(example = "203.0.113.0/24")]
    pub value: String,
    /// Why it was added.
    #[schema(example = "link spam from this network")]
    pub note: Option<String>,
    /// When it stops applying; `null` for never.
    #[schema(example = "2026-12-25T00:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was added.
    #[schema(example = "2026-11-25T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Who added it.
    pub created_by: Option<StaffRef>,
}

/// A new blocklist entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddBlock {
    /// What `value` is.
    #[schema(value_type = BlockKind, example = "cidr")]
    pub kind: String,
    /// An e-mail address (`email`), a domain (`email_domain`), an IP address (`ip`) or a CIDR
    /// network or address (`cidr`), as `kind` says.
    #[schema(example = "203.0.113.0/24", max_length = 254)]
    pub value: String,
    /// Why, for the other moderators; at most 1,000 characters, no control characters but tabs
    /// and line breaks.
    #[schema(
        example = "link spam from this network",
        pattern = "^(?:[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*|[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000](?:[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]{0,998}[^\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000])?[\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*)$"
    )]
    pub note: Option<String>,
    /// When it stops applying; absent for never.
    #[schema(example = "2026-12-25T00:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
}
