//! Untrusted Markdown to safe HTML.
//!
//! Rendering happens once, when an article or comment is written; readers are
//! served the stored HTML. Everything here must therefore be safe to embed in
//! a page as-is: authors and commenters are not trusted to write HTML, so
//! pulldown-cmark's output always goes through an ammonia allow-list before
//! it is returned.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use super::html_depth::nesting_exceeds;

/// Longest excerpt, in characters, including the trailing ellipsis: it is
/// shown in listings and meta descriptions, where ~300 characters is the most
/// that gets displayed anyway.
pub const EXCERPT_MAX_CHARS: usize = 300;

/// Average adult silent reading speed for news prose, rounded down so that
/// estimates err on the generous side.
const WORDS_PER_MINUTE: u32 = 200;

/// Prefix for footnote ids. Footnotes need `id` attributes for their `#…`
/// links to work, but ids written by authors could clobber globals the
/// front-end relies on (`window.config`…), so every surviving id is forced
/// into this namespace.
const FOOTNOTE_ID_PREFIX: &str = "fn-";

/// Elements whose content is dropped along with the tag: their text is code,
/// styles or fallback markup, never something a reader should see.
const DROP_WITH_CONTENT: &[&str] = &[
    "script", "style", "iframe", "object", "embed", "noscript", "noembed", "noframes", "template",
    "textarea", "select", "svg", "math", "title", "xmp",
];

const LINK_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Deepest element nesting the sanitiser is given. Its HTML parser is quadratic in nesting
/// depth (a 1 MiB body of nested `<div>`s or `> - ` took minutes), and no real article or
/// comment comes near this.
const MAX_HTML_NESTING: usize = 128;

/// Deepest Markdown structure (quotes, lists, emphasis…) rendered as such in a document that
/// went over [`MAX_HTML_NESTING`], and in every comment; deeper tags are dropped, their text kept.
const MAX_MARKDOWN_NESTING: usize = 32;

/// An article rendered for storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitised HTML, safe to embed without further escaping.
    pub html: String,
    /// Plain text (not HTML: escape it when embedding) of the first top-level
    /// paragraph, whitespace-collapsed, at most [`EXCERPT_MAX_CHARS`]
    /// characters; empty when the article has no paragraph.
    pub excerpt: String,
    pub word_count: u32,
    pub reading_time_minutes: u32,
}

fn article_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
}

/// Renders an article body to sanitised HTML plus the metadata derived from
/// its text.
pub fn render_article(markdown: &str) -> Rendered {
    let mut text = TextCollector::default();
    let events = Parser::new_ext(markdown, article_options()).map(|event| {
        text.observe(&event);
        article_event(event)
    });
    let mut unsafe_html = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut unsafe_html, events);
    if nesting_exceeds(&unsafe_html, MAX_HTML_NESTING) {
        // Too deep to sanitise in reasonable time: keep the text, show raw HTML as text and
        // cap the Markdown structure.
        unsafe_html.clear();
        let mut cap = DepthCap::default();
        let events = Parser::new_ext(markdown, article_options())
            .map(|event| match article_event(event) {
                Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
                other => other,
            })
            .filter_map(|event| cap.keep(event));
        html::push_html(&mut unsafe_html, events);
    }
    let html = ARTICLE_SANITIZER.clean(&unsafe_html).to_string();

    let word_count = text.word_count();
    Rendered {
        html,
        excerpt: text.excerpt.unwrap_or_default(),
        word_count,
        reading_time_minutes: word_count.div_ceil(WORDS_PER_MINUTE),
    }
}

/// The text content of an article, whitespace-collapsed, for full-text
/// search. Raw HTML is left out: it is mostly markup, and whatever text it
/// holds may not even be displayed after sanitising.
pub fn plain_text(markdown: &str) -> String {
    let mut text = TextCollector::default();
    for event in Parser::new_ext(markdown, article_options()) {
        text.observe(&event);
    }
    collapse_whitespace(&text.plain)
}

fn article_event(event: Event<'_>) -> Event<'_> {
    match event {
        // pulldown renders task markers as <input> elements, which the
        // sanitiser rightly rejects as form controls; a glyph keeps the
        // meaning without an interactive element.
        Event::TaskListMarker(done) => Event::Text(if done { "☑ " } else { "☐ " }.into()),
        Event::FootnoteReference(label) => Event::FootnoteReference(footnote_id(&label)),
        Event::Start(Tag::FootnoteDefinition(label)) => {
            Event::Start(Tag::FootnoteDefinition(footnote_id(&label)))
        }
        other => other,
    }
}

/// Pre-prefixing our own footnote ids keeps their `href="#fn-…"` links in
/// step with the ids, which ammonia's `id_prefix` would otherwise rename
/// (it prefixes ids but not the fragments that point at them).
fn footnote_id(label: &str) -> CowStr<'static> {
    format!("{FOOTNOTE_ID_PREFIX}{label}").into()
}

fn set<'a>(items: &[&'a str]) -> HashSet<&'a str> {
    items.iter().copied().collect()
}

static ARTICLE_SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .tags(set(&[
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "p",
            "br",
            "hr",
            "blockquote",
            "ul",
            "ol",
            "li",
            "pre",
            "code",
            "em",
            "strong",
            "del",
            "a",
            "img",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "sup",
            "div",
        ]))
        .clean_content_tags(set(DROP_WITH_CONTENT))
        // The defaults allow `lang` and `title` everywhere; we want nothing
        // that is not listed per element below.
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", set(&["href", "title"])),
            ("img", set(&["src", "alt", "title"])),
            ("ol", set(&["start"])),
            // Only footnotes and fenced code carry classes or ids; the values
            // are checked in `article_attribute_filter`.
            ("div", set(&["class", "id"])),
            ("sup", set(&["class"])),
            ("code", set(&["class"])),
        ]))
        .url_schemes(set(LINK_SCHEMES))
        // Articles link to other pages of the same site and to footnotes.
        .url_relative(UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .id_prefix(Some(FOOTNOTE_ID_PREFIX))
        .strip_comments(true)
        .attribute_filter(article_attribute_filter);
    builder
});

fn article_attribute_filter<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
) -> Option<Cow<'u, str>> {
    if matches!((element, attribute), ("a", "href") | ("img", "src")) {
        if let Some(absolute) = protocol_relative_as_https(value) {
            return Some(Cow::Owned(absolute));
        }
    }
    let keep = match (element, attribute) {
        // Relative or mailto image sources make no sense in content that is
        // served to other front-ends; only absolute web URLs load.
        ("img", "src") => {
            let lower = value.trim_start().to_ascii_lowercase();
            lower.starts_with("http://") || lower.starts_with("https://")
        }
        (_, "class") => is_allowed_class(element, value),
        _ => true,
    };
    keep.then_some(Cow::Borrowed(value))
}

/// A protocol-relative URL (`//host/path`) names another host just as `https://host/path`
/// does, though it passes for a relative link: it is made that absolute URL, so it is checked
/// and shown like every other absolute link, never taken for a page of the same site. Browsers
/// also read a backslash as a slash and skip leading spaces and control characters, and tabs
/// and newlines anywhere (`/\host`, ` //host`, `/\t/host`), so those forms count too.
fn protocol_relative_as_https(value: &str) -> Option<String> {
    let cleaned: String = value
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    if cleaned
        .chars()
        .take_while(|c| matches!(c, '/' | '\\'))
        .count()
        < 2
    {
        return None;
    }
    let rest = cleaned.trim_start_matches(['/', '\\']);
    Some(format!("https://{rest}"))
}

/// Classes are allowed only where pulldown-cmark emits them, so authors
/// cannot borrow the site's own classes to dress content up as page chrome.
fn is_allowed_class(element: &str, value: &str) -> bool {
    match element {
        "div" => value == "footnote-definition",
        "sup" => value == "footnote-reference" || value == "footnote-definition-label",
        "code" => value.strip_prefix("language-").is_some_and(|lang| {
            !lang.is_empty()
                && lang
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.'))
        }),
        _ => false,
    }
}

/// Renders a reader comment: a deliberately small subset of Markdown, with
/// every link marked `nofollow ugc` so spam links earn nothing.
pub fn render_comment(markdown: &str) -> String {
    let mut filter = CommentFilter::default();
    let mut events = Vec::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH) {
        filter.push(event, &mut events);
    }
    let mut unsafe_html = String::with_capacity(markdown.len() + markdown.len() / 2);
    // Raw HTML is already text here, so Markdown is all that nests.
    let mut cap = DepthCap::default();
    html::push_html(
        &mut unsafe_html,
        events.into_iter().filter_map(|event| cap.keep(event)),
    );
    // The event filter already removes everything outside the subset; this
    // second pass is there in case pulldown-cmark ever emits something the
    // filter did not anticipate.
    COMMENT_SANITIZER.clean(&unsafe_html).to_string()
}

static COMMENT_SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .tags(set(&[
            "p",
            "br",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "blockquote",
            "ul",
            "ol",
            "li",
            "a",
        ]))
        .clean_content_tags(set(DROP_WITH_CONTENT))
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([
            ("a", set(&["href"])),
            ("ol", set(&["start"])),
        ]))
        .url_schemes(set(LINK_SCHEMES))
        // A relative link in a comment would resolve against whatever site
        // embeds it, which is never what the commenter meant.
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("nofollow ugc noopener"))
        .strip_comments(true);
    builder
});

/// Keeps text only, HTML-escaped: used to defuse raw HTML typed into a
/// comment while keeping the words in it.
static TEXT_ONLY_SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .clean_content_tags(set(DROP_WITH_CONTENT))
        .generic_attributes(HashSet::new())
        .strip_comments(true);
    builder
});

fn strip_tags(raw_html: &str) -> String {
    if nesting_exceeds(raw_html, MAX_HTML_NESTING) {
        // Too deep to parse in reasonable time: the markup is shown as text instead.
        return ammonia::clean_text(raw_html);
    }
    TEXT_ONLY_SANITIZER.clean(raw_html).to_string()
}

/// Whether a comment link may stay a link. Browsers ignore tabs and newlines
/// inside a scheme (`java\tscript:`), so those are removed before checking.
fn is_allowed_comment_link(dest: &str) -> bool {
    let normalised: String = dest
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| normalised.starts_with(scheme))
}

/// Maps the full pulldown-cmark event stream onto the comment subset.
#[derive(Default)]
struct CommentFilter {
    /// One entry per open link: whether its start tag was kept, so that the
    /// matching end tag is kept or dropped alike.
    open_links: Vec<bool>,
    /// Raw HTML of the block being read, stripped as a whole at its end so
    /// that tags split across lines are still recognised.
    html_block: Option<String>,
}

impl CommentFilter {
    fn push<'a>(&mut self, event: Event<'a>, out: &mut Vec<Event<'a>>) {
        match event {
            // Headings would let a commenter shout over the article; their
            // text survives as a bold paragraph.
            Event::Start(Tag::Heading { .. }) => {
                out.push(Event::Start(Tag::Paragraph));
                out.push(Event::Start(Tag::Strong));
            }
            Event::End(TagEnd::Heading(_)) => {
                out.push(Event::End(TagEnd::Strong));
                out.push(Event::End(TagEnd::Paragraph));
            }
            // Images are dropped (tracking pixels, unmoderated pictures); the
            // events between start and end are the alt text, which stays.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::Link {
                link_type,
                ref dest_url,
                ..
            }) => {
                // Email autolinks carry a bare address; pulldown adds mailto:.
                let keep = link_type == LinkType::Email || is_allowed_comment_link(dest_url);
                self.open_links.push(keep);
                if keep {
                    out.push(event);
                }
            }
            Event::End(TagEnd::Link) => {
                if self.open_links.pop().unwrap_or(false) {
                    out.push(event);
                }
            }
            Event::Start(Tag::HtmlBlock) => self.html_block = Some(String::new()),
            Event::Html(raw) => match &mut self.html_block {
                Some(block) => block.push_str(&raw),
                None => push_stripped(&raw, out),
            },
            Event::End(TagEnd::HtmlBlock) => {
                let text = strip_tags(&self.html_block.take().unwrap_or_default());
                let text = text.trim();
                if !text.is_empty() {
                    out.push(Event::Start(Tag::Paragraph));
                    out.push(Event::Html(text.to_owned().into()));
                    out.push(Event::End(TagEnd::Paragraph));
                }
            }
            Event::InlineHtml(raw) => push_stripped(&raw, out),
            Event::Rule => {}
            // Commenters type newlines meaning newlines; Markdown's
            // two-trailing-spaces rule is not something they know.
            Event::SoftBreak => out.push(Event::HardBreak),
            other => out.push(other),
        }
    }
}

/// Drops the start and end tags nested deeper than [`MAX_MARKDOWN_NESTING`], keeping what is
/// between them.
#[derive(Default)]
struct DepthCap {
    /// One entry per open tag: whether it was kept, so its end tag is kept or dropped alike.
    open: Vec<bool>,
    kept: usize,
}

impl DepthCap {
    fn keep<'a>(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match event {
            Event::Start(_) => {
                let keep = self.kept < MAX_MARKDOWN_NESTING;
                self.open.push(keep);
                self.kept += usize::from(keep);
                keep.then_some(event)
            }
            Event::End(_) => {
                let keep = self.open.pop().unwrap_or(false);
                self.kept -= usize::from(keep);
                keep.then_some(event)
            }
            other => Some(other),
        }
    }
}

fn push_stripped<'a>(raw: &str, out: &mut Vec<Event<'a>>) {
    let text = strip_tags(raw);
    if !text.is_empty() {
        // Already escaped by ammonia, so it goes out as markup, not as text
        // that pulldown would escape a second time.
        out.push(Event::InlineHtml(text.into()));
    }
}

/// Gathers the text of a document in one pass over the events: the full
/// plain text (for word counts and search) and the first paragraph.
#[derive(Default)]
struct TextCollector {
    plain: String,
    excerpt: Option<String>,
    /// Text of the top-level paragraph being read, while no excerpt is known.
    paragraph: Option<String>,
    /// Depth of block containers (quotes, lists, footnotes, tables): the
    /// excerpt is the article's own lede, not a quotation or a list item.
    containers: usize,
    /// Depth of images: alt text is searchable but is no lede.
    images: usize,
}

impl TextCollector {
    fn observe(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(tag) => {
                if !is_inline_tag(tag) {
                    self.plain.push(' ');
                }
                match tag {
                    Tag::Paragraph if self.containers == 0 && self.excerpt.is_none() => {
                        self.paragraph = Some(String::new());
                    }
                    Tag::BlockQuote(_)
                    | Tag::List(_)
                    | Tag::Item
                    | Tag::FootnoteDefinition(_)
                    | Tag::Table(_)
                    | Tag::DefinitionList => self.containers += 1,
                    Tag::Image { .. } => self.images += 1,
                    _ => {}
                }
            }
            Event::End(tag) => {
                if !is_inline_tag_end(tag) {
                    self.plain.push(' ');
                }
                match tag {
                    TagEnd::Paragraph => {
                        if let Some(paragraph) = self.paragraph.take() {
                            let paragraph = collapse_whitespace(&paragraph);
                            if !paragraph.is_empty() {
                                self.excerpt = Some(truncate_words(&paragraph, EXCERPT_MAX_CHARS));
                            }
                        }
                    }
                    TagEnd::BlockQuote(_)
                    | TagEnd::List(_)
                    | TagEnd::Item
                    | TagEnd::FootnoteDefinition
                    | TagEnd::Table
                    | TagEnd::DefinitionList => {
                        self.containers = self.containers.saturating_sub(1);
                    }
                    TagEnd::Image => self.images = self.images.saturating_sub(1),
                    _ => {}
                }
            }
            Event::Text(text) | Event::Code(text) => self.push_text(text),
            Event::SoftBreak | Event::HardBreak => self.push_text(" "),
            Event::Rule => self.plain.push(' '),
            _ => {}
        }
    }

    fn push_text(&mut self, text: &str) {
        self.plain.push_str(text);
        if self.images == 0 {
            if let Some(paragraph) = &mut self.paragraph {
                paragraph.push_str(text);
            }
        }
    }

    fn word_count(&self) -> u32 {
        u32::try_from(self.plain.split_whitespace().count()).unwrap_or(u32::MAX)
    }
}

/// Inline elements join words (`*in*famous` is one word); every other tag
/// separates them.
fn is_inline_tag(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

fn is_inline_tag_end(tag: &TagEnd) -> bool {
    matches!(
        tag,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shortens whitespace-collapsed text to at most `max_chars` characters,
/// ellipsis included, cutting at a space unless a single word is too long.
fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let budget = max_chars.saturating_sub(1);
    let cut = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(index, _)| index);
    let head = &text[..cut];
    let head = if text[cut..].starts_with(' ') {
        head
    } else {
        match head.rfind(' ') {
            Some(space) if space > 0 => &head[..space],
            _ => head,
        }
    };
    // A dangling comma or dash before the ellipsis reads as a typo.
    let head = head.trim_end_matches([' ', ',', ';', ':', '-', '–', '—']);
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSS_PAYLOADS: &[&str] = &[
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "![x](javascript:alert(1))",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<div style=\"background:url(javascript:alert(1))\">",
        "<svg onload=alert(1)>",
        "<svg><script>alert(1)</script></svg>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<style>body{}</style>",
        "<p onclick=\"x\">hi</p>",
        "text <img src=x onerror=alert(1)> inline",
        "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
        "<form action=\"https://evil.example\"><input name=q><button>go</button></form>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
        "<!-- <img src=x onerror=alert(1)> -->",
        "[x](javascript:alert(1) \"title\")",
        "[x]: javascript:alert(1)\n\n[x]",
    ];

    const FORBIDDEN: &[&str] = &[
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "vbscript:",
        "data:",
        "<iframe",
        "<style",
        "style=",
        "<svg",
        "<math",
        "<object",
        "<embed",
        "<form",
        "<input",
        "<button",
    ];

    fn assert_safe(what: &str, payload: &str, html: &str) {
        let lower = html.to_lowercase();
        for needle in FORBIDDEN {
            assert!(
                !lower.contains(needle),
                "{what}({payload:?}) contains {needle:?}: {html}"
            );
        }
    }

    #[test]
    fn xss_payloads_are_neutralised() {
        for payload in XSS_PAYLOADS {
            assert_safe("render_article", payload, &render_article(payload).html);
            assert_safe("render_comment", payload, &render_comment(payload));
        }
    }

    #[test]
    fn rejected_autolink_stays_inert_text() {
        let payload = "<javascript:alert(1)>";
        for html in [render_article(payload).html, render_comment(payload)] {
            assert!(!html.contains("href"), "{html}");
            assert!(html.contains("javascript:alert(1)"), "{html}");
        }
    }

    #[test]
    fn article_rendering_table() {
        let cases: &[(&str, &[&str])] = &[
            ("# Title", &["<h1>Title</h1>"]),
            ("*em* **strong** ~~gone~~", &["<em>em</em>", "<strong>strong</strong>", "<del>gone</del>"]),
            (
                "| a | b |\n|:--|--:|\n| 1 | 2 |",
                &["<table>", "<thead>", "<th>a</th>", "<tbody>", "<td>1</td>"],
            ),
            (
                "Note[^1].\n\n[^1]: The footnote.",
                &[
                    "<sup class=\"footnote-reference\"><a href=\"#fn-1\" rel=\"noopener noreferrer\">1</a></sup>",
                    "<div class=\"footnote-definition\" id=\"fn-1\">",
                    "<sup class=\"footnote-definition-label\">1</sup>",
                ],
            ),
            ("- [x] done\n- [ ] todo", &["<li>☑ done</li>", "<li>☐ todo</li>"]),
            ("```rust\nfn main() {}\n```", &["<pre><code class=\"language-rust\">fn main() {}"]),
            (
                "[site](https://example.com \"T\")",
                &["<a href=\"https://example.com\" title=\"T\" rel=\"noopener noreferrer\">site</a>"],
            ),
            ("[page](/about)", &["<a href=\"/about\" rel=\"noopener noreferrer\">page</a>"]),
            ("[mail](mailto:a@example.com)", &["href=\"mailto:a@example.com\""]),
            (
                "![alt text](https://example.com/a.png \"cap\")",
                &["<img src=\"https://example.com/a.png\" alt=\"alt text\" title=\"cap\">"],
            ),
            ("> quoted", &["<blockquote>", "<p>quoted</p>"]),
            ("3. three\n4. four", &["<ol start=\"3\">"]),
            ("a\n\n---\n\nb", &["<hr>"]),
            ("line  \nbreak", &["<br>"]),
            ("<em>kept</em> and <kbd>dropped</kbd>", &["<em>kept</em> and dropped"]),
        ];
        for (markdown, expected) in cases {
            let html = render_article(markdown).html;
            for fragment in *expected {
                assert!(
                    html.contains(fragment),
                    "{markdown:?} -> {html}\nmissing {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn protocol_relative_links_are_made_absolute_like_other_links_to_other_hosts() {
        let cases: &[(&str, &str)] = &[
            (
                "[x](//evil.example/x)",
                "<a href=\"https://evil.example/x\" rel=\"noopener noreferrer\">x</a>",
            ),
            (
                "![i](//cdn.example/i.png)",
                "<img src=\"https://cdn.example/i.png\" alt=\"i\">",
            ),
            (
                "<a href=\"/\\evil.example/x\">x</a>",
                "href=\"https://evil.example/x\"",
            ),
            (
                "<a href=\"\\\\evil.example\">x</a>",
                "href=\"https://evil.example\"",
            ),
            (
                "<a href=\" ///evil.example\">x</a>",
                "href=\"https://evil.example\"",
            ),
            (
                "<a href=\"/&#9;/evil.example\">x</a>",
                "href=\"https://evil.example\"",
            ),
            (
                "<img src=\"//cdn.example/j.png\">",
                "src=\"https://cdn.example/j.png\"",
            ),
            // Relative links to the same site stay as they are.
            ("[page](/about)", "href=\"/about\""),
            ("[fn](#fn-1)", "href=\"#fn-1\""),
        ];
        for (markdown, expected) in cases {
            let html = render_article(markdown).html;
            assert!(
                html.contains(expected),
                "{markdown:?} -> {html}\nmissing {expected:?}"
            );
            for relative in ["=\"//", "=\"/\\", "=\"\\", "=\" /"] {
                assert!(!html.contains(relative), "{markdown:?} -> {html}");
            }
        }
        assert_eq!(protocol_relative_as_https("/x//y"), None);
        assert_eq!(protocol_relative_as_https("https://a.example"), None);
    }

    #[test]
    fn article_rejections_table() {
        let cases: &[(&str, &[&str])] = &[
            // Relative image sources are dropped; alt text stays.
            ("![alt](/local.png)", &["src="]),
            ("![alt](mailto:a@example.com)", &["src="]),
            // Classes and ids other than pulldown's own do not survive.
            (
                "<div class=\"site-header\" id=\"config\">x</div>",
                &["class=", "id=\"config\""],
            ),
            ("```evil\" onclick=\"x\ncode\n```", &["onclick"]),
            ("<code class=\"language-a b\">x</code>", &["class="]),
            // Table alignment is emitted as inline style; it is dropped.
            ("| a |\n|:-:|\n| 1 |", &["style", "text-align"]),
            (
                "<p lang=\"en\" title=\"t\" data-x=\"1\">p</p>",
                &["lang=", "title=", "data-x"],
            ),
        ];
        for (markdown, forbidden) in cases {
            let html = render_article(markdown).html;
            for fragment in *forbidden {
                assert!(
                    !html.contains(fragment),
                    "{markdown:?} -> {html}\nhas {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn author_ids_are_namespaced() {
        let html = render_article("<div id=\"config\">x</div>").html;
        assert!(!html.contains("id=\"config\""), "{html}");
    }

    #[test]
    fn excerpt_table() {
        let long = "word ".repeat(100);
        let long_excerpt = render_article(&long).excerpt;
        let cases: &[(&str, &str)] = &[
            (
                "# Title\n\nFirst para *here*.\n\nSecond.",
                "First para here.",
            ),
            ("First\nline   continues", "First line continues"),
            ("# Only a heading", ""),
            ("", ""),
            ("> a quote\n\nThe lede.", "The lede."),
            ("- item\n- list\n\nAfter the list.", "After the list."),
            (
                "![photo](https://example.com/p.jpg)\n\nReal lede.",
                "Real lede.",
            ),
            (
                "Use `code` & <b>bold</b> here[^n].\n\n[^n]: note",
                "Use code & bold here.",
            ),
            ("[a link](https://example.com) in text", "a link in text"),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                render_article(markdown).excerpt,
                *expected,
                "excerpt of {markdown:?}"
            );
        }
        assert!(long_excerpt.chars().count() <= EXCERPT_MAX_CHARS);
        assert!(long_excerpt.ends_with("word…"), "{long_excerpt}");
        assert_eq!(long_excerpt, format!("{}…", "word ".repeat(60).trim_end()));
    }

    #[test]
    fn excerpt_hard_cuts_a_giant_word() {
        let excerpt = render_article(&"x".repeat(1000)).excerpt;
        assert_eq!(excerpt, format!("{}…", "x".repeat(EXCERPT_MAX_CHARS - 1)));
    }

    #[test]
    fn truncate_words_table() {
        let cases: &[(&str, usize, &str)] = &[
            ("short", 10, "short"),
            ("exactly ten", 11, "exactly ten"),
            ("one two three", 8, "one two…"),
            ("one two three", 9, "one two…"),
            ("one, two three", 8, "one…"),
            ("ééé ééé ééé", 8, "ééé ééé…"),
            ("abcdefghij", 5, "abcd…"),
        ];
        for (text, max, expected) in cases {
            assert_eq!(
                truncate_words(text, *max),
                *expected,
                "truncate_words({text:?}, {max})"
            );
        }
    }

    #[test]
    fn word_count_and_reading_time_table() {
        let two_hundred = "word ".repeat(200);
        let two_hundred_one = "word ".repeat(201);
        let cases: &[(&str, u32, u32)] = &[
            ("", 0, 0),
            ("# ", 0, 0),
            ("Hello", 1, 1),
            ("# Title\n\nFirst para *here*.\n\nSecond.", 5, 1),
            ("in*famous* words", 2, 1),
            ("[link text](https://example.com/a/very/long/url)", 2, 1),
            ("<div class=\"x\">raw</div>", 0, 0),
            ("| a | b |\n|---|---|\n| c | d |", 4, 1),
            ("a\nb\n\n- c\n- d", 4, 1),
            (&two_hundred, 200, 1),
            (&two_hundred_one, 201, 2),
        ];
        for (markdown, words, minutes) in cases {
            let rendered = render_article(markdown);
            assert_eq!(rendered.word_count, *words, "word_count of {markdown:?}");
            assert_eq!(
                rendered.reading_time_minutes, *minutes,
                "minutes of {markdown:?}"
            );
        }
    }

    #[test]
    fn plain_text_table() {
        let cases: &[(&str, &str)] = &[
            (
                "# Title\n\nFirst para *here*.\n\nSecond.",
                "Title First para here. Second.",
            ),
            ("a  b\n\n\nc", "a b c"),
            ("![alt words](https://example.com/x.png)", "alt words"),
            ("<script>secret()</script>\n\nvisible", "visible"),
            ("[text](https://example.com)", "text"),
            ("```\nlet x = 1;\n```", "let x = 1;"),
            ("", ""),
        ];
        for (markdown, expected) in cases {
            assert_eq!(plain_text(markdown), *expected, "plain_text({markdown:?})");
        }
    }

    #[test]
    fn comment_rendering_table() {
        let cases: &[(&str, &str)] = &[
            ("*em* **strong** ~~del~~ `code`", "<p><em>em</em> <strong>strong</strong> <del>del</del> <code>code</code></p>\n"),
            (
                "[site](https://example.com)",
                "<p><a href=\"https://example.com\" rel=\"nofollow ugc noopener\">site</a></p>\n",
            ),
            (
                "<https://example.com>",
                "<p><a href=\"https://example.com\" rel=\"nofollow ugc noopener\">https://example.com</a></p>\n",
            ),
            (
                "<someone@example.com>",
                "<p><a href=\"mailto:someone@example.com\" rel=\"nofollow ugc noopener\">someone@example.com</a></p>\n",
            ),
            ("# Shout", "<p><strong>Shout</strong></p>\n"),
            ("![a cat](https://example.com/cat.png)", "<p>a cat</p>\n"),
            ("[rel](/relative)", "<p>rel</p>\n"),
            ("[js](javascript:alert(1))", "<p>js</p>\n"),
            ("line one\nline two", "<p>line one<br>\nline two</p>\n"),
            ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>\n"),
            ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"),
            ("```rust\nlet x = 1;\n```", "<pre><code>let x = 1;\n</code></pre>\n"),
            ("| a |\n|---|\n| b |", "<p>| a |<br>\n|---|<br>\n| b |</p>\n"),
            ("a\n\n---\n\nb", "<p>a</p>\n<p>b</p>\n"),
            ("I <b>love</b> it", "<p>I love it</p>\n"),
            ("<div>\nblock text & more\n</div>", "<p>block text &amp; more</p>\n"),
            ("x < y and 1 > 0", "<p>x &lt; y and 1 &gt; 0</p>\n"),
            ("- [ ] not a task list", "<ul>\n<li>[ ] not a task list</li>\n</ul>\n"),
        ];
        for (markdown, expected) in cases {
            assert_eq!(
                render_comment(markdown),
                *expected,
                "render_comment({markdown:?})"
            );
        }
    }

    #[test]
    fn comment_never_has_headings_images_or_tables() {
        let markdown = "# H1\n\n## H2\n\nSetext\n===\n\n![img](https://example.com/x.png)\n\n\
                        | a |\n|---|\n| b |\n\n<img src=\"https://example.com/y.png\">\n\n<h1>raw</h1>";
        let html = render_comment(markdown);
        for tag in ["<h1", "<h2", "<img", "<table", "<hr"] {
            assert!(!html.contains(tag), "{tag} in {html}");
        }
        for text in ["H1", "H2", "Setext", "img", "raw"] {
            assert!(html.contains(text), "{text} lost from {html}");
        }
    }

    #[test]
    fn every_comment_link_is_nofollow() {
        let html = render_comment(
            "[a](https://a.example) [b](http://b.example) [c](mailto:c@example.com)",
        );
        assert_eq!(html.matches("<a ").count(), 3, "{html}");
        assert_eq!(
            html.matches("rel=\"nofollow ugc noopener\"").count(),
            3,
            "{html}"
        );
    }

    #[test]
    fn comment_link_scheme_table() {
        let cases: &[(&str, bool)] = &[
            ("https://example.com", true),
            ("HTTP://EXAMPLE.COM", true),
            ("mailto:a@example.com", true),
            ("javascript:alert(1)", false),
            ("java\tscript:alert(1)", false),
            (" javascript:alert(1)", false),
            ("data:text/html,x", false),
            ("/relative", false),
            ("//protocol-relative.example", false),
            ("ftp://example.com", false),
            ("", false),
        ];
        for (dest, allowed) in cases {
            assert_eq!(is_allowed_comment_link(dest), *allowed, "{dest:?}");
        }
    }

    #[test]
    fn class_allow_list_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("div", "footnote-definition", true),
            ("sup", "footnote-reference", true),
            ("sup", "footnote-definition-label", true),
            ("code", "language-rust", true),
            ("code", "language-c++", true),
            ("code", "language-", false),
            ("code", "language-a b", false),
            ("code", "hljs", false),
            ("div", "site-header", false),
            ("p", "footnote-definition", false),
        ];
        for (element, class, allowed) in cases {
            assert_eq!(
                is_allowed_class(element, class),
                *allowed,
                "{element}.{class}"
            );
        }
    }
}
