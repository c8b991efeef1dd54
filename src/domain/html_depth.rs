//! How deep an HTML parser might nest a document, estimated in linear time.
//!
//! The sanitiser's HTML parser checks "is there an open `<p>` in scope?" by walking the stack of
//! open elements, so a document nested n deep costs it n² steps: a 1 MiB article of `<div>`s
//! takes minutes. Browsers cap nesting for the same reason. Rendering asks this module first and
//! flattens a document that might be too deep.

/// Elements that never have content, so never deepen the stack.
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr",
];

/// Elements whose end tag may be left out: closing an ancestor closes them too.
const IMPLIED_END: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "rb", "rp", "rt", "rtc", "tr", "td", "th",
    "tbody", "thead", "tfoot", "caption", "colgroup",
];

/// Whether an HTML parser could nest `html` more than `limit` elements deep.
///
/// Over-estimates on purpose: an element counts as closed only by its own end tag with nothing
/// but elements of [`IMPLIED_END`] inside it, or by a sibling that HTML lets close it (`<li>`
/// after `<li>`). Malformed markup therefore counts as deep as it could possibly be. The stack
/// never grows past `limit`, so the whole scan is linear in `html`.
pub fn nesting_exceeds(html: &str, limit: usize) -> bool {
    let bytes = html.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        i += offset + 1;
        let rest = &html[i..];
        if rest.starts_with("!--") {
            i += rest.find("-->").map_or(rest.len(), |end| end + 3);
            continue;
        }
        let (closing, name_start) = match bytes.get(i) {
            Some(b'/') => (true, i + 1),
            Some(b) if b.is_ascii_alphabetic() => (false, i),
            _ => continue,
        };
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':'))
            .count();
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        i = name_start + name_len;
        i += bytes[i..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(0, |p| p + 1);
        if name.is_empty() {
            continue;
        }
        if closing {
            close(&mut stack, &name);
        } else if !VOID.contains(&name.as_str()) {
            close_siblings(&mut stack, &name);
            stack.push(name);
            if stack.len() > limit {
                return true;
            }
        }
    }
    false
}

/// An end tag: pops its element when only implied-end elements are open inside it, and is
/// ignored otherwise (as a parser does when the element is out of scope).
fn close(stack: &mut Vec<String>, name: &str) {
    for at in (0..stack.len()).rev() {
        if stack[at] == name {
            stack.truncate(at);
            return;
        }
        if !IMPLIED_END.contains(&stack[at].as_str()) {
            return;
        }
    }
}

/// A start tag that HTML lets close the innermost open element: `<li>` after `<li>`, `<td>`
/// after `<td>`, `<p>` after `<p>`.
fn close_siblings(stack: &mut Vec<String>, name: &str) {
    let closes: &[&str] = match name {
        "p" => &["p"],
        "li" => &["li", "p"],
        "dt" | "dd" => &["dt", "dd", "p"],
        "option" => &["option"],
        "tr" => &["tr", "td", "th"],
        "td" | "th" => &["td", "th"],
        "tbody" | "thead" | "tfoot" => &["tbody", "thead", "tfoot", "tr", "td", "th"],
        _ => return,
    };
    while stack
        .last()
        .is_some_and(|top| closes.contains(&top.as_str()))
    {
        stack.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_table() {
        let deep_divs = "<div>".repeat(11);
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("plain text < not a tag", false),
            (&deep_divs, true),
            (&"<div></div>".repeat(50), false),
            (&"<p>".repeat(50), false),
            (&"<li>".repeat(50), false),
            (&"<tr><td>a<td>b".repeat(50), false),
            (&"<br><img src=x><hr>".repeat(50), false),
            (&"<ul><li>a<li>b</ul>".repeat(50), false),
            (&"<table><tr><td>x</table>".repeat(50), false),
            (&"<!-- <div> -->".repeat(50), false),
            // Self-closing syntax does not close a <div>; stray end tags close nothing.
            (&"<div/>".repeat(11), true),
            (&"<div></span>".repeat(11), true),
            // An end tag does not reach past an open element that is not implied-end.
            (&"<div><object></div>".repeat(6), true),
            (&"<li><ul></li>".repeat(6), true),
            (&"<DIV>".repeat(11), true),
            (&"<blockquote>\n".repeat(11), true),
        ];
        for (html, deep) in cases {
            assert_eq!(
                nesting_exceeds(html, 10),
                *deep,
                "{}",
                &html[..html.len().min(60)]
            );
        }
    }

    #[test]
    fn a_huge_document_is_scanned_quickly() {
        let html = "<div><span>".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(nesting_exceeds(&html, 128));
        let flat = "<div><p>x</p></div>".repeat(100_000);
        assert!(!nesting_exceeds(&flat, 128));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
