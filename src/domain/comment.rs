//! Reader comments: statuses, moderation actions, the public form's fields, spam heuristics,
//! the blocklist, the client's address and the duplicate check.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;

use email_address::{EmailAddress, Options as EmailOptions};
use ipnet::{IpNet, Ipv4Net};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::article::http_url;
use super::{char_len, FieldError, Violations};

pub const AUTHOR_NAME_MAX: usize = 100;
/// The longest address SMTP can carry (RFC 5321 path limit less the angle brackets).
pub const AUTHOR_EMAIL_MAX: usize = 254;
pub const BODY_MAX: usize = 10_000;
pub const MODERATION_NOTE_MAX: usize = 1000;
/// An e-mail domain can be at most this long (RFC 1035).
const DOMAIN_MAX: usize = 253;
const DOMAIN_LABEL_MAX: usize = 63;

/// Where a comment is in moderation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "pending")]
pub enum CommentStatus {
    /// Waiting for a moderator; every new comment starts here.
    Pending,
    /// Shown to readers.
    Approved,
    /// Turned down by a moderator.
    Rejected,
    /// Filed as spam, by a moderator or by the heuristics.
    Spam,
}

impl CommentStatus {
    pub const ALL: [CommentStatus; 4] = [
        CommentStatus::Pending,
        CommentStatus::Approved,
        CommentStatus::Rejected,
        CommentStatus::Spam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Rejected => "rejected",
            CommentStatus::Spam => "spam",
        }
    }
}

impl fmt::Display for CommentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CommentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CommentStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "must be one of pending, approved, rejected, spam".into())
    }
}

/// What a moderator does to a batch of comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "approve")]
pub enum ModerationAction {
    /// Show the comments to readers.
    Approve,
    /// Turn them down.
    Reject,
    /// File them as spam.
    Spam,
    /// Remove them for good.
    Delete,
}

impl ModerationAction {
    pub const ALL: [ModerationAction; 4] = [
        ModerationAction::Approve,
        ModerationAction::Reject,
        ModerationAction::Spam,
        ModerationAction::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::Approve => "approve",
            ModerationAction::Reject => "reject",
            ModerationAction::Spam => "spam",
            ModerationAction::Delete => "delete",
        }
    }

    /// The status the action leaves a comment in; `None` when the comment is deleted.
    pub fn target_status(self) -> Option<CommentStatus> {
        match self {
            ModerationAction::Approve => Some(CommentStatus::Approved),
            ModerationAction::Reject => Some(CommentStatus::Rejected),
            ModerationAction::Spam => Some(CommentStatus::Spam),
            ModerationAction::Delete => None,
        }
    }
}

impl fmt::Display for ModerationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModerationAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModerationAction::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "must be one of approve, reject, spam, delete".into())
    }
}

/// Control characters other than line breaks and tabs: invisible, and PostgreSQL refuses NUL in
/// `text`, so letting one through would turn a bad request into a server error.
fn has_stray_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

pub fn author_name(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = char_len(t);
    if n == 0 || n > AUTHOR_NAME_MAX || t.chars().any(char::is_control) {
        return Err(format!(
            "must be 1–{AUTHOR_NAME_MAX} characters without control characters"
        ));
    }
    Ok(t.to_string())
}

/// A deliverable-looking address: a dotted domain, no IP literal, no display name, no spaces.
/// The domain is lowercased (it is case-insensitive); the local part is kept as typed.
pub fn author_email(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let options = EmailOptions::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let valid = char_len(t) <= AUTHOR_EMAIL_MAX
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
        && EmailAddress::parse_with_options(t, options).is_ok();
    // The parser splits at the last `@` too, so this is the domain it checked.
    let parts = t.rsplit_once('@').filter(|_| valid);
    let Some((local, domain)) = parts else {
        return Err(format!(
            "must be a valid e-mail address of at most {AUTHOR_EMAIL_MAX} characters"
        ));
    };
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// The comment's Markdown, without surrounding whitespace but otherwise as typed.
pub fn body(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = char_len(t);
    if n == 0 || n > BODY_MAX || has_stray_control(t) {
        return Err(format!(
            "must be 1–{BODY_MAX} characters without control characters"
        ));
    }
    Ok(t.to_string())
}

/// The commenter's own site; blank counts as absent.
pub fn author_url(raw: Option<&str>) -> Result<Option<String>, String> {
    http_url(raw)
}

/// A moderator's note; blank counts as absent.
pub fn moderation_note(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if char_len(t) > MODERATION_NOTE_MAX || has_stray_control(t) {
        return Err(format!(
            "must be at most {MODERATION_NOTE_MAX} characters without control characters"
        ));
    }
    Ok(Some(t.to_string()))
}

/// The public comment form as received, before any check.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommentForm<'a> {
    pub author_name: &'a str,
    pub author_email: &'a str,
    pub body: &'a str,
    pub author_url: Option<&'a str>,
    /// The honeypot: a field named `website` that frontends render invisibly, so only bots fill
    /// it.
    pub website: Option<&'a str>,
}

/// A comment whose fields are all valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewComment {
    pub author_name: String,
    /// Domain part lowercased.
    pub author_email: String,
    pub body: String,
    pub author_url: Option<String>,
    /// The honeypot was filled in: file the comment as spam, but answer as usual so the bot
    /// learns nothing.
    pub honeypot_filled: bool,
}

impl NewComment {
    /// Checks every field, recording each error in `v` so callers can add their own (such as
    /// `parent_id`) before finishing.
    pub fn check(form: &CommentForm<'_>, v: &mut Violations) -> Option<Self> {
        let author_name = v.check("author_name", author_name(form.author_name));
        let author_email = v.check("author_email", author_email(form.author_email));
        let body = v.check("body", body(form.body));
        let author_url = v.check("author_url", author_url(form.author_url));
        Some(Self {
            author_name: author_name?,
            author_email: author_email?,
            body: body?,
            author_url: author_url?,
            honeypot_filled: form.website.is_some_and(|w| !w.trim().is_empty()),
        })
    }

    /// Every field checked at once; all errors are returned together.
    pub fn parse(form: &CommentForm<'_>) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::new();
        let comment = Self::check(form, &mut v);
        v.finish(|| comment)
    }
}

/// Why the heuristics filed a comment as spam.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpamReason {
    Honeypot,
    TooManyLinks,
    /// The keyword as configured.
    Keyword(String),
    /// A blocklist entry of this kind matched.
    Blocked(BlockKind),
}

impl SpamReason {
    /// A short text for the comment's moderation note, e.g. `keyword: casino`.
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            SpamReason::Honeypot => "honeypot".into(),
            SpamReason::TooManyLinks => "too many links".into(),
            SpamReason::Keyword(k) => format!("keyword: {k}").into(),
            SpamReason::Blocked(kind) => format!("blocklist: {kind}").into(),
        }
    }
}

impl fmt::Display for SpamReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Cheap signs of spam, applied to every new comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpamRules {
    /// More links than this in one body is spam.
    pub max_links: usize,
    /// Words or phrases, matched case-insensitively as whole words.
    pub keywords: Vec<String>,
}

impl SpamRules {
    /// The first rule the comment breaks: the honeypot, then the link count, then keywords in
    /// the body and the author's URL.
    pub fn verdict(
        &self,
        body: &str,
        author_url: Option<&str>,
        honeypot_filled: bool,
    ) -> Option<SpamReason> {
        if honeypot_filled {
            return Some(SpamReason::Honeypot);
        }
        if count_links(body) > self.max_links {
            return Some(SpamReason::TooManyLinks);
        }
        self.keyword_in(&[body, author_url.unwrap_or("")])
    }

    /// [`Self::verdict`] for a parsed comment, also looking for keywords in the author's name.
    pub fn verdict_for(&self, comment: &NewComment) -> Option<SpamReason> {
        self.verdict(
            &comment.body,
            comment.author_url.as_deref(),
            comment.honeypot_filled,
        )
        .or_else(|| self.keyword_in(&[&comment.author_name]))
    }

    fn keyword_in(&self, texts: &[&str]) -> Option<SpamReason> {
        let texts: Vec<Vec<String>> = texts.iter().map(|t| words(t)).collect();
        self.keywords.iter().find_map(|keyword| {
            let wanted = words(keyword);
            let found = !wanted.is_empty()
                && texts
                    .iter()
                    .any(|t| t.windows(wanted.len()).any(|w| w == wanted.as_slice()));
            found.then(|| SpamReason::Keyword(keyword.trim().to_string()))
        })
    }
}

/// Lowercased runs of letters and digits: what "a whole word" means for keywords, so
/// `free money` matches `FREE money!` but `sex` does not match `Essex`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Links in a comment body: every Markdown link or autolink counts once, whatever its text, and
/// every `http://`/`https://` outside a link counts once per occurrence (plain text, code, raw
/// HTML) — pasted addresses are what spam is made of, clickable or not.
pub fn count_links(markdown: &str) -> usize {
    let mut links = 0;
    let mut link_depth = 0usize;
    // Same dialect as `markdown::render_comment`, so what counts is what readers would see.
    for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Link { .. }) => {
                if link_depth == 0 {
                    links += 1;
                }
                link_depth += 1;
            }
            Event::End(TagEnd::Link) => link_depth = link_depth.saturating_sub(1),
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t)
                if link_depth == 0 =>
            {
                links += count_urls(&t);
            }
            _ => {}
        }
    }
    links
}

fn count_urls(text: &str) -> usize {
    let lower = text.to_ascii_lowercase();
    lower.matches("http://").count() + lower.matches("https://").count()
}

/// What a blocklist entry matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(example = "email_domain")]
pub enum BlockKind {
    /// One address, compared case-insensitively.
    Email,
    /// A domain and all its subdomains, e.g. `example.com` also blocks `mail.example.com`.
    EmailDomain,
    /// One IP address.
    Ip,
    /// A network such as `203.0.113.0/24` or `2001:db8::/32`.
    Cidr,
}

impl BlockKind {
    pub const ALL: [BlockKind; 4] = [
        BlockKind::Email,
        BlockKind::EmailDomain,
        BlockKind::Ip,
        BlockKind::Cidr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Email => "email",
            BlockKind::EmailDomain => "email_domain",
            BlockKind::Ip => "ip",
            BlockKind::Cidr => "cidr",
        }
    }
}

impl fmt::Display for BlockKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BlockKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        BlockKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| "must be one of email, email_domain, ip, cidr".into())
    }
}

/// The stored form of a blocklist value: lowercased addresses and domains, canonical IP text,
/// networks with their host bits cleared.
pub fn parse_block_value(kind: BlockKind, raw: &str) -> Result<String, String> {
    let t = raw.trim();
    match kind {
        BlockKind::Email => author_email(t)
            .map(|e| e.to_lowercase())
            .map_err(|_| "must be an e-mail address such as name@example.com".into()),
        BlockKind::EmailDomain => {
            let d = t.strip_prefix('@').unwrap_or(t);
            let d = d.strip_suffix('.').unwrap_or(d).to_lowercase();
            if is_domain(&d) {
                Ok(d)
            } else {
                Err("must be a domain such as example.com".into())
            }
        }
        BlockKind::Ip => t
            .parse::<IpAddr>()
            .map(|ip| ip.to_canonical().to_string())
            .map_err(|_| "must be an IPv4 or IPv6 address".into()),
        BlockKind::Cidr => parse_net(t)
            .map(|n| n.to_string())
            .ok_or_else(|| "must be a network such as 203.0.113.0/24 or 2001:db8::/32".into()),
    }
}

/// Labels of letters, digits and inner hyphens. A single label (a top-level domain) is allowed:
/// blocking a whole TLD is a moderator's call.
fn is_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= DOMAIN_MAX
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= DOMAIN_LABEL_MAX
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// A network with host bits cleared; a bare address is a one-address network. IPv4 networks
/// written in IPv6's mapped form (`::ffff:10.0.0.0/104`) become plain IPv4 ones.
fn parse_net(raw: &str) -> Option<IpNet> {
    let net = match raw.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(raw.parse::<IpAddr>().ok()?),
    };
    Some(canonical_net(net).trunc())
}

fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), Some(prefix)) = (
            v6.network().to_ipv4_mapped(),
            v6.prefix_len().checked_sub(96),
        ) {
            if let Ok(n) = Ipv4Net::new(v4, prefix) {
                return IpNet::V4(n);
            }
        }
    }
    net
}

/// Whether a blocklist entry matches a commenter. `value` is as stored by
/// [`parse_block_value`]; an unreadable value matches nothing.
pub fn block_matches(kind: BlockKind, value: &str, email: &str, ip: Option<IpAddr>) -> bool {
    let email = email.trim().to_lowercase();
    let value = value.trim();
    match kind {
        BlockKind::Email => email == value.to_lowercase(),
        BlockKind::EmailDomain => {
            let blocked = value.strip_prefix('@').unwrap_or(value).to_lowercase();
            let Some((_, domain)) = email.rsplit_once('@') else {
                return false;
            };
            let domain = domain.strip_suffix('.').unwrap_or(domain);
            !blocked.is_empty()
                && (domain == blocked
                    || domain
                        .strip_suffix(blocked.as_str())
                        .is_some_and(|rest| rest.ends_with('.')))
        }
        BlockKind::Ip => match (ip, value.parse::<IpAddr>()) {
            (Some(ip), Ok(blocked)) => ip.to_canonical() == blocked.to_canonical(),
            _ => false,
        },
        BlockKind::Cidr => match (ip, parse_net(value)) {
            (Some(ip), Some(net)) => net.contains(&ip.to_canonical()),
            _ => false,
        },
    }
}

/// A stable key for "this e-mail already posted this text": SHA-256, in hex, of the lowercased
/// address and the body with every run of whitespace made one space.
pub fn duplicate_key(email: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(email.trim().to_lowercase().as_bytes());
    // NUL cannot occur in a valid address, so no two pairs hash the same input.
    hasher.update([0u8]);
    for (i, word) in body.split_whitespace().enumerate() {
        if i > 0 {
            hasher.update(b" ");
        }
        hasher.update(word.as_bytes());
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn statuses_and_actions_round_trip() {
        for s in CommentStatus::ALL {
            assert_eq!(s.as_str().parse::<CommentStatus>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(
            "Pending".parse::<CommentStatus>().unwrap_err(),
            "must be one of pending, approved, rejected, spam"
        );
        for a in ModerationAction::ALL {
            assert_eq!(a.as_str().parse::<ModerationAction>(), Ok(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(
            "ban".parse::<ModerationAction>().unwrap_err(),
            "must be one of approve, reject, spam, delete"
        );
        let targets: Vec<_> = ModerationAction::ALL
            .iter()
            .map(|a| a.target_status())
            .collect();
        assert_eq!(
            targets,
            [
                Some(CommentStatus::Approved),
                Some(CommentStatus::Rejected),
                Some(CommentStatus::Spam),
                None
            ]
        );
        let parsed: CommentStatus = serde_json::from_str("\"spam\"").unwrap();
        assert_eq!(parsed, CommentStatus::Spam);
        assert!(serde_json::from_str::<ModerationAction>("\"Approve\"").is_err());
    }

    #[test]
    fn author_names() {
        assert_eq!(author_name("  Aliya  ").unwrap(), "Aliya");
        assert_eq!(author_name("Әлия Нұрланқызы").unwrap(), "Әлия Нұрланқызы");
        // Characters, not bytes: 100 Cyrillic letters are 200 bytes.
        assert!(author_name(&"я".repeat(100)).is_ok());
        assert!(author_name(&"я".repeat(101)).is_err());
        for bad in [
            "",
            "   ",
            "a\u{0}b",
            "new\nline",
            "tab\there",
            "bell\u{7}",
            "del\u{7f}",
        ] {
            assert!(author_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn author_emails() {
        for (raw, want) in [
            ("reader@example.com", "reader@example.com"),
            (
                "  Reader.Name+tag@Mail.Example.COM ",
                "Reader.Name+tag@mail.example.com",
            ),
            ("o'brien@example.ie", "o'brien@example.ie"),
            ("почта@пример.рф", "почта@пример.рф"),
        ] {
            assert_eq!(author_email(raw).unwrap(), want, "{raw}");
        }
        let long_local = format!("{}@example.com", "a".repeat(64));
        assert!(author_email(&long_local).is_ok());
        let too_long = format!("{}@{}.com", "a".repeat(64), "b".repeat(187));
        assert_eq!(char_len(&too_long), 256);
        for bad in [
            "",
            "plain",
            "@example.com",
            "reader@",
            "reader@localhost",
            "reader@[127.0.0.1]",
            "Reader <reader@example.com>",
            "two@@example.com",
            "a b@example.com",
            "\"a b\"@example.com",
            "reader@exa mple.com",
            "reader@-example.com",
            "reader@example..com",
            "reader@example.com\u{0}",
            too_long.as_str(),
            &format!("{}@example.com", "a".repeat(65)),
        ] {
            assert!(author_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bodies_urls_and_notes() {
        assert_eq!(
            body("  Nice *piece*.\n\n  Thanks!  \n").unwrap(),
            "Nice *piece*.\n\n  Thanks!"
        );
        assert!(body(&"ж".repeat(BODY_MAX)).is_ok());
        assert!(body(&format!("  {}  ", "ж".repeat(BODY_MAX))).is_ok());
        assert!(body(&"ж".repeat(BODY_MAX + 1)).is_err());
        assert!(body(" \n\t ").is_err());
        assert!(body("a\u{0}b").is_err());
        assert!(body("tabs\tand\r\nnewlines").is_ok());

        assert_eq!(author_url(None), Ok(None));
        assert_eq!(author_url(Some("  ")), Ok(None));
        assert_eq!(
            author_url(Some(" https://a.example/me "))
                .unwrap()
                .as_deref(),
            Some("https://a.example/me")
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://a.example",
            "a.example",
            "https://",
        ] {
            assert!(author_url(Some(bad)).is_err(), "{bad}");
        }
        let long = format!("https://a.example/{}", "x".repeat(2000));
        assert!(author_url(Some(&long)).is_err());

        assert_eq!(moderation_note(None), Ok(None));
        assert_eq!(moderation_note(Some(" ")), Ok(None));
        assert_eq!(
            moderation_note(Some(" off topic ")).unwrap().as_deref(),
            Some("off topic")
        );
        assert!(moderation_note(Some(&"я".repeat(1000))).is_ok());
        assert!(moderation_note(Some(&"я".repeat(1001))).is_err());
        assert!(moderation_note(Some("nul\u{0}")).is_err());
    }

    fn form<'a>() -> CommentForm<'a> {
        CommentForm {
            author_name: " Aliya ",
            author_email: "Aliya@Example.COM",
            body: " Great article. ",
            author_url: Some(""),
            website: None,
        }
    }

    #[test]
    fn forms_parse_every_field_at_once() {
        let c = NewComment::parse(&form()).unwrap();
        assert_eq!(
            c,
            NewComment {
                author_name: "Aliya".into(),
                author_email: "Aliya@example.com".into(),
                body: "Great article.".into(),
                author_url: None,
                honeypot_filled: false,
            }
        );
        let bad = CommentForm {
            author_name: "",
            author_email: "nope",
            body: "",
            author_url: Some("javascript:x"),
            website: None,
        };
        let errors = NewComment::parse(&bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["author_name", "author_email", "body", "author_url"]
        );

        let mut v = Violations::new();
        assert!(NewComment::check(&form(), &mut v).is_some());
        v.add("parent_id", "must be an approved comment of this article");
        assert!(v.finish(|| Some(())).is_err());
    }

    #[test]
    fn a_filled_honeypot_is_a_flag_not_an_error() {
        for (website, filled) in [
            (None, false),
            (Some(""), false),
            (Some("  "), false),
            (Some("http://x.example"), true),
        ] {
            let c = NewComment::parse(&CommentForm { website, ..form() }).unwrap();
            assert_eq!(c.honeypot_filled, filled, "{website:?}");
        }
    }

    #[test]
    fn links_are_counted_once_each() {
        for (md, n) in [
            ("no links here", 0),
            ("see https://a.example and http://b.example", 2),
            ("HTTPS://A.EXAMPLE", 1),
            ("[site](https://a.example)", 1),
            ("[https://a.example](https://a.example)", 1),
            ("<https://a.example>", 1),
            ("<reader@example.com>", 1),
            ("[a](https://a.example) then https://b.example", 2),
            ("[ref][1]\n\n[1]: https://a.example", 1),
            ("[unused]: https://a.example\n\nno link shown", 0),
            ("`https://a.example` in code", 1),
            ("```\nhttps://a.example\nhttps://b.example\n```", 2),
            ("<a href=\"https://a.example\">x</a>", 1),
            ("https://a.example/https://b.example", 2),
            ("[relative](a.example)", 1),
            ("![img](https://a.example/p.png)", 0),
        ] {
            assert_eq!(count_links(md), n, "{md}");
        }
    }

    fn rules() -> SpamRules {
        SpamRules {
            max_links: 2,
            keywords: vec![
                "Casino".into(),
                "free money".into(),
                "sex".into(),
                "  ".into(),
            ],
        }
    }

    #[test]
    fn spam_verdicts() {
        let r = rules();
        assert_eq!(r.verdict("A thoughtful reply.", None, false), None);
        assert_eq!(r.verdict("Fine", None, true), Some(SpamReason::Honeypot));
        let two = "https://a.example https://b.example";
        assert_eq!(r.verdict(two, None, false), None);
        let three = "[a](https://a.example) https://b.example <http://c.example>";
        assert_eq!(
            r.verdict(three, None, false),
            Some(SpamReason::TooManyLinks)
        );
        assert_eq!(
            r.verdict("Best CASINO bonus!", None, false),
            Some(SpamReason::Keyword("Casino".into()))
        );
        assert_eq!(
            r.verdict("get FREE\n  money now", None, false),
            Some(SpamReason::Keyword("free money".into()))
        );
        // Whole words only.
        assert_eq!(
            r.verdict("Casinos near Essex; money free", None, false),
            None
        );
        assert_eq!(
            r.verdict("hi", Some("https://best-casino.example"), false),
            Some(SpamReason::Keyword("Casino".into()))
        );

        let mut c = NewComment::parse(&form()).unwrap();
        assert_eq!(r.verdict_for(&c), None);
        c.author_name = "Casino King".into();
        assert_eq!(
            r.verdict_for(&c),
            Some(SpamReason::Keyword("Casino".into()))
        );
        c.honeypot_filled = true;
        assert_eq!(r.verdict_for(&c), Some(SpamReason::Honeypot));

        assert_eq!(SpamReason::TooManyLinks.as_str(), "too many links");
        assert_eq!(SpamReason::Honeypot.as_str(), "honeypot");
        assert_eq!(
            SpamReason::Keyword("casino".into()).as_str(),
            "keyword: casino"
        );
        assert_eq!(
            SpamReason::Blocked(BlockKind::Cidr).to_string(),
            "blocklist: cidr"
        );
    }

    #[test]
    fn block_kinds_round_trip() {
        for k in BlockKind::ALL {
            assert_eq!(k.as_str().parse::<BlockKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert_eq!(
            serde_json::to_string(&BlockKind::EmailDomain).unwrap(),
            "\"email_domain\""
        );
        assert_eq!(
            "domain".parse::<BlockKind>().unwrap_err(),
            "must be one of email, email_domain, ip, cidr"
        );
    }

    #[test]
    fn block_values_are_normalised() {
        use BlockKind::*;
        for (kind, raw, want) in [
            (Email, " Spam.Er@Example.COM ", "spam.er@example.com"),
            (EmailDomain, "@Example.COM", "example.com"),
            (EmailDomain, "mail.example.com.", "mail.example.com"),
            (EmailDomain, "xyz", "xyz"),
            (EmailDomain, "Пример.РФ", "пример.рф"),
            (Ip, " 203.0.113.7 ", "203.0.113.7"),
            (Ip, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            (Ip, "::ffff:203.0.113.7", "203.0.113.7"),
            (Cidr, "10.1.2.3/8", "10.0.0.0/8"),
            (Cidr, "203.0.113.7", "203.0.113.7/32"),
            (Cidr, "2001:db8:abcd:12::1/32", "2001:db8::/32"),
            (Cidr, "2001:DB8::1", "2001:db8::1/128"),
            (Cidr, "::ffff:10.1.2.3/104", "10.0.0.0/8"),
            (Cidr, "0.0.0.0/0", "0.0.0.0/0"),
        ] {
            assert_eq!(
                parse_block_value(kind, raw).as_deref(),
                Ok(want),
                "{kind} {raw}"
            );
        }
        for (kind, raw) in [
            (Email, "not-an-email"),
            (EmailDomain, ""),
            (EmailDomain, "@"),
            (EmailDomain, "exa mple.com"),
            (EmailDomain, "example..com"),
            (EmailDomain, "-example.com"),
            (EmailDomain, "a@example.com"),
            (Ip, "203.0.113.256"),
            (Ip, "203.0.113.0/24"),
            (Ip, "example.com"),
            (Cidr, "10.0.0.0/33"),
            (Cidr, "2001:db8::/129"),
            (Cidr, "10.0.0.0/"),
            (Cidr, "garbage"),
        ] {
            assert!(parse_block_value(kind, raw).is_err(), "{kind} {raw:?}");
        }
    }

    #[test]
    fn blocklist_entries_match() {
        use BlockKind::*;
        assert!(block_matches(
            Email,
            "spam@example.com",
            "Spam@Example.com",
            None
        ));
        assert!(!block_matches(
            Email,
            "spam@example.com",
            "spam2@example.com",
            None
        ));

        assert!(block_matches(
            EmailDomain,
            "example.com",
            "a@example.com",
            None
        ));
        assert!(block_matches(
            EmailDomain,
            "example.com",
            "a@Mail.Example.com",
            None
        ));
        assert!(block_matches(
            EmailDomain,
            "@example.com",
            "a@example.com",
            None
        ));
        assert!(!block_matches(
            EmailDomain,
            "example.com",
            "a@notexample.com",
            None
        ));
        assert!(!block_matches(
            EmailDomain,
            "example.com",
            "a@example.com.evil",
            None
        ));
        assert!(!block_matches(
            EmailDomain,
            "mail.example.com",
            "a@example.com",
            None
        ));
        assert!(!block_matches(EmailDomain, "", "a@example.com", None));

        let v4 = ip("203.0.113.7");
        let mapped = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 7).to_ipv6_mapped());
        assert!(block_matches(Ip, "203.0.113.7", "a@b.c", Some(v4)));
        assert!(block_matches(Ip, "203.0.113.7", "a@b.c", Some(mapped)));
        assert!(block_matches(Ip, "::ffff:203.0.113.7", "a@b.c", Some(v4)));
        assert!(!block_matches(Ip, "203.0.113.8", "a@b.c", Some(v4)));
        assert!(!block_matches(Ip, "203.0.113.7", "a@b.c", None));
        assert!(!block_matches(Ip, "junk", "a@b.c", Some(v4)));

        assert!(block_matches(Cidr, "203.0.113.0/24", "a@b.c", Some(v4)));
        assert!(block_matches(Cidr, "203.0.113.0/24", "a@b.c", Some(mapped)));
        assert!(!block_matches(Cidr, "203.0.114.0/24", "a@b.c", Some(v4)));
        assert!(block_matches(
            Cidr,
            "2001:db8::/32",
            "a@b.c",
            Some(ip("2001:db8:ffff::1"))
        ));
        assert!(!block_matches(
            Cidr,
            "2001:db8::/32",
            "a@b.c",
            Some(ip("2001:db9::1"))
        ));
        assert!(!block_matches(Cidr, "2001:db8::/32", "a@b.c", Some(v4)));
        assert!(!block_matches(Cidr, "0.0.0.0/0", "a@b.c", Some(ip("::1"))));
        assert!(block_matches(Cidr, "::/0", "a@b.c", Some(ip("::1"))));
        assert!(!block_matches(Cidr, "203.0.113.0/24", "a@b.c", None));
    }

    #[test]
    fn duplicate_keys() {
        let k = duplicate_key("Reader@Example.com", "Great  article.\n\nThanks!");
        assert_eq!(k.len(), 64);
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            k,
            duplicate_key(" reader@example.com ", " Great article. Thanks! ")
        );
        assert_ne!(
            k,
            duplicate_key("other@example.com", "Great article. Thanks!")
        );
        assert_ne!(
            k,
            duplicate_key("reader@example.com", "Great article. Thanks")
        );
        // Stable across releases: stored keys must keep matching.
        assert_eq!(
            duplicate_key("a@b.c", "x"),
            format!("{:x}", Sha256::digest(b"a@b.c\0x"))
        );
    }
}
