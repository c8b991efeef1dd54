use std::time::{Duration, Instant};
#[test]
fn probe() {
    let gens: Vec<(&str, fn(usize) -> String)> = vec![
        ("div nest", |n| "<div>".repeat(n)),
        ("b nest", |n| "<b>".repeat(n)),
        ("a nest", |n| "<a>".repeat(n)),
        ("table nest", |n| "<table><tr><td>".repeat(n / 3)),
        ("p nest", |n| "<p>".repeat(n)),
        ("quote nest", |n| "> ".repeat(n)),
        ("list nest", |n| "- ".repeat(n)),
        ("open brackets", |n| "[".repeat(n)),
        ("links nest", |n| "[a](".repeat(n)),
        ("stars", |n| "*a".repeat(n)),
        ("star runs", |n| "*".repeat(n)),
        ("backticks", |n| "`".repeat(n)),
        ("em nest", |n| "*_".repeat(n)),
        ("lt", |n| "<".repeat(n)),
        ("footnotes", |n| (0..n).map(|i| format!("[^{i}]")).collect::<String>()),
        ("link defs", |n| (0..n).map(|i| format!("[{i}]: /u\n")).collect::<String>()),
        ("html comments", |n| "<!--".repeat(n)),
        ("table wide", |n| format!("{}\n{}\n", "|a".repeat(n), "|-".repeat(n))),
        ("nested image alt", |n| "![".repeat(n)),
        ("mixed deep", |n| "> - ".repeat(n)),
        ("div close", |n| "<div></div>".repeat(n)),
    ];
    for (name, g) in gens {
        let mut line = format!("{name}:");
        for n in [4_000usize, 16_000, 64_000, 256_000] {
            let md = g(n);
            let t = Instant::now();
            let md2 = md.clone();
            let h = std::thread::Builder::new().stack_size(2 * 1024 * 1024).spawn(move || {
                let t0 = Instant::now();
                let p = masthead::domain::markdown::plain_text(&md2);
                let parse = t0.elapsed();
                let r = masthead::domain::markdown::render_article(&md2);
                let c = masthead::domain::markdown::render_comment(&md2[..md2.len().min(10_000)]);
                (r.html.len(), p.len(), parse, c.len())
            }).unwrap();
            let res = h.join();
            let el = t.elapsed();
            let parse = res.as_ref().map(|r| r.2).unwrap_or_default();
            line += &format!(" n={n}({}B) {:?} (parse {:?}){}", md.len(), el, parse, if res.is_err() {" PANIC"} else {""});
            if el > Duration::from_secs(5) { line += " [stop]"; break; }
        }
        eprintln!("{line}");
    }
}
