//! Article rules: statuses, visibility, and the limits of every field.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::char_len;
use super::slug::slugify;

pub const TITLE_MAX: usize = 300;
pub const SUBTITLE_MAX: usize = 500;
pub const EXCERPT_MAX: usize = 1000;
/// Bytes of Markdown.
pub const BODY_MAX_BYTES: usize = 1024 * 1024;
pub const URL_MAX: usize = 2000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 50;
pub const LANGUAGE_MAX: usize = 35;

/// Where an article is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "published")]
pub enum Status {
    /// Being written; only staff see it.
    Draft,
    /// Public from `published_at` on, with no job needed.
    Scheduled,
    /// Public.
    Published,
    /// Withdrawn from the public; kept for staff.
    Archived,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Draft,
        Status::Scheduled,
        Status::Published,
        Status::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Published => "published",
            Status::Archived => "archived",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "must be one of draft, scheduled, published, archived".into())
    }
}

/// Whether readers may see an article with this status and publication time at `now`.
pub fn is_public(status: Status, published_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    match status {
        Status::Published => true,
        Status::Scheduled => published_at.is_some_and(|t| t <= now),
        Status::Draft | Status::Archived => false,
    }
}

/// Who is looking: readers see public articles at a moment; editors and admins see every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Public(NaiveDateTime),
    Staff,
}

impl Audience {
    /// Whether this audience sees an article stored with `status` (as text) and `published_at`.
    pub fn sees(self, status: &str, published_at: Option<NaiveDateTime>) -> bool {
        match self {
            Audience::Staff => true,
            Audience::Public(now) => status
                .parse()
                .is_ok_and(|s| is_public(s, published_at, now)),
        }
    }
}

pub fn title(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = char_len(t);
    if n == 0 || n > TITLE_MAX {
        return Err(format!("must be 1–{TITLE_MAX} characters"));
    }
    Ok(t.to_string())
}

/// An optional text; blank counts as absent.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if char_len(t) > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(Some(t.to_string()))
}

pub fn body(raw: &str) -> Result<(), String> {
    if raw.len() > BODY_MAX_BYTES {
        return Err(format!("must be at most {BODY_MAX_BYTES} bytes (1 MiB)"));
    }
    Ok(())
}

pub fn http_url(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(u) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && char_len(u) <= URL_MAX
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if !ok {
        return Err(format!(
            "must be an http or https URL of at most {URL_MAX} characters"
        ));
    }
    Ok(Some(u.to_string()))
}

/// Trimmed tags with duplicates (by their slug) removed, order kept. Errors name the index.
pub fn tags(raw: &[String]) -> Result<Vec<String>, Vec<(String, String)>> {
    let mut errors = Vec::new();
    if raw.len() > TAGS_MAX {
        errors.push(("tags".to_string(), format!("at most {TAGS_MAX} tags")));
    }
    let mut out: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let t = t.trim();
        let n = char_len(t);
        if n == 0 || n > TAG_MAX || t.chars().any(char::is_control) {
            errors.push((
                format!("tags[{i}]"),
                format!("must be 1–{TAG_MAX} characters without control characters"),
            ));
            continue;
        }
        let key = tag_slug(t);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(t.to_string());
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The URL form of a tag, so `tag=kazakhstan` finds articles tagged `Kazakhstan`.
pub fn tag_slug(tag: &str) -> String {
    let s = slugify(tag);
    if s.is_empty() {
        tag.trim().to_lowercase()
    } else {
        s
    }
}

/// A BCP 47-style language tag such as `en`, `kk` or `pt-BR`.
pub fn language(raw: &str) -> Result<String, String> {
    let mut parts = raw.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !primary_ok || !rest_ok || raw.len() > LANGUAGE_MAX {
        return Err("must be a language tag such as en, kk or pt-BR".into());
    }
    Ok(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, Utc};

    #[test]
    fn visibility() {
        let now = Utc::now().naive_utc();
        let past = Some(now - TimeDelta::seconds(1));
        let future = Some(now + TimeDelta::hours(1));
        assert!(is_public(Status::Published, None, now));
        assert!(is_public(Status::Scheduled, past, now));
        assert!(!is_public(Status::Scheduled, future, now));
        assert!(!is_public(Status::Scheduled, None, now));
        assert!(!is_public(Status::Draft, past, now));
        assert!(!is_public(Status::Archived, past, now));
    }

    #[test]
    fn field_limits() {
        assert!(title(" Hello ").is_ok());
        assert!(title("   ").is_err());
        assert!(title(&"я".repeat(300)).is_ok());
        assert!(title(&"я".repeat(301)).is_err());
        assert_eq!(optional_text(Some("  "), 5), Ok(None));
        assert!(optional_text(Some("123456"), 5).is_err());
        assert!(body(&"a".repeat(BODY_MAX_BYTES)).is_ok());
        assert!(body(&"a".repeat(BODY_MAX_BYTES + 1)).is_err());
    }

    #[test]
    fn urls() {
        for ok in ["https://img.example/a.jpg", "http://x.example"] {
            assert!(http_url(Some(ok)).unwrap().is_some(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,xx",
            "ftp://x",
            "https://",
            "https:///x",
            "/relative",
            "https://a b",
        ] {
            assert!(http_url(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_lists() {
        let t = tags(&["Politics".into(), " politics ".into(), "Қазақстан".into()]).unwrap();
        assert_eq!(t, vec!["Politics", "Қазақстан"]);
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(tags(&many).is_err());
        let errs = tags(&["ok".into(), "".into()]).unwrap_err();
        assert_eq!(errs[0].0, "tags[1]");
    }

    #[test]
    fn languages() {
        for ok in ["en", "kk", "ru", "pt-BR", "zh-Hant-TW"] {
            assert!(language(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "not a language!!", "en-"] {
            assert!(language(bad).is_err(), "{bad}");
        }
    }
}
