//! Webhooks against hostile or broken receivers and targets: a huge answer is not read to its
//! end, a receiver that never answers holds up only its own hook, and targets on private
//! networks are refused (when the hook is saved, and again when a delivery connects) unless
//! the operator allows them.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, id, spawn_app_on};
use crate::webhooks::{
    create_hook, deliveries, expect, get_hook, hook_path, newsroom_with, published, quick, send,
    settled, Newsroom, Receiver, DEADLINE, HOOKS,
};

/// The body size the huge receiver announces and tries to write.
const HUGE: u64 = 64 * 1024 * 1024;
/// How much of an answer a delivery may make the receiver write: the 64 KiB the worker reads
/// plus what the two sockets' kernel buffers absorb on loopback (a few MiB each).
const WRITTEN_AT_MOST: u64 = 16 * 1024 * 1024;

/// A receiver that answers its first request with 200 and a `HUGE` body, writing until it is
/// all written or the client hangs up, and counts what it wrote.
struct HugeAnswer {
    url: String,
    written: Arc<AtomicU64>,
    hung_up: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl HugeAnswer {
    fn start(path: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver binds");
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let written = Arc::new(AtomicU64::new(0));
        let hung_up = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (w, h, d) = (written.clone(), hung_up.clone(), done.clone());
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            read_request(&mut stream);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {HUGE}\r\n\r\n"
            );
            let mut chunk = b"ok, got it. ".to_vec();
            chunk.resize(64 * 1024, b'.');
            let mut ok = stream.write_all(head.as_bytes()).is_ok();
            while ok && w.load(Ordering::SeqCst) < HUGE {
                ok = stream.write_all(&chunk).is_ok();
                if ok {
                    w.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
            }
            h.store(!ok, Ordering::SeqCst);
            d.store(true, Ordering::SeqCst);
        });
        HugeAnswer {
            url,
            written,
            hung_up,
            done,
        }
    }
}

/// Reads a request's head and its `Content-Length` body.
fn read_request(stream: &mut std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_huge_answer_is_read_only_up_to_a_small_cap_and_only_its_start_is_kept() {
    let n = newsroom_with(|_| {}).await;
    let rx = HugeAnswer::start("/chatty");
    let hook = create_hook(&n, json!({"url": rx.url, "events": ["article.published"]})).await;
    let started = Instant::now();
    published(&n, "Tide tables for the winter").await;

    let log = settled(&n.app, &n.admin, id(&hook), 1).await;
    let d = &log[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["last_status_code"], 200, "{d}");
    let kept = d["last_response"].as_str().unwrap_or_default();
    assert!(kept.starts_with("ok, got it. ..."), "{kept:?}");
    assert!(kept.len() <= 1024, "{} bytes kept", kept.len());

    while !rx.done.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < DEADLINE,
            "the receiver is still writing after {DEADLINE:?} ({} bytes)",
            rx.written.load(Ordering::SeqCst)
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let written = rx.written.load(Ordering::SeqCst);
    assert!(
        rx.hung_up.load(Ordering::SeqCst) && written <= WRITTEN_AT_MOST,
        "the delivery read the answer on: the receiver wrote {written} of {HUGE} bytes \
         before the connection closed"
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_only_its_own_hook() {
    let n = newsroom_with(|_| {}).await;
    // Accepts connections (the kernel completes them) and never reads or answers: each
    // delivery to it waits for the whole delivery timeout (10 s).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/silent", silent.local_addr().unwrap());
    let rx = Receiver::start(200);
    let stuck = create_hook(
        &n,
        json!({"url": silent_url, "events": ["article.published"]}),
    )
    .await;
    create_hook(
        &n,
        json!({"url": rx.url("/lively"), "events": ["article.published"]}),
    )
    .await;

    let started = Instant::now();
    let first = published(&n, "Lifeboat crew honoured").await;
    let second = published(&n, "Lighthouse keeper retires").await;
    let got = rx.wait_for("/lively", 2).await;
    let waited = started.elapsed();
    assert!(
        waited < StdDuration::from_secs(3),
        "the lively hook got its events after {waited:?}"
    );
    let order: Vec<Value> = got.iter().map(|r| r.json()["data"]["id"].clone()).collect();
    assert_eq!(order, [first["id"].clone(), second["id"].clone()]);
    // The silent hook's first delivery is still waiting for its answer.
    let stuck_log = deliveries(&n.app, &n.admin, id(&stuck)).await;
    assert_eq!(stuck_log.len(), 2);
    assert!(
        stuck_log.iter().all(|d| d["status"] == "pending"),
        "{stuck_log:?}"
    );
}

#[tokio::test]
async fn each_hook_receives_its_events_in_order_while_hooks_are_served_at_once() {
    const HOOK_COUNT: usize = 3;
    const EVENTS: usize = 12;
    let n = newsroom_with(|_| {}).await;
    let rx = Receiver::start(200);
    for h in 0..HOOK_COUNT {
        create_hook(
            &n,
            json!({"url": rx.url(&format!("/ordered/{h}")), "events": ["article.published"]}),
        )
        .await;
    }
    let mut ids = Vec::new();
    for i in 0..EVENTS {
        ids.push(published(&n, &format!("Harbour log, entry {i}")).await["id"].clone());
    }
    for h in 0..HOOK_COUNT {
        let got = rx.wait_for(&format!("/ordered/{h}"), EVENTS).await;
        let order: Vec<Value> = got.iter().map(|r| r.json()["data"]["id"].clone()).collect();
        assert_eq!(order, ids, "hook {h}");
    }
}

/// Several instances' workers on one database, a slow receiver, and events one after another:
/// a hook's next event is not sent (by any instance) while its previous one is in flight.
#[tokio::test]
async fn a_hooks_events_arrive_in_order_whichever_instance_sends_them() {
    const INSTANCES: usize = 3;
    const HOOK_COUNT: usize = 2;
    const EVENTS: usize = 16;
    let n = newsroom_with(|c| c.webhook_poll_ms = 10).await;
    let url = n.app.state.config.database_url.clone();
    let mut addresses = vec![n.app.address.clone()];
    let mut others = Vec::new();
    for _ in 1..INSTANCES {
        let other = spawn_app_on(url.clone(), |c| {
            quick(c);
            c.webhook_poll_ms = 10;
        })
        .await;
        addresses.push(other.address.clone());
        others.push(other);
    }
    let rx = Receiver::start(200);
    rx.slow_down(StdDuration::from_millis(40));
    for h in 0..HOOK_COUNT {
        create_hook(
            &n,
            json!({"url": rx.url(&format!("/in-turn/{h}")), "events": ["article.published"]}),
        )
        .await;
    }
    // Each article is published (through the instances in turn) after the previous one was.
    let mut ids = Vec::new();
    for i in 0..EVENTS {
        let res = n
            .app
            .client
            .post(format!("{}/api/v1/articles", addresses[i % INSTANCES]))
            .bearer_auth(&n.editor)
            .json(&json!({"title": format!("Quay notice {i}"), "status": "published"}))
            .send()
            .await
            .expect("request sent");
        ids.push(expect(res, StatusCode::CREATED, "publish").await["id"].clone());
    }
    for h in 0..HOOK_COUNT {
        let got = rx.wait_for(&format!("/in-turn/{h}"), EVENTS).await;
        let order: Vec<Value> = got.iter().map(|r| r.json()["data"]["id"].clone()).collect();
        assert_eq!(order, ids, "hook {h}");
    }
}

// ---------------------------------------------------------------------------------------------
// Private targets
// ---------------------------------------------------------------------------------------------

/// Each of these reaches the machine itself, the cloud metadata service or a private network.
const PRIVATE_TARGETS: [&str; 10] = [
    "http://127.0.0.1/",
    "http://0x7f000001/",
    "http://2130706433:8080/hooks",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost./",
    "http://LOCALHOST:9000/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/",
    "https://[fd00::1]/",
    "http://0.0.0.0:80/",
];

async fn refused_on_url(n: &Newsroom, method: Method, path: &str, body: Value) {
    let res = send(
        &n.app,
        method.clone(),
        path,
        Some(&n.admin),
        None,
        Some(&body),
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        error_fields(&problem),
        ["url"],
        "{method} {body}: {problem}"
    );
    let message = problem["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("public"), "{method} {body}: {message}");
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_in_every_notation() {
    let n = newsroom_with(|c| c.webhook_allow_private = false).await;
    for url in PRIVATE_TARGETS {
        refused_on_url(
            &n,
            Method::POST,
            HOOKS,
            json!({"url": url, "events": ["article.published"]}),
        )
        .await;
    }
    // A name that does not resolve (`.invalid` never does) cannot be checked: refused.
    let body =
        json!({"url": "https://hooks.no-such-host.invalid/", "events": ["article.published"]});
    let res = send(
        &n.app,
        Method::POST,
        HOOKS,
        Some(&n.admin),
        None,
        Some(&body),
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["url"], "{problem}");
    // Public literals need no DNS and are accepted.
    let hook = create_hook(
        &n,
        json!({"url": "https://93.184.216.34/hooks", "events": ["article.published"]}),
    )
    .await;
    create_hook(
        &n,
        json!({"url": "https://[2606:2800:220:1:248:1893:25c8:1946]/", "events": ["article.published"]}),
    )
    .await;
    for url in PRIVATE_TARGETS {
        refused_on_url(
            &n,
            Method::PATCH,
            &hook_path(id(&hook)),
            json!({"url": url}),
        )
        .await;
    }
    assert_eq!(
        get_hook(&n, id(&hook)).await["url"],
        "https://93.184.216.34/hooks"
    );
    let res = send(
        &n.app,
        Method::GET,
        &format!("{HOOKS}?limit=100"),
        Some(&n.admin),
        None,
        None,
    )
    .await;
    assert_eq!(
        expect(res, StatusCode::OK, "list hooks").await["data"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_stored_private_target_is_not_contacted_where_private_targets_are_not_allowed() {
    // An instance that allows private targets stores the hooks (and never delivers: its worker
    // would not look for an hour) …
    let n = newsroom_with(|c| c.webhook_poll_ms = 3_600_000).await;
    let rx = Receiver::start(200);
    let urls = [
        rx.url("/literal"),
        rx.url("/hex").replace("127.0.0.1", "0x7f000001"),
        rx.url("/mapped").replace("127.0.0.1", "[::ffff:127.0.0.1]"),
        // A name: resolved at delivery, to loopback (as a rebinding name would be).
        rx.url("/name").replace("127.0.0.1", "localhost"),
    ];
    let mut hooks = Vec::new();
    for url in &urls {
        let hook = create_hook(&n, json!({"url": url, "events": ["article.published"]})).await;
        hooks.push(id(&hook));
    }
    published(&n, "Harbour master appointed").await;

    // … and one that does not delivers them.
    let url = n.app.state.config.database_url.clone();
    let strict = spawn_app_on(url, |c| {
        quick(c);
        c.webhook_allow_private = false;
    })
    .await;
    for (hook, url) in hooks.iter().zip(&urls) {
        let log = settled(&strict, &n.admin, *hook, 1).await;
        let d = &log[0];
        assert_eq!(d["status"], "failed", "{url}: {d}");
        assert_eq!(d["attempts"], 3, "{url}: {d}");
        assert_eq!(d["last_status_code"], Value::Null, "{url}: {d}");
        let error = d["last_error"].as_str().unwrap_or("");
        assert!(
            error.contains("not a public address"),
            "{url}: last_error {error:?}"
        );
    }
    assert!(
        rx.received().is_empty(),
        "the receiver was contacted: {:?}",
        rx.received().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}
