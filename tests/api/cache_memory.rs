//! The response cache's memory bound, seen from outside: a flood of anonymous GETs with unique
//! long queries must not grow the process by more than the cache's budget plus a margin, and
//! must not stay grown.
//!
//! The flood runs in a process of its own (this test binary again, running only
//! `cache_flood_probe`), so the resident size it reads is the server's alone, not that of other
//! tests running beside it.

use std::process::Command;

use crate::helpers::spawn_app;

/// Requests in the flood, each with a query parameter of its own name.
const FLOOD: usize = 3_000;
/// The length of each query value: as long as a URI the server accepts allows.
const VALUE_LEN: usize = 15_000;
/// Growth allowed besides the cache's budget: the allocator's arenas and free lists, the
/// connections' buffers and the runtime's threads (measured: about 3 MiB once the cache kept
/// nothing; 48 MiB and more when it kept every query).
const MARGIN: usize = 12 * 1024 * 1024;

/// The resident set size of this process, in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

#[test]
fn a_flood_of_unique_long_queries_stays_within_the_cache_budget() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "cache_memory::cache_flood_probe",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("1 passed"),
        "the probe failed:\n{stdout}\n{stderr}"
    );
    if let Some(figures) = stdout.lines().find(|l| l.starts_with("flood of")) {
        println!("{figures}");
    }
}

/// Not a test of its own: the process the test above starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a process of its own by a_flood_of_unique_long_queries_stays_within_the_cache_budget"]
async fn cache_flood_probe() {
    let app = spawn_app().await;
    let value = "v".repeat(VALUE_LEN);
    // Warm up: connections, the pool, the allocator's arenas.
    for i in 0..100 {
        let res = app.get(&format!("/api/v1/series?w{i}=x"), None).await;
        assert_eq!(res.status(), 200);
    }
    let before = rss();
    let tasks = 8;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let client = app.client.clone();
        let base = app.url("/api/v1/series");
        let value = value.clone();
        handles.push(tokio::spawn(async move {
            for n in (t..FLOOD).step_by(tasks) {
                let res = client
                    .get(format!("{base}?x{n}={value}"))
                    .send()
                    .await
                    .expect("request sent");
                assert_eq!(res.status(), 200, "request {n}");
            }
        }));
    }
    for h in handles {
        h.await.expect("flood task");
    }
    let after = rss();
    let grown = after.saturating_sub(before);
    let budget = masthead::state::response_cache::MAX_BYTES;
    let (entries, bytes) = app.state.cache.usage();
    println!(
        "flood of {FLOOD} × {VALUE_LEN}-byte queries: RSS {} → {} MiB (+{} KiB); cache {entries} entries, {bytes} bytes",
        before >> 20,
        after >> 20,
        grown >> 10
    );
    assert!(bytes <= budget, "the cache counts {bytes} bytes");
    assert!(
        grown < budget + MARGIN,
        "RSS grew by {} MiB, more than the cache's budget ({} MiB) plus {} MiB",
        grown >> 20,
        budget >> 20,
        MARGIN >> 20
    );
}
