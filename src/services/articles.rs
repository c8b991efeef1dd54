//! Creating and changing articles: merge, validate, render, then write the article, its tags,
//! old slug, search entry and revision in one transaction.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::api::articles::{ArticleView, Author, CreateArticle, UpdateArticle};
use crate::api::etag::{check_if_match, etag_of, to_json};
use crate::db::models::{Article, ArticleWrite, Revision};
use crate::db::queries::{self, now};
use crate::db::{write_statement, write_transaction, DbConn};
use crate::domain::article::{self, Audience, Status, EXCERPT_MAX, SUBTITLE_MAX};
use crate::domain::markdown::{plain_text, render_article};
use crate::domain::slug::Slug;
use crate::domain::Violations;
use crate::error::ApiError;
use crate::services::slugs::unique_slug;
use crate::webhooks::{article_data, emit, Event};

/// The complete editable state of an article, before rendering.
#[derive(Debug, Clone)]
pub struct Draft {
    pub title: String,
    /// `None`: make one from the title (new articles) or keep the current one.
    pub slug: Option<String>,
    pub subtitle: Option<String>,
    /// An editor's own excerpt; `None` uses the body's first paragraph.
    pub excerpt: Option<String>,
    pub body_markdown: String,
    pub cover_image_url: Option<String>,
    pub tags: Vec<String>,
    pub language: String,
    pub status: Status,
    pub published_at: Option<NaiveDateTime>,
    pub comments_enabled: bool,
}

fn check_published_at(
    v: &mut Violations,
    raw: Option<DateTime<Utc>>,
) -> Option<Option<NaiveDateTime>> {
    v.check(
        "published_at",
        raw.map(crate::domain::timestamp).transpose(),
    )
}

fn check_status(v: &mut Violations, raw: &str) -> Option<Status> {
    v.check("status", raw.parse::<Status>())
}

fn check_tags(v: &mut Violations, raw: &[String]) -> Option<Vec<String>> {
    match article::tags(raw) {
        Ok(t) => Some(t),
        Err(errors) => {
            for (field, message) in errors {
                v.add(&field, message);
            }
            None
        }
    }
}

fn check_slug(v: &mut Violations, raw: &str) -> Option<String> {
    v.check(
        "slug",
        Slug::try_from(raw.to_string()).map(Slug::into_inner),
    )
}

/// Rules that involve more than one field, on the merged state.
fn finish(mut v: Violations, draft: Option<Draft>) -> Result<Draft, ApiError> {
    if let Some(d) = &draft {
        if d.status == Status::Scheduled && d.published_at.is_none() {
            v.add("published_at", "is required when status is scheduled");
        }
    }
    let mut draft = v.finish(|| draft).map_err(ApiError::Validation)?;
    if draft.status == Status::Published && draft.published_at.is_none() {
        draft.published_at = Some(now());
    }
    Ok(draft)
}

impl Draft {
    pub fn from_create(body: CreateArticle) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let title = v.check("title", article::title(&body.title));
        let slug = match body.slug.as_deref() {
            Some(s) => check_slug(&mut v, s).map(Some),
            None => Some(None),
        };
        let subtitle = v.check(
            "subtitle",
            article::optional_text(body.subtitle.as_deref(), SUBTITLE_MAX),
        );
        let excerpt = v.check(
            "excerpt",
            article::optional_text(body.excerpt.as_deref(), EXCERPT_MAX),
        );
        let body_markdown = body.body_markdown.unwrap_or_default();
        let body_ok = v.check("body_markdown", article::body(&body_markdown));
        let cover = v.check(
            "cover_image_url",
            article::http_url(body.cover_image_url.as_deref()),
        );
        let tags = check_tags(&mut v, body.tags.as_deref().unwrap_or_default());
        let language = v.check(
            "language",
            article::language(body.language.as_deref().unwrap_or("en")),
        );
        let status = match body.status.as_deref() {
            Some(s) => check_status(&mut v, s),
            None => Some(Status::Draft),
        };
        let published_at = check_published_at(&mut v, body.published_at);
        let draft = (|| {
            body_ok?;
            Some(Draft {
                title: title?,
                slug: slug?,
                subtitle: subtitle?,
                excerpt: excerpt?,
                body_markdown,
                cover_image_url: cover?,
                tags: tags?,
                language: language?,
                status: status?,
                published_at: published_at?,
                comments_enabled: body.comments_enabled.unwrap_or(true),
            })
        })();
        finish(v, draft)
    }

    pub fn from_article(a: &Article, tags: Vec<String>) -> Result<Self, ApiError> {
        Ok(Draft {
            title: a.title.clone(),
            slug: Some(a.slug.clone()),
            subtitle: a.subtitle.clone(),
            excerpt: a.excerpt_is_custom.then(|| a.excerpt.clone()),
            body_markdown: a.body_markdown.clone(),
            cover_image_url: a.cover_image_url.clone(),
            tags,
            language: a.language.clone(),
            status: a.status.parse().map_err(ApiError::internal)?,
            published_at: a.published_at,
            comments_enabled: a.comments_enabled,
        })
    }

    /// This state with `patch` applied; every invalid field is reported.
    pub fn patched(mut self, patch: UpdateArticle) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        if let Some(t) = patch.title {
            if let Some(t) = v.check("title", article::title(&t)) {
                self.title = t;
            }
        }
        if let Some(s) = patch.slug {
            if let Some(s) = check_slug(&mut v, &s) {
                self.slug = Some(s);
            }
        }
        if let Some(s) = patch.subtitle {
            if let Some(s) = v.check(
                "subtitle",
                article::optional_text(s.as_deref(), SUBTITLE_MAX),
            ) {
                self.subtitle = s;
            }
        }
        if let Some(e) = patch.excerpt {
            if let Some(e) = v.check("excerpt", article::optional_text(e.as_deref(), EXCERPT_MAX)) {
                self.excerpt = e;
            }
        }
        if let Some(b) = patch.body_markdown {
            if v.check("body_markdown", article::body(&b)).is_some() {
                self.body_markdown = b;
            }
        }
        if let Some(c) = patch.cover_image_url {
            if let Some(c) = v.check("cover_image_url", article::http_url(c.as_deref())) {
                self.cover_image_url = c;
            }
        }
        if let Some(t) = patch.tags {
            if let Some(t) = check_tags(&mut v, &t) {
                self.tags = t;
            }
        }
        if let Some(l) = patch.language {
            if let Some(l) = v.check("language", article::language(&l)) {
                self.language = l;
            }
        }
        if let Some(s) = patch.status {
            if let Some(s) = check_status(&mut v, &s) {
                self.status = s;
            }
        }
        if let Some(p) = patch.published_at {
            if let Some(p) = check_published_at(&mut v, p) {
                self.published_at = p;
            }
        }
        if let Some(c) = patch.comments_enabled {
            self.comments_enabled = c;
        }
        finish(v, Some(self))
    }

    /// The content of `revision` over this state; status, slug and publication stay current.
    pub fn restored(mut self, revision: &Revision) -> Result<Self, ApiError> {
        self.title = revision.title.clone();
        self.subtitle = revision.subtitle.clone();
        self.excerpt = revision.excerpt_is_custom.then(|| revision.excerpt.clone());
        self.body_markdown = revision.body_markdown.clone();
        self.cover_image_url = revision.cover_image_url.clone();
        self.tags = serde_json::from_str(&revision.tags).map_err(ApiError::internal)?;
        self.language = revision.language.clone();
        Ok(self)
    }
}

/// Renders the body; slow for big bodies, so done before the write lock is taken.
pub struct Rendered {
    pub html: String,
    pub plain: String,
    pub auto_excerpt: String,
    pub word_count: i32,
    pub reading_time_minutes: i32,
}

pub fn render(draft: &Draft) -> Rendered {
    let r = render_article(&draft.body_markdown);
    Rendered {
        html: r.html,
        plain: plain_text(&draft.body_markdown),
        auto_excerpt: r.excerpt,
        word_count: i32::try_from(r.word_count).unwrap_or(i32::MAX),
        reading_time_minutes: i32::try_from(r.reading_time_minutes).unwrap_or(i32::MAX),
    }
}

fn resolve_slug(conn: &mut DbConn, draft: &Draft, except: Option<i64>) -> Result<String, ApiError> {
    unique_slug(
        draft.slug.as_deref(),
        &draft.title,
        "article",
        "article",
        |s| queries::articles::slug_taken(conn, s, except),
    )
}

fn row(
    draft: &Draft,
    rendered: &Rendered,
    slug: String,
    author_id: i64,
    version: i32,
    created_at: NaiveDateTime,
    now: NaiveDateTime,
) -> ArticleWrite {
    let (excerpt, excerpt_is_custom) = match &draft.excerpt {
        Some(e) => (e.clone(), true),
        None => (rendered.auto_excerpt.clone(), false),
    };
    ArticleWrite {
        slug,
        title: draft.title.clone(),
        subtitle: draft.subtitle.clone(),
        excerpt,
        excerpt_is_custom,
        body_markdown: draft.body_markdown.clone(),
        body_html: rendered.html.clone(),
        plain_text: rendered.plain.clone(),
        cover_image_url: draft.cover_image_url.clone(),
        language: draft.language.clone(),
        status: draft.status.as_str().to_string(),
        published_at: draft.published_at,
        sort_at: draft.published_at.unwrap_or(created_at),
        author_id,
        reading_time_minutes: rendered.reading_time_minutes,
        word_count: rendered.word_count,
        comments_enabled: draft.comments_enabled,
        version,
        created_at,
        updated_at: now,
    }
}

/// Records the state `article` is in now as its revision `article.version`.
fn record_revision(
    conn: &mut DbConn,
    article: &Article,
    tags: &[String],
    editor_id: i64,
) -> Result<(), ApiError> {
    queries::articles::insert_revision(
        conn,
        &Revision {
            id: 0,
            article_id: article.id,
            rev: article.version,
            title: article.title.clone(),
            subtitle: article.subtitle.clone(),
            excerpt: article.excerpt.clone(),
            excerpt_is_custom: article.excerpt_is_custom,
            body_markdown: article.body_markdown.clone(),
            cover_image_url: article.cover_image_url.clone(),
            tags: serde_json::to_string(tags).map_err(ApiError::internal)?,
            language: article.language.clone(),
            status: article.status.clone(),
            slug: article.slug.clone(),
            published_at: article.published_at,
            editor_id,
            created_at: article.updated_at,
        },
    )?;
    Ok(())
}

pub fn create(
    conn: &mut DbConn,
    draft: &Draft,
    rendered: &Rendered,
    author_id: i64,
) -> Result<Article, ApiError> {
    write_transaction(conn, |conn| {
        let slug = resolve_slug(conn, draft, None)?;
        let now = now();
        let article =
            queries::articles::insert(conn, &row(draft, rendered, slug, author_id, 1, now, now))?;
        queries::articles::set_tags(conn, article.id, &draft.tags)?;
        queries::articles::index_for_search(conn, &article)?;
        record_revision(conn, &article, &draft.tags, author_id)?;
        announce(conn, None, Some(&article), now)?;
        Ok(article)
    })
}

/// The article as `audience` sees it (series navigation counts what they see), with the ETag
/// of that representation.
pub fn load_view(
    conn: &mut DbConn,
    article: Article,
    audience: Audience,
) -> Result<(Vec<u8>, String, ArticleView), ApiError> {
    let display_name = queries::articles::author_name(conn, article.author_id)?;
    let rendered = render_view(conn, article, display_name, audience)?;
    Ok((rendered.bytes, rendered.etag, rendered.view))
}

/// An article's representation for one audience.
pub struct RenderedView {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub view: ArticleView,
    /// When the representation next changes by itself (a scheduled series neighbour going
    /// public); `None` if only a write can change it.
    pub valid_until: Option<NaiveDateTime>,
}

/// The article as `audience` sees it, written by `display_name`.
pub fn render_view(
    conn: &mut DbConn,
    article: Article,
    display_name: String,
    audience: Audience,
) -> Result<RenderedView, ApiError> {
    let (series, valid_until) =
        crate::services::series::navigation_until(conn, article.id, audience)?;
    let tags = queries::articles::tags_of(conn, article.id)?;
    let view = ArticleView {
        id: article.id,
        slug: article.slug,
        title: article.title,
        subtitle: article.subtitle,
        excerpt: article.excerpt,
        body_markdown: article.body_markdown,
        body_html: article.body_html,
        cover_image_url: article.cover_image_url,
        tags,
        language: article.language,
        status: article.status.parse().map_err(ApiError::internal)?,
        published_at: article.published_at.map(|t| t.and_utc()),
        created_at: article.created_at.and_utc(),
        updated_at: article.updated_at.and_utc(),
        author: Author {
            id: article.author_id,
            display_name,
        },
        reading_time_minutes: article.reading_time_minutes,
        word_count: article.word_count,
        comments_enabled: article.comments_enabled,
        comment_count: article.comment_count,
        series,
    };
    let bytes = to_json(&view)?;
    let etag = etag_of(&bytes);
    Ok(RenderedView {
        bytes,
        etag,
        view,
        valid_until,
    })
}

/// Loads the article, checks `If-Match` against its current ETag, and hands the current state
/// to `change`, which returns the new one (or an error that leaves everything untouched).
pub fn update(
    conn: &mut DbConn,
    id: i64,
    if_match: &str,
    editor_id: i64,
    change: impl FnOnce(&mut DbConn, Draft) -> Result<Draft, ApiError>,
) -> Result<Article, ApiError> {
    write_transaction(conn, |conn| {
        let current = queries::articles::find(conn, id)?.ok_or_else(no_such_article)?;
        let view = check_current(conn, &current, if_match)?;
        let draft = change(conn, Draft::from_article(&current, view.tags.clone())?)?;
        let rendered = render(&draft);
        let slug = match &draft.slug {
            Some(s) if *s == current.slug => s.clone(),
            _ => resolve_slug(conn, &draft, Some(id))?,
        };
        let now = now();
        if slug != current.slug {
            queries::articles::move_slug(conn, id, &current.slug, &slug, now)?;
        }
        let new_row = row(
            &draft,
            &rendered,
            slug,
            current.author_id,
            current.version + 1,
            current.created_at,
            now,
        );
        if queries::articles::update(conn, id, current.version, &new_row)? == 0 {
            return Err(ApiError::PreconditionFailed);
        }
        let article = queries::articles::find(conn, id)?.ok_or_else(no_such_article)?;
        if draft.tags != view.tags {
            queries::articles::set_tags(conn, id, &draft.tags)?;
        }
        queries::articles::index_for_search(conn, &article)?;
        record_revision(conn, &article, &draft.tags, editor_id)?;
        announce(conn, Some(&current), Some(&article), now)?;
        Ok(article)
    })
}

pub fn delete(conn: &mut DbConn, id: i64, if_match: &str) -> Result<(), ApiError> {
    write_transaction(conn, |conn| {
        let current = queries::articles::find(conn, id)?.ok_or_else(no_such_article)?;
        check_current(conn, &current, if_match)?;
        crate::services::series::remove_article_everywhere(conn, id)?;
        if queries::articles::delete(conn, id, current.version)? == 0 {
            return Err(ApiError::PreconditionFailed);
        }
        announce(conn, Some(&current), None, now())?;
        Ok(())
    })
}

/// Checks `If-Match` against the article as editors see it or as readers see it (their series
/// navigation differs when drafts are in a series): a client may hold either ETag. Returns the
/// editors' view.
fn check_current(
    conn: &mut DbConn,
    article: &Article,
    if_match: &str,
) -> Result<ArticleView, ApiError> {
    let (_, staff_etag, view) = load_view(conn, article.clone(), Audience::Staff)?;
    if check_if_match(if_match, &staff_etag).is_err() {
        let (_, public_etag, _) = load_view(conn, article.clone(), Audience::Public(now()))?;
        check_if_match(if_match, &public_etag)?;
    }
    Ok(view)
}

/// Tells webhooks what readers will notice of a change from `before` to `after` (`None`: the
/// article did not exist before, or does not any more).
fn announce(
    conn: &mut DbConn,
    before: Option<&Article>,
    after: Option<&Article>,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let public = |a: Option<&Article>| {
        a.is_some_and(|a| Audience::Public(now).sees(&a.status, a.published_at))
    };
    let event = match (public(before), public(after)) {
        (false, true) => Event::ArticlePublished,
        (true, true) => Event::ArticleUpdated,
        (true, false) if after.is_some() => Event::ArticleUnpublished,
        (true, false) => Event::ArticleDeleted,
        (false, false) => return Ok(()),
    };
    let Some(subject) = after.or(before) else {
        return Ok(());
    };
    emit(conn, event, &article_data(subject), None, now)
}

pub fn no_such_article() -> ApiError {
    ApiError::not_found("No article has this id.")
}

/// Renders article `id` as readers see it at `now` and stores the render, unless a change has
/// bumped its render's generation past `generation` (read before the article was). The body
/// and ETag, or `None` when readers do not see the article.
pub fn refresh_render(
    conn: &mut DbConn,
    id: i64,
    generation: Option<i64>,
    now: chrono::NaiveDateTime,
) -> Result<Option<(Vec<u8>, String)>, ApiError> {
    let audience = Audience::Public(now);
    let Some((article, display_name)) = queries::articles::find_with_author(conn, id)? else {
        return Ok(None);
    };
    if !audience.sees(&article.status, article.published_at) {
        return Ok(None);
    }
    let rendered = render_view(conn, article, display_name, audience)?;
    if let (Some(generation), Ok(body)) = (generation, std::str::from_utf8(&rendered.bytes)) {
        let stored = write_statement(conn, |conn| {
            queries::renders::store(
                conn,
                id,
                generation,
                &rendered.etag,
                rendered.valid_until,
                body,
            )
        });
        // The reader has the answer either way; the next one renders again.
        if let Err(e) = stored {
            tracing::warn!(article_id = id, error = %e, "storing an article's render failed");
        }
    }
    Ok(Some((rendered.bytes, rendered.etag)))
}
