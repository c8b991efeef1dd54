//! Atom 1.0 feeds: the latest public articles, and each series in its order. Every link is
//! absolute (most feed readers resolve nothing): from `MASTHEAD_PUBLIC_URL`, or else the
//! request's own origin, so feeds work out of the box on a laptop; the response cache keys on
//! that origin then.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Text, WriteConfig,
};
use chrono::{DateTime, NaiveDateTime, Utc};

use crate::config::Config;
use crate::db::models::Article;
use crate::db::queries::articles::{ListFilter, Visibility};
use crate::db::queries::{self, now};
use crate::db::DbConn;
use crate::domain::article::{tag_slug, Audience};
use crate::error::ApiError;
use crate::routes::caching::{cached_body, moved_permanently};
use crate::services::series::load_view;
use crate::state::AppState;

/// How many of the latest articles the site feed carries.
pub const SITE_FEED_LENGTH: i64 = 20;

const ATOM: &str = "application/atom+xml; charset=utf-8";

/// The latest articles.
///
/// The 20 most recent public articles as an Atom 1.0 feed, newest first, each with its full
/// HTML body. Links are absolute, from `MASTHEAD_PUBLIC_URL` (or the request's own origin when
/// it is unset); entry ids are `tag:` URIs that survive slug changes.
#[utoipa::path(
    get,
    path = "/feed.atom",
    tag = "feeds",
    operation_id = "site_feed",
    params(("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged")),
    security(()),
    responses(
        (status = 200, description = "The feed (Atom 1.0)", content_type = "application/atom+xml", body = String,
            headers(
                ("ETag" = String, description = "Strong validator of the feed"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`"),
            )),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
    )
)]
pub async fn site_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let articles = state
        .db
        .run(|conn| {
            let now = now();
            let filter = ListFilter {
                visibility: Visibility::Public(now),
                tag: None,
                series: None,
                author: None,
                terms: None,
                published_after: None,
                published_before: None,
                oldest_first: false,
                after: None,
                limit: SITE_FEED_LENGTH,
            };
            let ids: Vec<i64> = queries::articles::list(conn, &filter)?
                .into_iter()
                .map(|(a, _, _)| a.id)
                .collect();
            load_articles(conn, &ids, now)
        })
        .await?;
    let site = Site::of(&req, &state.config);
    let self_url = format!("{}/feed.atom", site.base);
    let feed = Feed {
        title: Text::plain(format!("{}: latest articles", site.host)),
        id: self_url.clone(),
        updated: newest(&articles, None),
        links: feed_links(self_url, format!("{}/api/v1/articles", site.base)),
        entries: articles.into_iter().map(|a| entry(&site, a)).collect(),
        ..base_feed()
    };
    Ok(feed_response(&req, &state.config, to_bytes(&feed)?))
}

/// A series' feed.
///
/// The public articles of a series as an Atom 1.0 feed, in the series' order (part 1 first),
/// each with its full HTML body. Drafts and articles scheduled for later are left out. An old
/// slug answers 301 to the current feed.
#[utoipa::path(
    get,
    path = "/series/{slug}/feed.atom",
    tag = "feeds",
    operation_id = "series_feed",
    params(
        ("slug" = String, Path, description = "The series' current or an old slug", example = "the-bridge-trial"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer: 304 if unchanged"),
    ),
    security(()),
    responses(
        (status = 200, description = "The feed (Atom 1.0)", content_type = "application/atom+xml", body = String,
            headers(
                ("ETag" = String, description = "Strong validator of the feed"),
                ("Cache-Control" = String, description = "`public, max-age=60, stale-while-revalidate=300`"),
            )),
        (status = 301, description = "An old slug: the feed lives at `Location` now",
            headers(("Location" = String, description = "The feed's current URL"))),
        (status = 304, description = "Not modified since the ETag in `If-None-Match`"),
        (status = 404, response = crate::error::responses::NotFound),
    )
)]
pub async fn series_feed(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let found = state
        .db
        .run(move |conn| {
            let now = now();
            if let Some(series) = queries::series::find_by_slug(conn, &slug)? {
                let (_, _, view) = load_view(conn, series, Audience::Public(now))?;
                let ids: Vec<i64> = view.articles.iter().map(|a| a.id).collect();
                let articles = load_articles(conn, &ids, now)?;
                return Ok(Ok((view, articles)));
            }
            match queries::series::current_slug_for_old(conn, &slug)? {
                Some(current) => Ok(Err(current)),
                None => Err(ApiError::not_found("No series has this slug.")),
            }
        })
        .await?;
    let (series, articles) = match found {
        Ok(found) => found,
        Err(current) => {
            return Ok(moved_permanently(
                &state.config,
                &format!("/series/{current}/feed.atom"),
            ))
        }
    };
    let site = Site::of(&req, &state.config);
    let self_url = format!("{}/series/{}/feed.atom", site.base, series.slug);
    let feed = Feed {
        title: Text::plain(xml_safe(&series.title)),
        subtitle: series
            .description
            .as_deref()
            .map(|d| Text::plain(xml_safe(d))),
        id: site.tag(series.created_at, &format!("series/{}", series.id)),
        // A new order or title changes the feed as much as a changed article does.
        updated: newest(&articles, Some(series.updated_at)),
        links: feed_links(
            self_url,
            format!("{}/api/v1/series/{}", site.base, series.slug),
        ),
        entries: articles.into_iter().map(|a| entry(&site, a)).collect(),
        ..base_feed()
    };
    Ok(feed_response(&req, &state.config, to_bytes(&feed)?))
}

/// The feed's answer. When its links come from forwarded headers, `Vary` names them, so a
/// shared cache in front keeps one copy per origin (or none) instead of serving one reader's
/// links to all.
fn feed_response(req: &HttpRequest, config: &Config, bytes: Vec<u8>) -> HttpResponse {
    let mut res = cached_body(req, config, bytes, ATOM);
    if config.public_url.is_none() && config.trust_proxy {
        for name in ["Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto"] {
            crate::routes::middleware::add_vary(res.headers_mut(), name);
        }
    }
    res
}

/// Where the feed's links point.
struct Site {
    /// Scheme and authority, no trailing slash.
    base: String,
    /// The host alone, the naming authority of `tag:` ids.
    host: String,
}

impl Site {
    fn of(req: &HttpRequest, config: &Config) -> Self {
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| request_origin(req, config));
        let authority = base.split_once("://").map_or(base.as_str(), |(_, a)| a);
        let authority = authority.split('/').next().unwrap_or(authority);
        let host = match authority.strip_prefix('[') {
            // An IPv6 literal keeps its brackets; only a port goes.
            Some(rest) => format!("[{}]", rest.split(']').next().unwrap_or(rest)),
            None => authority.split(':').next().unwrap_or(authority).to_string(),
        };
        Site {
            host: host.to_ascii_lowercase(),
            base,
        }
    }

    /// A `tag:` URI (RFC 4151) dated by when the thing was created, so it outlives slug
    /// changes and never collides with another site's.
    fn tag(&self, created: DateTime<Utc>, specific: &str) -> String {
        format!(
            "tag:{},{}:{specific}",
            self.host,
            created.format("%Y-%m-%d")
        )
    }
}

/// The scheme and host the request was sent to, which feed links use when
/// `MASTHEAD_PUBLIC_URL` is unset. Forwarded headers count only under `MASTHEAD_TRUST_PROXY`
/// and from a peer in `MASTHEAD_TRUSTED_PROXIES`: otherwise anyone could choose them. Any
/// cache of an answer built from this must key on it (the response cache does: see
/// `response_cache::cache_key`), or one reader's `Host` would become every reader's links.
pub fn request_origin(req: &HttpRequest, config: &Config) -> String {
    let from_trusted_proxy = crate::domain::client_addr::is_trusted_proxy(
        req.peer_addr().map(|a| a.ip()),
        config.trust_proxy,
        &config.trusted_proxies,
    );
    if from_trusted_proxy {
        let info = req.connection_info();
        let scheme = info.scheme().to_ascii_lowercase();
        if is_plain_host(info.host()) && matches!(scheme.as_str(), "http" | "https") {
            return format!("{scheme}://{}", info.host().to_ascii_lowercase());
        }
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .filter(|h| is_plain_host(h))
        .unwrap_or_else(|| req.app_config().host());
    format!("{scheme}://{}", host.to_ascii_lowercase())
}

/// A host with an optional port, and nothing that could add a path or user info to a URL.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// A public article with what its entry shows besides the row.
struct FeedArticle {
    article: Article,
    author: String,
    tags: Vec<String>,
}

/// The articles `ids` in that order, with authors and tags; any that stopped being public
/// since the ids were read are left out.
fn load_articles(
    conn: &mut DbConn,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<Vec<FeedArticle>, ApiError> {
    let mut rows: HashMap<i64, (Article, String)> = queries::articles::with_authors(conn, ids)?
        .into_iter()
        .map(|(a, author)| (a.id, (a, author)))
        .collect();
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in queries::articles::tags_for(conn, ids)? {
        tags.entry(id).or_default().push(tag);
    }
    let public = Audience::Public(now);
    Ok(ids
        .iter()
        .filter_map(|id| rows.remove(id))
        .filter(|(a, _)| public.sees(&a.status, a.published_at))
        .map(|(article, author)| FeedArticle {
            tags: tags.remove(&article.id).unwrap_or_default(),
            article,
            author,
        })
        .collect())
}

fn utc(t: NaiveDateTime) -> FixedDateTime {
    t.and_utc().fixed_offset()
}

/// When an entry last changed: a scheduled article appears at `published_at`, which may be
/// later than its last edit.
fn entry_updated(a: &Article) -> NaiveDateTime {
    a.published_at.map_or(a.updated_at, |p| p.max(a.updated_at))
}

/// The feed's `updated`: its newest entry, or `floor`, or the epoch for an empty site feed.
/// Never the current time, so an unchanged feed keeps its bytes and its ETag.
fn newest(articles: &[FeedArticle], floor: Option<DateTime<Utc>>) -> FixedDateTime {
    articles
        .iter()
        .map(|a| entry_updated(&a.article).and_utc())
        .chain(floor)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
        .fixed_offset()
}

fn base_feed() -> Feed {
    Feed {
        generator: Some(Generator {
            value: "Masthead".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        ..Feed::default()
    }
}

fn feed_links(self_url: String, alternate: String) -> Vec<Link> {
    vec![
        Link {
            href: self_url,
            rel: "self".into(),
            mime_type: Some("application/atom+xml".into()),
            ..Link::default()
        },
        Link {
            href: alternate,
            rel: "alternate".into(),
            mime_type: Some("application/json".into()),
            ..Link::default()
        },
    ]
}

fn entry(site: &Site, a: FeedArticle) -> Entry {
    let FeedArticle {
        article,
        author,
        tags,
    } = a;
    let updated = utc(entry_updated(&article));
    let language = Some(article.language.clone());
    Entry {
        id: site.tag(
            article.created_at.and_utc(),
            &format!("articles/{}", article.id),
        ),
        title: Text {
            lang: language.clone(),
            ..Text::plain(xml_safe(&article.title))
        },
        updated,
        published: article.published_at.map(utc),
        authors: vec![Person {
            name: xml_safe(&author),
            ..Person::default()
        }],
        categories: tags
            .iter()
            .map(|t| Category {
                term: xml_safe(&tag_slug(t)),
                label: Some(xml_safe(t)),
                ..Category::default()
            })
            .collect(),
        links: vec![Link {
            href: format!("{}/api/v1/articles/{}", site.base, article.slug),
            rel: "alternate".into(),
            mime_type: Some("application/json".into()),
            ..Link::default()
        }],
        summary: (!article.excerpt.trim().is_empty()).then(|| Text {
            lang: language.clone(),
            ..Text::plain(xml_safe(&article.excerpt))
        }),
        // Already sanitised HTML (see domain::markdown); Atom carries it escaped.
        content: Some(Content {
            content_type: Some("html".into()),
            value: Some(xml_safe(&article.body_html)),
            lang: language,
            ..Content::default()
        }),
        ..Entry::default()
    }
}

fn to_bytes(feed: &Feed) -> Result<Vec<u8>, ApiError> {
    feed.write_with_config(Vec::new(), WriteConfig::default())
        .map_err(ApiError::internal)
}

/// Drops the characters XML 1.0 cannot carry at all (most control characters): the writer
/// escapes markup but would pass these through into a document no parser accepts.
fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c,
                '\t' | '\n' | '\r'
                | '\u{20}'..='\u{D7FF}'
                | '\u{E000}'..='\u{FFFD}'
                | '\u{10000}'..='\u{10FFFF}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_safe_keeps_text_and_drops_what_xml_forbids() {
        let cases = [
            ("plain <b>&</b>", "plain <b>&</b>"),
            ("tab\tnew\nline\r", "tab\tnew\nline\r"),
            ("bell\u{7}null\u{0}", "bellnull"),
            ("\u{FFFE}\u{FFFF}ok", "ok"),
            ("émoji 🦀", "émoji 🦀"),
        ];
        for (raw, safe) in cases {
            assert_eq!(xml_safe(raw), safe, "{raw:?}");
        }
    }

    #[test]
    fn plain_hosts_only() {
        for ok in ["news.example", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST"] {
            assert!(is_plain_host(ok), "{ok}");
        }
        for bad in ["", "evil.example/x", "user@host", "a b", "host?q", "x#y"] {
            assert!(!is_plain_host(bad), "{bad}");
        }
    }

    #[test]
    fn tag_authorities_drop_scheme_port_and_path() {
        let cases = [
            ("https://news.example", "news.example"),
            ("http://News.Example:8080", "news.example"),
            ("https://example.org/news", "example.org"),
            ("http://[::1]:8080", "[::1]"),
        ];
        for (public_url, host) in cases {
            let mut config = Config::from_lookup(|_| None).expect("default config");
            config.public_url = Some(public_url.into());
            let req = actix_web::test::TestRequest::default().to_http_request();
            let site = Site::of(&req, &config);
            assert_eq!(site.host, host, "{public_url}");
            assert_eq!(site.base, public_url);
        }
    }
}
