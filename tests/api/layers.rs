//! The source's layers: every `crate::<module>` path in `src/` names a top-level module at the
//! same layer or below (ARCHITECTURE order in `STYLE.md`), and no two top-level modules import
//! each other, directly or around a longer circle. Read from the files, no server involved.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the top layer down. Modules on one line share a layer: they may
/// import each other, as long as no cycle forms.
const LAYERS: &[&[&str]] = &[
    &["main", "cli", "seed"],
    &["startup"],
    &["openapi"],
    &["routes"],
    &["services"],
    &["api"],
    &["webhooks", "transfer"],
    &["state"],
    &["db"],
    &["error", "auth"],
    &["domain", "config", "telemetry"],
];

/// Imports that go against the layers on purpose, each with its reason: `(from, to, why)`.
/// Empty today; an entry here is a debt to pay, not a permission.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`src/routes/users.rs` → `routes`).
fn owner(src: &Path, file: &Path) -> String {
    let first = file
        .strip_prefix(src)
        .expect("a file under src/")
        .components()
        .next()
        .expect("a path component");
    let name = first.as_os_str().to_string_lossy();
    name.strip_suffix(".rs").unwrap_or(&name).to_string()
}

/// The top-level modules a file's code names through `crate::…` paths: `use` lines, and paths
/// written in place (`crate::db::write_transaction(…)`, `response = crate::error::…`).
/// Comments are skipped; `crate::{a, b}` groups count each name.
fn imported(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let preceded = rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
            rest = &rest[at + "crate::".len()..];
            if preceded {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        found.insert(name.to_string());
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Every edge between two top-level modules, with a file that makes it.
fn module_graph() -> BTreeMap<(String, String), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules: BTreeSet<String> = files.iter().map(|f| owner(&src, f)).collect();
    modules.remove("lib");
    let mut edges = BTreeMap::new();
    for file in &files {
        let from = owner(&src, file);
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for to in imported(&text) {
            // Macros exported at the crate root (`crate::on_backend!`) are not modules.
            if to != from && modules.contains(&to) {
                let shown = file
                    .strip_prefix(&src)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                edges.entry((from.clone(), to)).or_insert(shown);
            }
        }
    }
    edges
}

fn excepted(from: &str, to: &str) -> bool {
    EXCEPTIONS.iter().any(|(f, t, _)| *f == from && *t == to)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let graph = module_graph();
    let unplaced: BTreeSet<&String> = graph
        .keys()
        .flat_map(|(from, to)| [from, to])
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
}

#[test]
fn imports_only_go_down_the_layers() {
    let upward: Vec<String> = module_graph()
        .into_iter()
        .filter(|((from, to), _)| !excepted(from, to))
        .filter(|((from, to), _)| match (layer_of(from), layer_of(to)) {
            (Some(f), Some(t)) => t < f,
            _ => false,
        })
        .map(|((from, to), file)| format!("{from} -> {to} (in src/{file})"))
        .collect();
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn no_two_top_level_modules_import_each_other_even_around_a_circle() {
    let graph = module_graph();
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in graph.keys() {
        if !excepted(from, to) {
            next.entry(from).or_default().push(to);
        }
    }
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module);
            cycles.push(cycle.join(" -> "));
            return;
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for to in next.get(module).into_iter().flatten() {
            visit(to, next, path, done, cycles);
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for module in next.keys() {
        visit(module, &next, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
