//! URL slugs: generation from free-text titles and validation of slugs that
//! editors type in themselves.
//!
//! Slugs end up in public URLs that get shared, cached and indexed, so they are
//! plain ASCII (`[a-z0-9]+(-[a-z0-9]+)*`) whatever script the title is in.

use std::fmt;

/// Longest slug we generate or accept. Long enough for a headline, short
/// enough to keep URLs readable and fit comfortably in an indexed column.
pub const MAX_SLUG_LEN: usize = 120;

/// Kazakh Cyrillic letters that deunicode renders badly: `Ә` becomes `@`, and
/// `Ғ Қ Ң Ұ` come out with an apostrophe (`K'`) that would either split the
/// word or silently vanish. We follow the official Kazakh Latin alphabet of
/// 2021 (Ä Ğ Q Ñ Ö Ū Ü H I) with the diacritics dropped, which keeps
/// `Қазақстан` recognisable as `qazaqstan` rather than `kazakstan` or
/// `k-azak-stan`. The letters shared with Russian (Ж, Ш, …) keep deunicode's
/// romanisation so mixed Kazakh/Russian titles stay consistent.
const KAZAKH_LETTERS: &[(char, &str)] = &[
    ('Ә', "A"),
    ('ә', "a"),
    ('Ғ', "G"),
    ('ғ', "g"),
    ('Қ', "Q"),
    ('қ', "q"),
    ('Ң', "N"),
    ('ң', "n"),
    ('Ө', "O"),
    ('ө', "o"),
    ('Ұ', "U"),
    ('ұ', "u"),
    ('Ү', "U"),
    ('ү', "u"),
    ('Һ', "H"),
    ('һ', "h"),
    ('І', "I"),
    ('і', "i"),
];

fn kazakh_letter(c: char) -> Option<&'static str> {
    KAZAKH_LETTERS
        .iter()
        .find(|(letter, _)| *letter == c)
        .map(|(_, latin)| *latin)
}

/// Quotation marks and apostrophes vanish instead of separating words, so
/// that `Don't` gives `dont` and not `don-t`. Some of these (guillemets, low
/// quotes) transliterate to `<<` or `,,`, which would otherwise look like
/// punctuation, hence the explicit list.
fn is_quote(c: char) -> bool {
    matches!(
        c,
        '\'' | '"'
            | '`'
            | '\u{00AB}' // «
            | '\u{00BB}' // »
            | '\u{00B4}' // ´
            | '\u{02B9}'..='\u{02BC}' // ʹ ʺ ʻ ʼ
            | '\u{02EE}' // ˮ
            | '\u{2018}'..='\u{201F}' // ‘ ’ ‚ ‛ “ ” „ ‟
            | '\u{2032}'..='\u{2037}' // ′ ″ ‴ ‵ ‶ ‷
            | '\u{2039}' // ‹
            | '\u{203A}' // ›
            | '\u{FF02}' // ＂
            | '\u{FF07}' // ＇
    )
}

/// Transliterates one non-ASCII character, or returns `None` when it should
/// act as a word separator.
fn transliterate(c: char) -> Option<&'static str> {
    if let Some(latin) = kazakh_letter(c) {
        return Some(latin);
    }
    let ascii = deunicode::deunicode_char(c)?;
    if c.is_alphanumeric() {
        return Some(ascii);
    }
    // Not a letter or digit. deunicode maps combining accents, joiners and
    // variation selectors to "" and those must glue the word together
    // (decomposed `e\u{301}` is still one word); anything else is punctuation
    // or a symbol. Emoji and symbols get spelled out by deunicode ("tada",
    // "EUR", "tm"), which would inject words the author never wrote, so they
    // only separate.
    if ascii.is_empty() || ascii.chars().all(|a| matches!(a, '\'' | '"' | '`')) {
        Some("")
    } else {
        None
    }
}

/// Turns a title in any script into a URL slug.
///
/// The result is ASCII lowercase letters and digits joined by single hyphens,
/// at most [`MAX_SLUG_LEN`] characters, cut at a word boundary where possible.
/// It is empty when nothing in the title can be transliterated (only emoji or
/// punctuation, say); see [`slugify_or`].
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len().min(MAX_SLUG_LEN + 1));
    let mut pending_hyphen = false;
    let mut push_ascii = |slug: &mut String, ascii: &str| {
        for a in ascii.chars() {
            if a.is_ascii_alphanumeric() {
                if pending_hyphen && !slug.is_empty() {
                    slug.push('-');
                }
                pending_hyphen = false;
                slug.push(a.to_ascii_lowercase());
            } else if !matches!(a, '\'' | '"' | '`') {
                // deunicode renders some letters with apostrophes (the Russian
                // hard sign, Arabic ain); like typed quotes they vanish.
                pending_hyphen = true;
            }
        }
    };

    let mut buf = [0u8; 4];
    for c in title.chars() {
        // One character past the limit is enough to know whether the last
        // word was complete; the rest of a huge title cannot matter.
        if slug.len() > MAX_SLUG_LEN {
            break;
        }
        if is_quote(c) {
            continue;
        }
        if c.is_ascii() {
            push_ascii(&mut slug, c.encode_utf8(&mut buf));
            continue;
        }
        match transliterate(c) {
            Some(ascii) => push_ascii(&mut slug, ascii),
            None => push_ascii(&mut slug, " "),
        }
    }

    let len = truncate_at_word(&slug, MAX_SLUG_LEN).len();
    slug.truncate(len);
    slug
}

/// Like [`slugify`], but falls back to `slugify(fallback)` when the title
/// yields nothing usable, e.g. `slugify_or("🎉", "untitled")`.
pub fn slugify_or(title: &str, fallback: &str) -> String {
    let slug = slugify(title);
    if slug.is_empty() {
        slugify(fallback)
    } else {
        slug
    }
}

/// Appends a uniqueness counter: `with_suffix("my-post", 2)` is `my-post-2`.
///
/// Meant for `n >= 2` (the first occurrence keeps the bare slug). The base is
/// normalised with [`slugify`] (a no-op for a valid slug) and shortened at a
/// hyphen, or hard-cut if it is one long word, so the whole result stays
/// within [`MAX_SLUG_LEN`]: a suffix that pushes the slug over the limit
/// would otherwise make it fail validation.
pub fn with_suffix(base: &str, n: u32) -> String {
    let suffix = n.to_string();
    let base = slugify(base);
    let room = MAX_SLUG_LEN.saturating_sub(suffix.len() + 1);
    let base = truncate_at_word(&base, room);
    if base.is_empty() {
        suffix
    } else {
        format!("{base}-{suffix}")
    }
}

/// Cuts a slug-shaped ASCII string to at most `max` bytes at a hyphen, or
/// hard-cuts it when the first word alone is too long.
fn truncate_at_word(slug: &str, max: usize) -> &str {
    if slug.len() <= max {
        return slug;
    }
    // Slugs are ASCII, but stay on a char boundary so that no input can make
    // the slicing below panic.
    let mut end = max;
    while !slug.is_char_boundary(end) {
        end -= 1;
    }
    if slug[end..].starts_with('-') {
        return &slug[..end];
    }
    match slug[..end].rfind('-') {
        Some(hyphen) if hyphen > 0 => &slug[..hyphen],
        _ => &slug[..end],
    }
}

fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_LEN
        && s.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A slug known to be well formed: 1–[`MAX_SLUG_LEN`] characters of
/// `[a-z0-9]+(-[a-z0-9]+)*`. Purely numeric slugs are allowed.
///
/// Explicit slugs from editors are validated rather than silently
/// re-slugified, so that what they typed is exactly what gets published.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if is_valid_slug(&value) {
            Ok(Slug(value))
        } else {
            Err(SlugError)
        }
    }
}

impl TryFrom<&str> for Slug {
    type Error = SlugError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Slug::try_from(value.to_owned())
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Rejection of an explicit slug. It carries no detail because the one rule
/// is short enough to show to the editor in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlugError;

impl fmt::Display for SlugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "must be 1–{MAX_SLUG_LEN} characters of lowercase a–z, 0–9 and single hyphens, \
             not starting or ending with a hyphen"
        )
    }
}

impl std::error::Error for SlugError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_slug_shape(slug: &str) {
        assert!(
            slug.is_empty() || is_valid_slug(slug),
            "not a valid slug: {slug:?}"
        );
    }

    #[test]
    fn slugify_table() {
        let cases: &[(&str, &str)] = &[
            ("Masimov’s “Chinese” Secret", "masimovs-chinese-secret"),
            ("Don't stop", "dont-stop"),
            ("Don’t stop", "dont-stop"),
            ("«Ёлки» и „Палки‟", "iolki-i-palki"),
            ("‚single‘ ′prime′ ‹angle›", "single-prime-angle"),
            ("Hello, World!", "hello-world"),
            ("  --Leading and trailing--  ", "leading-and-trailing"),
            ("multiple   spaces\tand\nlines", "multiple-spaces-and-lines"),
            ("C++ & Rust: 2024 edition", "c-rust-2024-edition"),
            ("Café Crème", "cafe-creme"),
            ("Cafe\u{301} Cre\u{300}me", "cafe-creme"),
            ("Straße", "strasse"),
            ("Zürich Øresund Łódź", "zurich-oresund-lodz"),
            ("Привет, мир", "privet-mir"),
            ("Объявление", "obiavlenie"),
            ("Αθήνα", "athena"),
            ("Қазақстан Әуе Жолдары", "qazaqstan-aue-zholdary"),
            ("Әә Ғғ Ққ Ңң Өө Ұұ Үү Һһ Іі", "aa-gg-qq-nn-oo-uu-uu-hh-ii"),
            ("Ақорда мен Үкімет", "aqorda-men-ukimet"),
            ("北京欢迎你", "bei-jing-huan-ying-ni"),
            ("東京タワー", "dong-jing-tawa"),
            ("Launch 🚀 day 🎉", "launch-day"),
            ("🎉🚀", ""),
            ("!!! ??? ...", ""),
            ("", ""),
            ("2024", "2024"),
            ("Price: 100€", "price-100"),
            ("zero\u{200D}width", "zerowidth"),
        ];
        for (title, expected) in cases {
            let slug = slugify(title);
            assert_eq!(&slug, expected, "slugify({title:?})");
            assert_slug_shape(&slug);
            assert!(slug.is_ascii());
        }
    }

    #[test]
    fn kazakh_title_is_readable_ascii() {
        let slug = slugify("Қазақстан Әуе Жолдары");
        assert!(!slug.is_empty());
        assert!(slug.is_ascii());
        assert_eq!(slug, slug.to_lowercase());
        assert!(Slug::try_from(slug.clone()).is_ok());
        assert_eq!(slug, "qazaqstan-aue-zholdary");
    }

    #[test]
    fn long_title_is_cut_at_a_word_boundary() {
        let title = "lorem ipsum dolor sit amet ".repeat(12);
        assert!(title.len() >= 300);
        let slug = slugify(&title);
        assert!(slug.len() <= MAX_SLUG_LEN);
        assert!(!slug.ends_with('-'));
        let uncut = title.split_whitespace().collect::<Vec<_>>().join("-");
        assert!(uncut.starts_with(&format!("{slug}-")));
        assert!(slug.len() > MAX_SLUG_LEN - "lorem-ipsum".len());
        assert!(is_valid_slug(&slug));
    }

    #[test]
    fn long_title_cut_exactly_at_a_word_end_keeps_that_word() {
        // 119 chars of words then a separator: the limit falls on a word end.
        let title = format!("{} {}", "a".repeat(59), "b".repeat(60));
        let slug = slugify(&format!("{title} tail"));
        assert_eq!(slug.len(), MAX_SLUG_LEN);
        assert_eq!(slug, format!("{}-{}", "a".repeat(59), "b".repeat(60)));
    }

    #[test]
    fn one_huge_word_is_hard_cut() {
        let slug = slugify(&"x".repeat(300));
        assert_eq!(slug, "x".repeat(MAX_SLUG_LEN));
    }

    #[test]
    fn slugify_or_falls_back() {
        assert_eq!(slugify_or("🎉", "Untitled article"), "untitled-article");
        assert_eq!(slugify_or("Real title", "untitled"), "real-title");
        assert_eq!(slugify_or("🎉", "🎉"), "");
    }

    #[test]
    fn with_suffix_table() {
        let long_words = "abcdefghi-".repeat(12); // 120 chars, trailing hyphen
        let long_words = long_words.trim_end_matches('-');
        let cases: Vec<(String, u32, String)> = vec![
            ("my-post".into(), 2, "my-post-2".into()),
            ("my-post".into(), 1234, "my-post-1234".into()),
            ("".into(), 3, "3".into()),
            ("Not A Slug".into(), 2, "not-a-slug-2".into()),
            (
                long_words.into(),
                2,
                format!("{}-2", "abcdefghi-".repeat(11).trim_end_matches('-')),
            ),
            ("y".repeat(120), 10, format!("{}-10", "y".repeat(117))),
        ];
        for (base, n, expected) in cases {
            let slug = with_suffix(&base, n);
            assert_eq!(slug, expected, "with_suffix({base:?}, {n})");
            assert!(slug.len() <= MAX_SLUG_LEN);
            assert!(is_valid_slug(&slug));
        }
    }

    #[test]
    fn explicit_slug_table() {
        let too_long = "a".repeat(MAX_SLUG_LEN + 1);
        let longest = "a".repeat(MAX_SLUG_LEN);
        let cases: &[(&str, bool)] = &[
            ("hello", true),
            ("hello-world", true),
            ("2024", true),
            ("a", true),
            ("v2-release-10", true),
            (&longest, true),
            ("", false),
            ("Upper", false),
            ("-lead", false),
            ("trail-", false),
            ("double--hyphen", false),
            ("with space", false),
            ("ünï", false),
            ("under_score", false),
            ("dot.ted", false),
            ("-", false),
            (&too_long, false),
        ];
        for (input, valid) in cases {
            let result = Slug::try_from(input.to_string());
            assert_eq!(result.is_ok(), *valid, "Slug::try_from({input:?})");
            if let Ok(slug) = result {
                assert_eq!(slug.as_str(), *input);
                assert_eq!(slug.as_ref(), *input);
                assert_eq!(slug.to_string(), *input);
                assert_eq!(slug.into_inner(), *input);
            }
        }
    }

    #[test]
    fn slug_error_message_is_human() {
        let err = Slug::try_from("Bad Slug").unwrap_err();
        assert_eq!(
            err.to_string(),
            "must be 1–120 characters of lowercase a–z, 0–9 and single hyphens, \
             not starting or ending with a hyphen"
        );
        let _: &dyn std::error::Error = &err;
    }

    #[test]
    fn generated_slugs_are_always_valid_or_empty() {
        let titles = [
            "नमस्ते दुनिया",
            "مرحبا بالعالم",
            "שלום עולם",
            "안녕하세요 세계",
            "こんにちは世界",
            "ʻOkina and ʼapostrophe",
            "½ price — today™ ©2024",
            "\u{0}\u{7f}control\u{1b}chars",
        ];
        for title in titles {
            let slug = slugify(title);
            assert_slug_shape(&slug);
            assert_eq!(slugify(&slug), slug, "slugify is idempotent on {slug:?}");
        }
    }
}
