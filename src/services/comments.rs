//! Taking a reader's comment in (checks, anti-abuse, filing) and every moderation step, each
//! in one transaction that also keeps the article's `comment_count` in step.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::api::comments::{
    CommentAccepted, CommentArticle, ModerationStep, ModeratorComment, PostComment, StaffRef,
};
use crate::api::etag::{check_if_match, etag_of, to_json};
use crate::config::Config;
use crate::db::models::NewCommentRow;
use crate::db::queries::comments::{LogRow, QueueRow};
use crate::db::queries::{self, now};
use crate::db::{write_transaction, DbConn};
use crate::domain::article::Audience;
use crate::domain::comment::{
    block_matches, duplicate_key, moderation_note, BlockKind, CommentForm, CommentStatus,
    ModerationAction, NewComment, SpamRules,
};
use crate::domain::markdown::render_comment;
use crate::domain::{FieldError, Violations};
use crate::error::ApiError;
use crate::webhooks::{comment_data, emit, Event};

/// Replies nest at most this deep.
pub const MAX_DEPTH: i32 = 20;
/// The longest user agent kept.
const USER_AGENT_MAX: usize = 512;
pub const BULK_MAX: usize = 500;

/// Who posted: the address the rate limit and blocklist look at, and the user agent.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Client {
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        Client {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(USER_AGENT_MAX).collect()),
        }
    }
}

/// The intake rules taken from the configuration.
#[derive(Debug, Clone)]
pub struct IntakeRules {
    pub rate: u32,
    pub window_secs: u64,
    pub auto_approve: bool,
    pub spam: SpamRules,
}

impl IntakeRules {
    pub fn from_config(config: &Config) -> Self {
        IntakeRules {
            rate: config.comment_rate,
            window_secs: config.comment_window_secs,
            auto_approve: config.comment_auto_approve,
            spam: SpamRules {
                max_links: usize::try_from(config.spam_max_links).unwrap_or(usize::MAX),
                keywords: config.spam_keywords.clone(),
            },
        }
    }
}

fn no_such_article() -> ApiError {
    ApiError::not_found("No public article has this slug.")
}

/// A public article by its slug, or 404.
pub fn public_article(
    conn: &mut DbConn,
    slug: &str,
) -> Result<crate::db::models::ArticleGate, ApiError> {
    let article = queries::articles::gate_by_slug(conn, slug)?.ok_or_else(no_such_article)?;
    if !Audience::Public(now()).sees(&article.status, article.published_at) {
        return Err(no_such_article());
    }
    Ok(article)
}

/// A stable key for an advisory lock on `what` (a client, a comment's duplicate key).
fn lock_key(what: &str) -> i64 {
    let digest = Sha256::digest(what.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Refuses a client that posted `rate` comments within the window, saying when it may again;
/// otherwise notes this one. A client is its rate key: an IPv4 address, or an IPv6 address's
/// /64 network (one subscriber's), hashed.
fn check_rate(
    conn: &mut DbConn,
    rules: &IntakeRules,
    ip: IpAddr,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    if rules.rate == 0 {
        return Ok(());
    }
    let key = crate::domain::client_addr::hashed_rate_key("comment", ip);
    queries::comments::lock_client(conn, lock_key(&key))?;
    let window = chrono::Duration::seconds(i64::try_from(rules.window_secs).unwrap_or(i64::MAX));
    let (count, oldest) = queries::comments::recent_from(conn, &key, now - window)?;
    if count < i64::from(rules.rate) {
        queries::comments::note_intake(conn, &key, now)?;
        return Ok(());
    }
    let free_at = oldest.unwrap_or(now) + window;
    let wait = (free_at - now).num_milliseconds().max(0);
    let retry_after = u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1);
    Err(ApiError::TooManyRequests {
        detail: format!(
            "At most {} comments per {} seconds from one client; try again later.",
            rules.rate, rules.window_secs
        ),
        retry_after,
    })
}

/// Why a new comment is filed as spam at once, if it is.
fn spam_reason(
    conn: &mut DbConn,
    rules: &IntakeRules,
    comment: &NewComment,
    ip: Option<IpAddr>,
    now: NaiveDateTime,
) -> Result<Option<String>, ApiError> {
    for entry in queries::comments::active_blocks(conn, now)? {
        if let Ok(kind) = entry.kind.parse::<BlockKind>() {
            if block_matches(kind, &entry.value, &comment.author_email, ip) {
                return Ok(Some(format!("blocklist: {}", kind.as_str())));
            }
        }
    }
    Ok(rules
        .spam
        .verdict_for(comment)
        .map(|reason| reason.as_str().into_owned()))
}

/// A reader's comment with its fields checked and its body rendered: work that needs no
/// database, done on the request's own thread before `post`, so that SQLite's one writer spends
/// its turn on the writing only.
pub struct Checked {
    parent_id: Option<i64>,
    v: Violations,
    comment: Option<NewComment>,
    html: Option<String>,
}

impl Checked {
    pub fn new(body: &PostComment) -> Self {
        let mut v = Violations::new();
        let form = CommentForm {
            author_name: &body.author_name,
            author_email: &body.author_email,
            body: &body.body,
            author_url: body.author_url.as_deref(),
            website: body.website.as_deref(),
        };
        let comment = NewComment::check(&form, &mut v);
        let html = comment.as_ref().map(|c| render_comment(&c.body));
        Self {
            parent_id: body.parent_id,
            v,
            comment,
            html,
        }
    }
}

/// Takes a reader's comment in. Every check runs before anything is written; the poster hears
/// the same answer whether the comment waits for a moderator or was filed as spam.
pub fn post(
    conn: &mut DbConn,
    slug: &str,
    checked: Checked,
    client: &Client,
    rules: &IntakeRules,
) -> Result<PostOutcome, ApiError> {
    let Checked {
        parent_id,
        mut v,
        comment,
        html,
    } = checked;
    write_transaction(conn, |conn| {
        let article = public_article(conn, slug)?;
        if !article.comments_enabled {
            return Err(ApiError::Forbidden("Comments are closed on this article."));
        }
        let parent = match parent_id {
            None => None,
            Some(pid) => match queries::comments::find(conn, pid)? {
                Some(p)
                    if p.article_id == article.id
                        && p.status == CommentStatus::Approved.as_str() =>
                {
                    if p.depth + 1 > MAX_DEPTH {
                        v.add(
                            "parent_id",
                            format!("replies nest at most {MAX_DEPTH} deep"),
                        );
                    }
                    Some(p)
                }
                _ => {
                    v.add("parent_id", "must be an approved comment of this article");
                    None
                }
            },
        };
        let (comment, html) = v
            .finish(|| comment.zip(html))
            .map_err(ApiError::Validation)?;
        let now = now();
        if let Some(ip) = client.ip {
            check_rate(conn, rules, ip, now)?;
        }
        let ip = client.ip.map(|ip| ip.to_string());
        let mut key = duplicate_key(&comment.author_email, &comment.body);
        // Identical posts at once on several instances take turns (PostgreSQL).
        queries::comments::lock_client(conn, lock_key(&format!("{}/{key}", article.id)))?;
        // A second post of the same body with the same e-mail is filed as spam under a key of
        // its own, and answered like any new comment: an answer that said "already posted"
        // would tell anyone who typed an address whether its owner wrote that comment.
        let repeated = queries::comments::duplicate_exists(conn, article.id, &key)?;
        if repeated {
            key = format!("{key}/repeat-{}", repeat_suffix());
        }
        let email_key = comment.author_email.to_lowercase();
        let spam = if repeated {
            Some("the same e-mail already posted this comment here".to_string())
        } else {
            spam_reason(conn, rules, &comment, client.ip, now)?
        };
        let (status, note) = match spam {
            Some(reason) => (CommentStatus::Spam, Some(format!("automatic: {reason}"))),
            None if rules.auto_approve
                && queries::comments::email_has_approved(conn, &email_key)? =>
            {
                (
                    CommentStatus::Approved,
                    Some("automatic: returning commenter".to_string()),
                )
            }
            None => (CommentStatus::Pending, None),
        };
        let stored = queries::comments::insert(
            conn,
            &NewCommentRow {
                article_id: article.id,
                parent_id: parent.as_ref().map(|p| p.id),
                thread_path: String::new(),
                depth: parent.as_ref().map_or(0, |p| p.depth + 1),
                author_name: comment.author_name,
                author_email: comment.author_email,
                email_key,
                author_url: comment.author_url,
                body_markdown: comment.body,
                body_html: html,
                status: status.as_str().to_string(),
                visible: status == CommentStatus::Approved
                    && parent.as_ref().is_none_or(|p| p.visible),
                ip_address: ip,
                user_agent: client.user_agent.clone(),
                duplicate_key: key,
                moderation_note: note.clone(),
                created_at: now,
            },
            parent.as_ref().map(|p| p.thread_path.as_str()),
        )?;
        if status != CommentStatus::Pending {
            queries::comments::log(
                conn,
                stored.id,
                None,
                CommentStatus::Pending.as_str(),
                status.as_str(),
                note.as_deref(),
                now,
            )?;
        }
        let (data, private) = comment_data(&stored, &article.slug);
        emit(conn, Event::CommentCreated, &data, Some(&private), now)?;
        if status == CommentStatus::Approved {
            queries::comments::recount(conn, article.id)?;
            emit(conn, Event::CommentApproved, &data, Some(&private), now)?;
        }
        Ok(PostOutcome {
            accepted: CommentAccepted {
                id: stored.id,
                // Every comment is answered as waiting for a moderator: spam and repeats alike,
                // and one approved at once because its e-mail has an approved comment (saying
                // so would confirm that a typed address belongs to a known commenter).
                status: CommentStatus::Pending,
            },
            public: status == CommentStatus::Approved,
        })
    })
}

/// What [`post`] did: the poster's answer, and whether readers see the comment already.
pub struct PostOutcome {
    pub accepted: CommentAccepted,
    pub public: bool,
}

/// Random hex, so a repeated comment's key never collides with another's.
fn repeat_suffix() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn no_such_comment() -> ApiError {
    ApiError::not_found("No comment has this id.")
}

/// The moderator's note, checked.
pub fn note(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    moderation_note(raw).map_err(|message| FieldError {
        field: "moderation_note".into(),
        message,
    })
}

/// Gives comment `id` the status `to` (`None`: deletes it, moving its replies up) inside the
/// caller's transaction, records the step, and returns the comment's article and the resulting
/// status (`deleted` for a delete). The article's count is the caller's to recount, once per
/// article.
fn apply(
    conn: &mut DbConn,
    id: i64,
    to: Option<CommentStatus>,
    moderator_id: i64,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<(i64, String), ApiError> {
    let c = queries::comments::find(conn, id)?.ok_or_else(no_such_comment)?;
    match to {
        Some(status) => {
            queries::comments::set_status(conn, id, status, moderator_id, note, now)?;
            if status == CommentStatus::Approved && c.status != status.as_str() {
                let slug = queries::comments::article_slug(conn, c.article_id)?;
                let approved = crate::db::models::Comment {
                    status: status.as_str().to_string(),
                    ..c.clone()
                };
                let (data, private) = comment_data(&approved, &slug);
                emit(conn, Event::CommentApproved, &data, Some(&private), now)?;
            }
            queries::comments::log(
                conn,
                id,
                Some(moderator_id),
                &c.status,
                status.as_str(),
                note,
                now,
            )?;
            Ok((c.article_id, status.as_str().to_string()))
        }
        None => {
            queries::comments::log(
                conn,
                id,
                Some(moderator_id),
                &c.status,
                "deleted",
                note,
                now,
            )?;
            queries::comments::delete_keeping_replies(conn, &c)?;
            Ok((c.article_id, "deleted".to_string()))
        }
    }
}

/// Sets one comment's status (any of the four, `pending` puts it back in the queue) and returns
/// the comment as moderators now see it. With `if_match`, the comment must still be the one
/// whose ETag the moderator holds (412 otherwise, nothing changed): the check and the write run
/// under the comment's lock, so of two moderators holding the same ETag exactly one wins.
pub fn set_status(
    conn: &mut DbConn,
    id: i64,
    status: CommentStatus,
    note: Option<&str>,
    moderator_id: i64,
    if_match: Option<&str>,
) -> Result<TaggedView, ApiError> {
    write_transaction(conn, |conn| {
        queries::comments::lock(conn, &[id])?;
        if let Some(if_match) = if_match {
            let (_, etag) = tagged_view(conn, id)?;
            check_if_match(if_match, &etag)?;
        }
        let (article_id, _) = apply(conn, id, Some(status), moderator_id, note, now())?;
        queries::comments::recount(conn, article_id)?;
        tagged_view(conn, id)
    })
}

pub fn delete(conn: &mut DbConn, id: i64, moderator_id: i64) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        queries::comments::lock(conn, &[id])?;
        let (article_id, _) = apply(conn, id, None, moderator_id, None, now())?;
        queries::comments::recount(conn, article_id)?;
        Ok(())
    })
}

/// Refuses a bulk action when a listed comment's status is not `expected`, naming each such
/// `ids[i]` with the status it has.
fn check_expected(
    ids: &[i64],
    statuses: &HashMap<i64, String>,
    expected: CommentStatus,
) -> Result<(), ApiError> {
    let differing: Vec<(usize, i64, &str)> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let status = statuses.get(id)?;
            (status != expected.as_str()).then_some((i, *id, status.as_str()))
        })
        .collect();
    if differing.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = differing.iter().map(|(_, id, _)| id.to_string()).collect();
    let (noun, verb) = if differing.len() == 1 {
        ("Comment", "is")
    } else {
        ("Comments", "are")
    };
    Err(ApiError::StateConflict {
        detail: format!(
            "{noun} {} {verb} not {expected} any more (another moderator may have got there \
             first); nothing was changed.",
            listed.join(", ")
        ),
        errors: differing
            .into_iter()
            .map(|(i, id, status)| FieldError {
                field: format!("ids[{i}]"),
                message: format!("{id} is {status}, not {expected}"),
            })
            .collect(),
    })
}

/// One action on many comments, all or nothing: an unknown or repeated id refuses the whole
/// request before anything changes, and so does, with `expected`, a comment whose status is
/// another (409). The comments stay locked from that check to the last write.
pub fn bulk(
    conn: &mut DbConn,
    ids: &[i64],
    action: ModerationAction,
    expected: Option<CommentStatus>,
    note: Option<&str>,
    moderator_id: i64,
) -> Result<Vec<(i64, String)>, ApiError> {
    write_transaction(conn, |conn| {
        queries::comments::lock(conn, ids)?;
        let statuses: HashMap<i64, String> = queries::comments::find_many(conn, ids)?
            .into_iter()
            .map(|c| (c.id, c.status))
            .collect();
        let mut v = Violations::new();
        let mut seen = HashSet::new();
        for (i, id) in ids.iter().enumerate() {
            if !statuses.contains_key(id) {
                v.add(&format!("ids[{i}]"), format!("{id} is not a comment"));
            } else if !seen.insert(*id) {
                v.add(
                    &format!("ids[{i}]"),
                    format!("{id} is listed more than once"),
                );
            }
        }
        if !v.is_empty() {
            return Err(ApiError::Validation(v.into_errors()));
        }
        if let Some(expected) = expected {
            check_expected(ids, &statuses, expected)?;
        }
        let now = now();
        let mut articles = BTreeSet::new();
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let (article_id, status) =
                apply(conn, *id, action.target_status(), moderator_id, note, now)?;
            articles.insert(article_id);
            results.push((*id, status));
        }
        for article_id in articles {
            queries::comments::recount(conn, article_id)?;
        }
        Ok(results)
    })
}

fn staff(id: Option<i64>, name: Option<String>) -> Option<StaffRef> {
    Some(StaffRef {
        id: id?,
        display_name: name?,
    })
}

/// Moderators' views of `rows`, each with its history.
pub fn moderator_views(
    conn: &mut DbConn,
    rows: Vec<QueueRow>,
) -> Result<Vec<ModeratorComment>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|(c, _, _)| c.id).collect();
    let mut history: HashMap<i64, Vec<ModerationStep>> = HashMap::new();
    for LogRow {
        comment_id,
        moderator_id,
        moderator_name,
        from_status,
        to_status,
        note,
        created_at,
    } in queries::comments::history(conn, &ids)?
    {
        history.entry(comment_id).or_default().push(ModerationStep {
            from_status,
            to_status,
            moderator: staff(moderator_id, moderator_name),
            note,
            created_at: created_at.and_utc(),
        });
    }
    rows.into_iter()
        .map(|(c, (article_id, slug, title), moderator_name)| {
            Ok(ModeratorComment {
                status: c.status.parse().map_err(ApiError::internal)?,
                history: history.remove(&c.id).unwrap_or_default(),
                id: c.id,
                article: CommentArticle {
                    id: article_id,
                    slug,
                    title,
                },
                parent_id: c.parent_id,
                depth: c.depth,
                author_name: c.author_name,
                author_email: c.author_email,
                author_url: c.author_url,
                body_markdown: c.body_markdown,
                body_html: c.body_html,
                ip_address: c.ip_address,
                user_agent: c.user_agent,
                moderated_by: staff(c.moderated_by, moderator_name),
                moderated_at: c.moderated_at.map(|t| t.and_utc()),
                moderation_note: c.moderation_note,
                created_at: c.created_at.and_utc(),
            })
        })
        .collect()
}

/// A comment as moderators see it, serialised, and the ETag of those bytes.
pub type TaggedView = (Vec<u8>, String);

/// One comment as moderators see it, serialised, with its ETag: the tag changes with every
/// moderation step, as status, note, moderator, time and history are all in the view.
pub fn tagged_view(conn: &mut DbConn, id: i64) -> Result<TaggedView, ApiError> {
    let bytes = to_json(&moderator_view(conn, id)?)?;
    let etag = etag_of(&bytes);
    Ok((bytes, etag))
}

/// One comment as moderators see it, or 404.
pub fn moderator_view(conn: &mut DbConn, id: i64) -> Result<ModeratorComment, ApiError> {
    let row = queries::comments::queue_row(conn, id)?.ok_or_else(no_such_comment)?;
    moderator_views(conn, vec![row])?
        .pop()
        .ok_or_else(no_such_comment)
}
