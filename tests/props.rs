//! Property tests over hostile input: slugs, Markdown sanitising, cursors and the comment
//! validators. Every property runs a bounded number of cases (the whole file stays well under a
//! minute in a debug build) and prints how many it ran; `PROPTEST_CASES` overrides the count for
//! a longer soak.

use std::collections::HashSet;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use masthead::config::default_trusted_proxies;
use masthead::domain::article;
use masthead::domain::client_addr;
use masthead::domain::comment::{self, BlockKind, CommentForm, NewComment, SpamRules};
use masthead::domain::html_depth::nesting_exceeds;
use masthead::domain::markdown::{plain_text, render_article, render_comment};
use masthead::domain::slug::{slugify, slugify_or, with_suffix, Slug, MAX_SLUG_LEN};
use masthead::state::cursor_key::CursorKey;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Runs `test` over `cases` values of `strategy` and reports the count on stderr.
fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    let config = Config {
        cases,
        failure_persistence: None,
        // Hostile Markdown makes big inputs; a few hundred shrink steps find the culprit.
        max_shrink_iters: 512,
        ..Config::default()
    };
    let ran = AtomicU64::new(0);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    match result {
        // Straight to the process's stderr, past the test harness's capture, so CI logs show
        // how much was run even when everything passes.
        Ok(()) => report(&format!(
            "property {name}: {} cases run, all passed",
            ran.load(Ordering::Relaxed)
        )),
        Err(TestError::Fail(why, value)) => {
            panic!("property {name} failed: {why}\nminimal input: {value:#?}")
        }
        Err(TestError::Abort(why)) => panic!("property {name} aborted: {why}"),
    }
}

fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

// ---------------------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------------------

/// Characters that exercise transliteration and separators: Kazakh and Russian Cyrillic, Greek,
/// CJK, accents (precomposed and combining), every kind of quote, joiners, emoji, controls.
const INTERESTING_CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    '9',
    '-',
    '_',
    ' ',
    '\t',
    '\n',
    '\0',
    '\u{7f}',
    '.',
    '/',
    '\\',
    '%',
    '#',
    '?',
    'Қ',
    'қ',
    'Ә',
    'ә',
    'Ү',
    'І',
    'Ж',
    'ъ',
    'ь',
    'Ё',
    'Ω',
    'ά',
    '北',
    'タ',
    'ß',
    'Ø',
    'ł',
    '\u{301}',
    '\u{300}',
    '\u{200D}',
    '\u{200B}',
    '\u{FE0F}',
    '\u{FEFF}',
    '\u{202E}',
    '\'',
    '"',
    '`',
    '«',
    '»',
    '‘',
    '’',
    '“',
    '”',
    '„',
    '′',
    '‹',
    '›',
    '＂',
    '＇',
    'ʻ',
    '🎉',
    '🚀',
    '€',
    '™',
    '½',
    '²',
    'Ⅻ',
    '①',
    'ﬁ',
    'İ',
    'ǅ',
    '\u{10FFFF}',
    '\u{E000}',
    '\u{FFFD}',
];

fn interesting_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(INTERESTING_CHARS), 0..max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Any Unicode text, including unassigned and private-use code points and controls.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect()),
        interesting_string(max),
        "\\PC{0,200}",
    ]
}

/// A URL scheme written the ways XSS payloads write it.
fn hostile_scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "javascript:",
        "JaVaScRiPt:",
        "JAVASCRIPT:",
        "java\tscript:",
        "java\nscript:",
        "java\rscript:",
        " javascript:",
        "\u{1}javascript:",
        "\u{0}javascript:",
        "javascript\t:",
        "&#106;avascript:",
        "&#0000106;avascript:",
        "&#x6A;avascript:",
        "&#X6a;AVASCRIPT:",
        "javascript&colon;",
        "javascript&#58;",
        "javascript&#x3a;",
        "jav&#x09;ascript:",
        "jav&Tab;ascript:",
        "jav&NewLine;ascript:",
        "%6Aavascript:",
        "vbscript:",
        "VBScript:",
        "livescript:",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:text/html,<script>alert(1)</script>",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "DATA:image/svg+xml;base64,PHN2Zz4=",
        "file:",
        "blob:",
        "filesystem:",
        "//evil.example/",
        "https://ok.example/",
        "mailto:",
    ])
}

fn event_attribute() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "onerror",
        "OnError",
        "ONLOAD",
        "onload",
        "onclick",
        "onmouseover",
        "onfocus",
        "onanimationstart",
        "onpointerenter",
        "onbegin",
        "ontoggle",
    ]);
    let before = prop::sample::select(vec![" ", "\t", "\n", "/", " /", "\"", "'", "  \n "]);
    let eq = prop::sample::select(vec!["=", " = ", "\n=\n", "\t=", "="]);
    let value = prop::sample::select(vec![
        "alert(1)",
        "\"alert(1)\"",
        "'alert(1)'",
        "`alert(1)`",
        "alert&#40;1&#41;",
    ]);
    (before, names, eq, value).prop_map(|(b, n, e, v)| format!("{b}{n}{e}{v}"))
}

fn tag_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "img", "IMG", "svg", "SvG", "a", "p", "div", "body", "details", "video", "audio", "input",
        "iframe", "object", "embed", "math", "style", "marquee", "x", "script", "base", "meta",
        "link", "form", "button", "select", "textarea", "template", "noscript", "table", "td",
        "sup", "code",
    ])
}

/// A fragment of an attack; a document is a run of them with Markdown glue in between.
fn hostile_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        // Script elements, whole and broken.
        prop::sample::select(vec![
            "<script>alert(1)</script>",
            "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
            "<scr<script>ipt>alert(1)</script>",
            "<script/x>alert(1)</script>",
            "<script\n>alert(1)</script\n>",
            "< script>alert(1)</script>",
            "<<script>>alert(1)<</script>>",
            "<!--<script>alert(1)</script>-->",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
            "<svg><script>alert(1)</script></svg>",
            "<svg><style><img src=x onerror=alert(1)></style></svg>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<template><script>alert(1)</script></template>",
            "<xmp><script>alert(1)</script></xmp>",
            "<textarea><script>alert(1)</script></textarea>",
            "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
            "<style>*{background:url(javascript:alert(1))}</style>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<p STYLE=\"x:expression(alert(1))\">x</p>",
            "<img src=x:alert(1) onerror=eval(src)>",
            "<a href=\"#\" onclick=\"alert(1)\">x</a>",
            "<base href=\"javascript:/\">",
            "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
            "<link rel=stylesheet href=\"javascript:alert(1)\">",
            "<object data=\"javascript:alert(1)\"></object>",
            "<embed src=\"javascript:alert(1)\">",
            "<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">x</button></form>",
            "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
            "<math href=\"javascript:alert(1)\">x</math>",
            "<video><source onerror=alert(1)></video>",
            "<img srcset=\"javascript:alert(1) 1x\">",
        ])
        .prop_map(str::to_string),
        // Tags with event handlers written every which way.
        (tag_name(), event_attribute(), any::<bool>()).prop_map(|(t, e, close)| {
            if close {
                format!("<{t}{e}>x</{t}>")
            } else {
                format!("<{t} src=x{e}>")
            }
        }),
        // Hostile URLs in every place Markdown and HTML take one.
        (hostile_scheme(), 0usize..12).prop_map(|(s, form)| {
            let u = format!("{s}alert(1)");
            match form {
                0 => format!("[x]({u})"),
                1 => format!("[x](<{u}>)"),
                2 => format!("![x]({u})"),
                3 => format!("<{u}>"),
                4 => format!("[x]: {u}\n\n[x]"),
                5 => format!("<a href=\"{u}\">x</a>"),
                6 => format!("<a href='{u}'>x</a>"),
                7 => format!("<a href={u}>x</a>"),
                8 => format!("<img src=\"{u}\">"),
                9 => format!("[x]({u} \"title\")"),
                10 => format!("![x][r]\n\n[r]: {u}"),
                _ => format!("<iframe src=\"{u}\"></iframe>"),
            }
        }),
        // Markdown structure and characters that change how the rest is parsed.
        prop::sample::select(vec![
            "\n", "\n\n", "    ", "> ", "- ", "1. ", "# ", "```\n", "```", "`", "*", "**", "_",
            "~~", "|", "| a |\n|---|\n", "[", "]", "(", ")", "<", ">", "\"", "'", "&", "&amp;",
            "&lt;", "&#", "\\", "[^1]", "[^1]: ", "- [ ] ", "<!--", "-->", "<div>\n", "</div>\n",
            "<p>", "</p>", "<a>", "</a>", "=", "\0", "\u{202E}",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z0-9 ]{0,12}",
    ]
}

fn hostile_markdown() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_fragment(), 1..16).prop_map(|parts| parts.concat())
}

// ---------------------------------------------------------------------------------------------
// An HTML reader for the sanitiser's output
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct TagToken {
    name: String,
    attributes: Vec<(String, String)>,
}

/// Reads the start tags of `html` the way a browser's tokenizer would in the data state. The
/// sanitiser escapes every `<` in text, so each raw `<` opens markup.
fn start_tags(html: &str) -> Result<Vec<TagToken>, String> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        match bytes.get(i) {
            Some(b'!') | Some(b'?') => return Err(format!("markup declaration at byte {i}")),
            Some(b'/') => {
                // End tags carry no attributes that matter; skip to their end.
                while i < bytes.len() && bytes[i] != b'>' {
                    i += 1;
                }
                continue;
            }
            Some(c) if c.is_ascii_alphabetic() => {}
            // `<` followed by anything else is text to a browser too.
            _ => continue,
        }
        let start = i;
        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'/' && bytes[i] != b'>' {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attributes = Vec::new();
        loop {
            while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b'/') {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let name_start = i;
            i += 1; // an attribute name may start with `=`
            while i < bytes.len() && !is_space(bytes[i]) && !matches!(bytes[i], b'/' | b'>' | b'=')
            {
                i += 1;
            }
            let attr_name = html[name_start..i].to_ascii_lowercase();
            while i < bytes.len() && is_space(bytes[i]) {
                i += 1;
            }
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && is_space(bytes[i]) {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        let value_start = i + 1;
                        let end = html[value_start..]
                            .find(q as char)
                            .map(|e| value_start + e)
                            .ok_or("unterminated attribute value")?;
                        value = html[value_start..end].to_string();
                        i = end + 1;
                    }
                    _ => {
                        let value_start = i;
                        while i < bytes.len() && !is_space(bytes[i]) && bytes[i] != b'>' {
                            i += 1;
                        }
                        value = html[value_start..i].to_string();
                    }
                }
            }
            attributes.push((attr_name, decode_entities(&value)));
        }
        tags.push(TagToken { name, attributes });
    }
    Ok(tags)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Decodes numeric character references and the named ones that matter for URLs.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .map_or(rest.len(), |e| e + 1);
        let entity = &rest[1..end];
        let decoded = if let Some(num) = entity.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            code.map(|c| char::from_u32(c).unwrap_or('\u{FFFD}').to_string())
        } else {
            match entity.to_ascii_lowercase().as_str() {
                "amp" => Some("&".into()),
                "quot" => Some("\"".into()),
                "apos" => Some("'".into()),
                "lt" => Some("<".into()),
                "gt" => Some(">".into()),
                "nbsp" => Some("\u{a0}".into()),
                "colon" => Some(":".into()),
                "tab" => Some("\t".into()),
                "newline" => Some("\n".into()),
                "sol" => Some("/".into()),
                _ => None,
            }
        };
        match decoded {
            Some(d) => {
                out.push_str(&d);
                rest = &rest[end..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The scheme a browser would see in a URL attribute, lowercased, if it has one: leading and
/// trailing C0 controls and spaces are stripped and tabs and newlines anywhere are ignored.
fn url_scheme(value: &str) -> Option<String> {
    let cleaned: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let end = cleaned.find([':', '/', '?', '#'])?;
    if !cleaned[end..].starts_with(':') {
        return None;
    }
    let scheme = &cleaned[..end];
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

const DANGEROUS_TAGS: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "link",
    "meta",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "template",
    "noscript",
    "xmp",
    "plaintext",
    "title",
    "marquee",
    "video",
    "audio",
    "source",
    "body",
    "html",
    "head",
];

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "action",
    "formaction",
    "data",
    "poster",
    "background",
    "cite",
    "xlink:href",
    "ping",
    "longdesc",
];

const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// The sanitiser's promise: no script, no event handler, no dangerous element or style, and no
/// URL that runs code or loads a document of the attacker's choosing.
fn assert_safe_html(input: &str, html: &str) -> Result<(), TestCaseError> {
    let lower = html.to_ascii_lowercase();
    prop_assert!(
        !lower.contains("<script"),
        "<script in output of {input:?}: {html}"
    );
    let tags = start_tags(html)
        .map_err(|e| TestCaseError::fail(format!("{e} in output of {input:?}: {html}")))?;
    for tag in &tags {
        prop_assert!(
            !DANGEROUS_TAGS.contains(&tag.name.as_str()),
            "<{}> survived from {input:?}: {html}",
            tag.name
        );
        for (name, value) in &tag.attributes {
            prop_assert!(
                !name.starts_with("on"),
                "event handler {name} on <{}> from {input:?}: {html}",
                tag.name
            );
            prop_assert!(
                !matches!(
                    name.as_str(),
                    "style" | "srcdoc" | "formaction" | "xlink:href"
                ),
                "attribute {name} on <{}> from {input:?}: {html}",
                tag.name
            );
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                let compact: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                // Browsers drop whitespace and controls around and inside a scheme; what
                // follows a non-scheme prefix (`%20javascript:`) is a harmless relative path.
                prop_assert!(
                    !compact.starts_with("javascript:") && !compact.starts_with("vbscript:"),
                    "script URL {name}={value:?} from {input:?}: {html}"
                );
                if let Some(scheme) = url_scheme(value) {
                    prop_assert!(
                        SAFE_SCHEMES.contains(&scheme.as_str()),
                        "scheme {scheme}: in {name}={value:?} from {input:?}: {html}"
                    );
                }
            }
        }
    }
    Ok(())
}

fn assert_both_renderers_safe(markdown: &str) -> Result<(), TestCaseError> {
    let rendered = render_article(markdown);
    assert_safe_html(markdown, &rendered.html)?;
    // The excerpt is plain text that front-ends escape, but it must still be bounded.
    prop_assert!(rendered.excerpt.chars().count() <= masthead::domain::markdown::EXCERPT_MAX_CHARS);
    let comment = render_comment(markdown);
    assert_safe_html(markdown, &comment)?;
    // Comments are a subset: never an image, heading or table.
    let comment_tags = start_tags(&comment).unwrap_or_default();
    for tag in comment_tags {
        prop_assert!(
            !matches!(
                tag.name.as_str(),
                "img" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "hr" | "div"
            ),
            "<{}> in a comment from {markdown:?}: {comment}",
            tag.name
        );
        if tag.name == "a" {
            let rel = tag.attributes.iter().find(|(n, _)| n == "rel");
            prop_assert!(
                rel.is_some_and(|(_, v)| v.contains("nofollow")),
                "comment link without nofollow from {markdown:?}: {comment}"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Slugs
// ---------------------------------------------------------------------------------------------

/// `^[a-z0-9]+(-[a-z0-9]+)*$`, written out.
fn is_slug_shaped(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[test]
fn slugify_always_yields_a_valid_idempotent_slug_or_nothing() {
    check("slugify", 3000, any_text(400), |title| {
        let slug = slugify(&title);
        prop_assert!(
            slug.is_empty() || is_slug_shaped(&slug),
            "slugify({title:?}) = {slug:?}"
        );
        prop_assert!(slug.len() <= MAX_SLUG_LEN, "{} chars", slug.len());
        prop_assert_eq!(slugify(&slug), slug.clone(), "not idempotent");
        if !slug.is_empty() {
            prop_assert!(Slug::try_from(slug.clone()).is_ok(), "{slug:?} refused");
        }
        let or = slugify_or(&title, "untitled");
        prop_assert!(is_slug_shaped(&or) && or.len() <= MAX_SLUG_LEN);
        prop_assert!(slug.is_empty() || or == slug);
        if slug.is_empty() {
            prop_assert_eq!(or, "untitled");
        }
        Ok(())
    });
}

#[test]
fn long_titles_are_cut_to_the_limit_at_a_word() {
    let word = "[a-z0-9]{1,30}|[А-Яа-яӘәҚқ]{1,20}|[\u{4e00}-\u{4e80}]{1,10}";
    let title = prop::collection::vec(word, 1..60).prop_map(|w| w.join(" "));
    check("slugify long titles", 500, title, |title| {
        let slug = slugify(&title);
        prop_assert!(is_slug_shaped(&slug), "slugify({title:?}) = {slug:?}");
        prop_assert!(slug.len() <= MAX_SLUG_LEN);
        prop_assert_eq!(slugify(&slug), slug.clone());
        Ok(())
    });
}

#[test]
fn suffixed_slugs_stay_valid() {
    check(
        "with_suffix",
        1500,
        (any_text(300), 2u32..=u32::MAX),
        |(base, n)| {
            let slug = with_suffix(&base, n);
            prop_assert!(
                is_slug_shaped(&slug),
                "with_suffix({base:?}, {n}) = {slug:?}"
            );
            prop_assert!(slug.len() <= MAX_SLUG_LEN);
            let suffix = format!("-{n}");
            prop_assert!(slug == n.to_string() || slug.ends_with(&suffix));
            Ok(())
        },
    );
}

#[test]
fn slug_try_from_accepts_exactly_the_slug_shape() {
    let near_miss = "[a-z0-9-]{0,130}|[a-zA-Z0-9_. -]{0,20}";
    let input = prop_oneof![any_text(200), near_miss.prop_map(String::from)];
    check("Slug::try_from", 3000, input, |raw| {
        let want = is_slug_shaped(&raw) && raw.len() <= MAX_SLUG_LEN;
        match Slug::try_from(raw.as_str()) {
            Ok(slug) => {
                prop_assert!(want, "accepted {raw:?}");
                prop_assert_eq!(slug.as_str(), raw.as_str());
            }
            Err(e) => {
                prop_assert!(!want, "refused {raw:?}");
                prop_assert!(!e.to_string().is_empty());
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

#[test]
fn deeply_nested_documents_render_quickly_and_safely() {
    // Nesting makes the sanitiser's HTML parser quadratic; rendering caps it. Each case here
    // took seconds to minutes before the cap.
    let unit = prop::sample::select(vec![
        "<div>",
        "> ",
        "> - ",
        "- > ",
        "<blockquote>",
        "<div/>",
        "<div></span>",
        "<div><object></div>",
        "<li><ul></li>",
        "<b><div></b>",
        "<svg><g>",
        "*_",
        "<table><tr><td>",
    ]);
    let input = (
        prop::collection::vec(unit, 1..4),
        3_000usize..8_000,
        hostile_fragment(),
    );
    check("deep nesting", 12, input, |(units, n, payload)| {
        let markdown = format!("{}{payload}", units.concat().repeat(n / units.len()));
        let started = std::time::Instant::now();
        assert_both_renderers_safe(&markdown)?;
        // What bounds the work is structural, so that is what is asserted: nothing the
        // renderers store nests deeper than the cap they give the sanitiser.
        for html in [render_article(&markdown).html, render_comment(&markdown)] {
            prop_assert!(
                !nesting_exceeds(&html, 136),
                "{} bytes of {units:?} rendered nested deeper than the cap",
                markdown.len()
            );
        }
        // A hang detector only, far above what a loaded debug build takes (about 2 s): each of
        // these inputs took minutes before the cap.
        let took = started.elapsed();
        prop_assert!(
            took < std::time::Duration::from_secs(60),
            "{} bytes of {units:?} took {took:?}",
            markdown.len()
        );
        Ok(())
    });
}

#[test]
fn rendering_arbitrary_text_is_safe() {
    check("render arbitrary text", 1000, any_text(600), |markdown| {
        assert_both_renderers_safe(&markdown)?;
        let _ = plain_text(&markdown);
        Ok(())
    });
}

#[test]
fn rendering_hostile_markdown_and_html_is_safe() {
    check(
        "render hostile mixes",
        2000,
        hostile_markdown(),
        |markdown| assert_both_renderers_safe(&markdown),
    );
}

#[test]
fn hostile_fragments_survive_any_nesting() {
    // The same attacks inside blockquotes, lists, tables, footnotes and links.
    let wrapper = prop::sample::select(vec![
        "> {}",
        "- {}",
        "1. {}",
        "| {} |\n|---|\n| {} |",
        "Note[^n].\n\n[^n]: {}",
        "[{}](https://ok.example)",
        "**{}**",
        "<div>\n{}\n</div>",
        "<details><summary>{}</summary></details>",
        "<table><tr><td>{}</td></tr></table>",
        "# {}",
        "    {}",
    ]);
    let nested = prop::collection::vec((wrapper, hostile_fragment()), 1..6).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, f)| w.replace("{}", &f))
            .collect::<Vec<_>>()
            .join("\n")
    });
    check("render nested attacks", 1000, nested, |markdown| {
        assert_both_renderers_safe(&markdown)
    });
}

#[test]
fn the_sanitiser_checker_catches_what_it_must() {
    // The properties above are only as good as this checker: feed it known-bad HTML.
    for bad in [
        "<p><script>alert(1)</script></p>",
        "<img src=x onerror=alert(1)>",
        "<img src=\"x\"\nONERROR = \"alert(1)\">",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<a href=\"java&#x09;script:alert(1)\">x</a>",
        "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"javascript&colon;alert(1)\">x</a>",
        "<a href='data:text/html,x'>x</a>",
        "<p style=\"color:red\">x</p>",
        "<svg></svg>",
        "<p/onclick=alert(1)>x</p>",
    ] {
        assert!(
            assert_safe_html("checker self-test", bad).is_err(),
            "checker missed {bad}"
        );
    }
    for good in [
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
        "<p>javascript:alert(1) onclick=x</p>",
        "<a href=\"https://example.com/?q=javascript\" rel=\"nofollow\">x</a>",
        "<a href=\"/about#x\">x</a>",
        "<a href=\"%20javascript:alert(1)\">x</a>",
        "<a href=\"\u{fffd}javascript:alert(1)\">x</a>",
        "<img src=\"https://example.com/a.png\" alt=\"onerror=alert(1)\">",
    ] {
        assert!(
            assert_safe_html("checker self-test", good).is_ok(),
            "checker flagged {good}"
        );
    }
    report("property sanitiser checker: 19 fixed cases run, all passed");
}

// ---------------------------------------------------------------------------------------------
// Cursors
// ---------------------------------------------------------------------------------------------

/// Mirrors of the private cursor shapes the list endpoints decode.
#[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
struct ListCursor {
    t: Option<chrono::NaiveDateTime>,
    r: Option<f64>,
    id: i64,
}

#[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
struct ThreadCursor {
    p: String,
}

fn cursor_keys() -> CursorKey {
    CursorKey::new(b"the property tests' secret, 32 bytes long")
}

fn decode_cursor<T: serde::de::DeserializeOwned>(raw: &str) -> Option<T> {
    cursor_keys().open(raw)
}

fn encode_cursor<T: serde::Serialize>(key: &T) -> String {
    cursor_keys().seal(key)
}

fn decode_every_shape(raw: &str) {
    let _ = decode_cursor::<i64>(raw);
    let _ = decode_cursor::<i32>(raw);
    let _ = decode_cursor::<(i64, String)>(raw);
    let _ = decode_cursor::<ListCursor>(raw);
    let _ = decode_cursor::<ThreadCursor>(raw);
    let _ = decode_cursor::<serde_json::Value>(raw);
}

fn hostile_json() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "null",
            "1e400",
            "-1e400",
            "18446744073709551616",
            "-9223372036854775809",
            "9223372036854775807",
            "2147483648",
            "{\"id\":1e308}",
            "{\"id\":9223372036854775808}",
            "{\"id\":-9223372036854775808,\"t\":\"+262143-12-31T23:59:59\"}",
            "{\"id\":1,\"t\":\"0000-00-00T00:00:00\"}",
            "{\"id\":1,\"r\":1e309}",
            "{\"id\":1,\"r\":\"NaN\"}",
            "{\"p\":\"\\u0000\"}",
            "{\"p\":\"\\ud800\"}",
            "{\"p\":null}",
            "{\"p\":[]}",
            "[1,\"\\u0000\"]",
            "[1,2,3]",
            "\"\\u0000\"",
            "{\"id\":1,\"id\":2}",
        ])
        .prop_map(str::to_string),
        (1usize..400).prop_map(|n| "[".repeat(n)),
        (1usize..200).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        (1usize..100).prop_map(|n| format!("{}{}", "{\"a\":".repeat(n), "1")),
        "\\PC{0,100}",
    ]
}

#[test]
fn decoding_garbage_cursors_never_panics() {
    let raw = prop_oneof![
        any_text(300),
        "[A-Za-z0-9_=+/-]{0,1100}",
        prop::collection::vec(any::<u8>(), 0..800).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        hostile_json().prop_map(|j| URL_SAFE_NO_PAD.encode(j)),
        hostile_json().prop_map(|j| base64::engine::general_purpose::STANDARD.encode(j)),
        // Sealed with the right key: what a cursor's JSON decoding must survive if the key leaks.
        hostile_json().prop_map(|j| cursor_keys().seal_bytes(j.as_bytes())),
    ];
    check("decode_cursor", 3000, raw, |raw| {
        decode_every_shape(&raw);
        // Each length bound holds: nothing longer than 1 KiB is ever read.
        if raw.len() > 1024 {
            prop_assert!(decode_cursor::<serde_json::Value>(&raw).is_none());
        }
        Ok(())
    });
}

#[test]
fn issued_cursors_decode_to_what_was_encoded() {
    let key = (any::<i64>(), any_text(100), any::<i32>());
    check("cursor round trip", 1000, key, |(id, path, small)| {
        if path.contains('\0') {
            // No cursor the server issues holds a NUL; one that does is refused, not decoded.
            let t = encode_cursor(&ThreadCursor { p: path });
            prop_assert_eq!(decode_cursor::<ThreadCursor>(&t), None);
            return Ok(());
        }
        let c = encode_cursor(&(id, path.clone()));
        prop_assert_eq!(decode_cursor::<(i64, String)>(&c), Some((id, path.clone())));
        let t = encode_cursor(&ThreadCursor { p: path.clone() });
        prop_assert_eq!(
            decode_cursor::<ThreadCursor>(&t),
            Some(ThreadCursor { p: path })
        );
        prop_assert_eq!(decode_cursor::<i32>(&encode_cursor(&small)), Some(small));
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Comment fields, the blocklist and spam rules
// ---------------------------------------------------------------------------------------------

fn has_stray_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn email_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(300),
        "[a-zA-Z0-9.+_'-]{0,70}@[a-zA-Z0-9.-]{0,70}\\.[a-z]{0,8}",
        "[a-z]{1,10}@[a-z]{1,10}\\.[a-z]{2,4}[\\x00-\\x1f ]?",
        (any_text(40), any_text(40)).prop_map(|(l, d)| format!("{l}@{d}")),
        "[a-z]{1,64}@([a-z]{1,63}\\.){1,6}[a-z]{2,63}",
    ]
}

#[test]
fn comment_field_validators_never_panic_and_keep_their_promises() {
    let form = (
        any_text(200),
        email_like(),
        prop_oneof![any_text(400), hostile_markdown()],
        prop::option::of(prop_oneof![
            any_text(100),
            (hostile_scheme(), "[a-z./]{0,20}").prop_map(|(s, r)| format!("{s}{r}"))
        ]),
        prop::option::of(any_text(20)),
    );
    check(
        "comment validators",
        3000,
        form,
        |(name, email, body, url, website)| {
            if let Ok(n) = comment::author_name(&name) {
                let chars = n.chars().count();
                prop_assert!((1..=comment::AUTHOR_NAME_MAX).contains(&chars));
                prop_assert!(!n.chars().any(char::is_control), "{n:?}");
            }
            if let Ok(e) = comment::author_email(&email) {
                prop_assert!(e.chars().count() <= comment::AUTHOR_EMAIL_MAX);
                prop_assert!(
                    !e.chars().any(|c| c.is_whitespace() || c.is_control()),
                    "{e:?}"
                );
                prop_assert!(e.contains('@'));
                prop_assert_eq!(comment::author_email(&e), Ok(e.clone()), "not canonical");
            }
            if let Ok(b) = comment::body(&body) {
                prop_assert!((1..=comment::BODY_MAX).contains(&b.chars().count()));
                prop_assert!(!has_stray_control(&b), "{b:?}");
            }
            if let Ok(Some(u)) = comment::author_url(url.as_deref()) {
                let lower = u.to_ascii_lowercase();
                prop_assert!(
                    lower.starts_with("http://") || lower.starts_with("https://"),
                    "{u:?}"
                );
                prop_assert!(!u.chars().any(|c| c.is_whitespace() || c.is_control()));
            }
            if let Ok(Some(n)) = comment::moderation_note(Some(&body)) {
                prop_assert!(!has_stray_control(&n));
            }
            let form = CommentForm {
                author_name: &name,
                author_email: &email,
                body: &body,
                author_url: url.as_deref(),
                website: website.as_deref(),
            };
            if let Ok(c) = NewComment::parse(&form) {
                let rules = SpamRules {
                    max_links: 2,
                    keywords: vec![name.clone(), "free money".into(), String::new()],
                };
                let _ = rules.verdict_for(&c);
                let _ = comment::duplicate_key(&c.author_email, &c.body);
            }
            let _ = comment::count_links(&body);
            Ok(())
        },
    );
}

fn block_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(300),
        email_like(),
        "@?[a-zA-Z0-9.-]{0,80}\\.?",
        "[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}(/[0-9]{1,3})?",
        "[0-9a-fA-F:.]{0,45}(/[0-9]{1,4})?",
        "::ffff:[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}/[0-9]{1,3}",
        "\\[?[0-9a-f:]{2,39}\\]?(:[0-9]{1,6})?",
        any::<IpAddr>().prop_map(|ip| ip.to_string()),
        (any::<IpAddr>(), 0u8..=140).prop_map(|(ip, p)| format!("{ip}/{p}")),
    ]
}

#[test]
fn blocklist_parsing_never_panics_and_is_canonical() {
    let kind = prop::sample::select(BlockKind::ALL.to_vec());
    let input = (
        kind,
        block_value(),
        email_like(),
        prop::option::of(any::<IpAddr>()),
    );
    check("blocklist", 4000, input, |(kind, raw, email, ip)| {
        let parsed = comment::parse_block_value(kind, &raw);
        // Matching never panics, whatever is stored (old rows may predate today's parser).
        let _ = comment::block_matches(kind, &raw, &email, ip);
        if let Ok(value) = parsed {
            prop_assert!(!value.is_empty());
            prop_assert!(!value.chars().any(char::is_control), "{value:?}");
            prop_assert_eq!(
                comment::parse_block_value(kind, &value),
                Ok(value.clone()),
                "{} value {:?} is not canonical",
                kind,
                raw
            );
            if let Some(ip) = ip {
                let _ = comment::block_matches(kind, &value, &email, Some(ip));
            }
            match kind {
                BlockKind::Ip => {
                    let blocked: IpAddr = value.parse().expect("canonical IP parses");
                    prop_assert!(comment::block_matches(kind, &value, "", Some(blocked)));
                }
                BlockKind::Email => {
                    prop_assert!(comment::block_matches(kind, &value, &value, None));
                }
                BlockKind::EmailDomain => {
                    let address = format!("someone@{value}");
                    prop_assert!(comment::block_matches(kind, &value, &address, None));
                }
                BlockKind::Cidr => {
                    let network = value.split('/').next().unwrap_or_default();
                    let first: IpAddr = network.parse().expect("network address parses");
                    prop_assert!(comment::block_matches(kind, &value, "", Some(first)));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn client_addresses_and_spam_rules_never_panic() {
    let forwarded = prop_oneof![
        any_text(200),
        block_value(),
        prop::collection::vec(block_value(), 0..6).prop_map(|v| v.join(",")),
    ];
    let input = (
        prop::option::of(any::<IpAddr>()),
        prop::option::of(forwarded),
        any::<bool>(),
        prop::collection::vec(any_text(30), 0..5),
        any_text(500),
    );
    check(
        "client_ip and spam rules",
        2000,
        input,
        |(peer, fwd, trust, keywords, body)| {
            let lines = fwd.as_deref().map(str::as_bytes);
            let ip = client_addr::client_ip(peer, lines, trust, &default_trusted_proxies());
            if let Some(IpAddr::V6(v6)) = ip {
                prop_assert!(v6.to_ipv4_mapped().is_none(), "mapped address {v6}");
            }
            if !trust {
                prop_assert_eq!(ip, peer.map(|p| p.to_canonical()));
            }
            let rules = SpamRules {
                max_links: 1,
                keywords,
            };
            let _ = rules.verdict(&body, Some(&body), false);
            Ok(())
        },
    );
}

#[test]
fn article_field_validators_never_panic_and_keep_their_promises() {
    let input = (
        any_text(400),
        prop::collection::vec(any_text(60), 0..25),
        prop_oneof![
            any_text(40),
            "[a-zA-Z]{1,9}(-[a-zA-Z0-9]{0,9}){0,4}".prop_map(String::from)
        ],
        prop_oneof![
            any_text(100),
            (hostile_scheme(), "[a-z./]{0,20}").prop_map(|(s, r)| format!("{s}{r}"))
        ],
    );
    check(
        "article validators",
        2000,
        input,
        |(text, tags, language, url)| {
            if let Ok(t) = article::title(&text) {
                prop_assert!((1..=article::TITLE_MAX).contains(&t.chars().count()));
            }
            let _ = article::optional_text(Some(&text), article::SUBTITLE_MAX);
            let _ = article::body(&text);
            if let Ok(tags) = article::tags(&tags) {
                prop_assert!(tags.len() <= article::TAGS_MAX);
                let mut seen = HashSet::new();
                for tag in &tags {
                    prop_assert!(seen.insert(article::tag_slug(tag)), "duplicate {tag:?}");
                    prop_assert!(!tag.chars().any(char::is_control));
                }
            }
            if let Ok(l) = article::language(&language) {
                prop_assert!(l.is_ascii() && l.len() <= article::LANGUAGE_MAX);
            }
            if let Ok(Some(u)) = article::http_url(Some(&url)) {
                prop_assert!(u.to_ascii_lowercase().starts_with("http"), "{u:?}");
            }
            Ok(())
        },
    );
}
