//! Webhooks: the admins' API (create, read, list, change, delete, validation, roles), which
//! changes send which events to which hooks, what a delivery looks like (method, headers,
//! signature, body, private data only for private hooks), retries and giving up, durability
//! across a restart, two instances sharing one outbox, and the deliveries log.
//!
//! Deliveries go to a receiver in the test: a minimal HTTP/1.1 server on its own threads that
//! records every request (headers and raw body) and answers a configurable status.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use masthead::config::Config;
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{
    assert_problem, error_fields, header, id, slug, spawn_app_on, spawn_app_with,
    spawn_stoppable_app_with, TestApp,
};

pub(crate) const HOOKS: &str = "/api/v1/webhooks";
const ARTICLES: &str = "/api/v1/articles";
const COMMENTS: &str = "/api/v1/comments";
/// Every comment these tests post carries this User-Agent.
const AGENT: &str = "HarbourReader/7.1 (webhook-tests; tablet-2209)";
/// How long a test waits for deliveries before failing.
pub(crate) const DEADLINE: StdDuration = StdDuration::from_secs(10);

const ARTICLE_EVENTS: [&str; 4] = [
    "article.published",
    "article.updated",
    "article.unpublished",
    "article.deleted",
];
const COMMENT_EVENTS: [&str; 2] = ["comment.created", "comment.approved"];
const ALL_EVENTS: [&str; 6] = [
    "article.published",
    "article.updated",
    "article.unpublished",
    "article.deleted",
    "comment.created",
    "comment.approved",
];

const HOOK_KEYS: [&str; 8] = [
    "id",
    "url",
    "events",
    "active",
    "include_private",
    "description",
    "created_at",
    "updated_at",
];
const DELIVERY_KEYS: [&str; 12] = [
    "id",
    "event_id",
    "event",
    "status",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "last_response",
    "delivered_at",
    "created_at",
    "payload",
];
const PAYLOAD_KEYS: [&str; 4] = ["id", "event", "created_at", "data"];
const ARTICLE_DATA_KEYS: [&str; 6] = [
    "id",
    "slug",
    "title",
    "status",
    "published_at",
    "updated_at",
];
const COMMENT_DATA_KEYS: [&str; 7] = [
    "id",
    "article",
    "parent_id",
    "author_name",
    "author_url",
    "body_html",
    "created_at",
];
const PRIVATE_KEYS: [&str; 4] = ["status", "author_email", "ip_address", "user_agent"];

// ---------------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    method: String,
    /// The request target: path and query.
    pub(crate) path: String,
    /// Header names in lower case.
    headers: HashMap<String, String>,
    /// The raw body, exactly as sent.
    body: String,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.body))
    }

    /// The event's id from the body.
    fn event_id(&self) -> String {
        self.json()["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no string id in {}", self.body))
            .to_string()
    }

    fn event(&self) -> String {
        self.json()["event"].as_str().unwrap_or("").to_string()
    }
}

struct Shared {
    log: Mutex<Vec<Received>>,
    /// Answers to give first, in order; then `status`.
    script: Mutex<VecDeque<u16>>,
    status: AtomicU16,
    /// How long to wait before answering, in milliseconds.
    delay_ms: AtomicU64,
    stop: AtomicBool,
}

/// A minimal HTTP/1.1 server on 127.0.0.1: records each request, then answers with the next
/// scripted status (or the default one) and closes the connection.
pub(crate) struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    pub(crate) fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("receiver binds");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            status: AtomicU16::new(status),
            delay_ms: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let for_thread = shared.clone();
        std::thread::spawn(move || accept_loop(listener, for_thread));
        Receiver { addr, shared }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers `status` from now on (after any scripted answers).
    fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Waits this long before each answer from now on.
    pub(crate) fn slow_down(&self, delay: StdDuration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Answers these statuses first, one per request.
    fn script(&self, statuses: &[u16]) {
        self.shared
            .script
            .lock()
            .unwrap()
            .extend(statuses.iter().copied());
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests to `path` (path and query), in the order they came.
    fn at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits until at least `n` requests came to `path` and returns them.
    pub(crate) async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.at(path);
            if got.len() >= n {
                return got;
            }
            if start.elapsed() > DEADLINE {
                panic!(
                    "timed out after {DEADLINE:?}: {} of {n} requests to {path}; all: {:?}",
                    got.len(),
                    self.received()
                        .iter()
                        .map(|r| (r.path.clone(), r.event()))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = shared.clone();
                std::thread::spawn(move || serve_one(stream, &shared));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(StdDuration::from_millis(2));
            }
            Err(_) => std::thread::sleep(StdDuration::from_millis(2)),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn serve_one(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_string();
    let path = request_line.next().unwrap_or("").to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    let status = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| shared.status.load(Ordering::SeqCst));
    // Recorded before answering: once the server has the answer, the request is in the log.
    shared.log.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
        at: Instant::now(),
    });
    std::thread::sleep(StdDuration::from_millis(
        shared.delay_ms.load(Ordering::SeqCst),
    ));
    let text = if (200..300).contains(&status) {
        "ok"
    } else {
        "receiver says no"
    };
    let response = format!(
        "HTTP/1.1 {status} Status\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// A URL on 127.0.0.1 where nothing listens (connections are refused).
fn closed_port_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{path}")
}

// ---------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `X-Masthead-Signature` as a receiver would: `t=<unix>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<raw body>")>`. Returns `t`.
fn verify_signature(secret: &str, header: &str, body: &str) -> Result<i64, String> {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .map(|p| p.split_once('=').ok_or(format!("{p:?} is not key=value")))
        .collect::<Result<_, _>>()?;
    let keys: Vec<&str> = parts.iter().map(|(k, _)| *k).collect();
    if keys != ["t", "v1"] {
        return Err(format!("expected t and v1 in {header:?}"));
    }
    let t = parts[0].1;
    let v1 = parts[1].1;
    let timestamp: i64 = t.parse().map_err(|_| format!("t={t:?} is not a number"))?;
    if v1.len() != 64
        || !v1
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!("v1={v1:?} is not 64 lower-case hex digits"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected = hex(&mac.finalize().into_bytes());
    if expected != v1 {
        return Err(format!("v1={v1} but HMAC-SHA256 gives {expected}"));
    }
    Ok(timestamp)
}

fn assert_signed(secret: &str, r: &Received) -> i64 {
    verify_signature(secret, r.header("x-masthead-signature"), &r.body)
        .unwrap_or_else(|e| panic!("bad signature on {}: {e}", r.body))
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

/// An RFC 3339 UTC timestamp `offset` away from now.
fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> DateTime<Utc> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a timestamp string"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// Two timestamps (or two nulls) name the same instant.
fn same_time(a: &Value, b: &Value, what: &str) {
    if a.is_null() || b.is_null() {
        assert_eq!(a, b, "{what}");
    } else {
        assert_eq!(parse_time(a), parse_time(b), "{what}: {a} vs {b}");
    }
}

/// Asserts `status`, printing the body when it differs, and returns the body.
pub(crate) async fn expect(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    if got != status {
        let text = res.text().await.unwrap_or_default();
        panic!("{what}: expected {status}, got {got}: {text}");
    }
    if status == StatusCode::NO_CONTENT {
        Value::Null
    } else {
        res.json().await.expect("a JSON body")
    }
}

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = app.request(method, path);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request sent")
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{v} is not an object"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

fn items(page: &Value) -> Vec<Value> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array in {page}"))
        .clone()
}

/// Polls `check` until it yields a value, failing after `DEADLINE`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => {
                if start.elapsed() > DEADLINE {
                    panic!("timed out after {DEADLINE:?} waiting for {what}; last seen: {last}");
                }
            }
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

// The newsroom --------------------------------------------------------------------------------

/// Fast webhook settings for tests, and no comment rate limit.
pub(crate) fn quick(c: &mut Config) {
    c.webhook_poll_ms = 20;
    c.webhook_retry_base_ms = 50;
    c.webhook_max_attempts = 3;
    c.comment_rate = 0;
}

/// An app with an admin, an editor and a moderator.
pub(crate) struct Newsroom {
    pub(crate) app: TestApp,
    pub(crate) admin: String,
    pub(crate) editor: String,
    pub(crate) moderator: String,
}

pub(crate) async fn staff(app: TestApp) -> Newsroom {
    let admin = app.token_for("chief", Role::Admin).await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mod", Role::Moderator).await;
    Newsroom {
        app,
        admin,
        editor,
        moderator,
    }
}

pub(crate) async fn newsroom_with(customize: impl FnOnce(&mut Config)) -> Newsroom {
    let app = spawn_app_with(|c| {
        quick(c);
        customize(c);
    })
    .await;
    staff(app).await
}

async fn newsroom() -> Newsroom {
    newsroom_with(|_| {}).await
}

// Hooks ---------------------------------------------------------------------------------------

pub(crate) fn hook_path(hook: i64) -> String {
    format!("{HOOKS}/{hook}")
}

fn deliveries_path(hook: i64) -> String {
    format!("{HOOKS}/{hook}/deliveries")
}

/// Creates a hook as the admin, asserts 201, returns the answer (with its secret).
pub(crate) async fn create_hook(n: &Newsroom, body: Value) -> Value {
    let res = send(
        &n.app,
        Method::POST,
        HOOKS,
        Some(&n.admin),
        None,
        Some(&body),
    )
    .await;
    expect(res, StatusCode::CREATED, &format!("POST webhook {body}")).await
}

pub(crate) async fn patch_hook(n: &Newsroom, hook: i64, body: Value) -> Value {
    let res = send(
        &n.app,
        Method::PATCH,
        &hook_path(hook),
        Some(&n.admin),
        None,
        Some(&body),
    )
    .await;
    expect(res, StatusCode::OK, &format!("PATCH webhook {body}")).await
}

pub(crate) async fn get_hook(n: &Newsroom, hook: i64) -> Value {
    let res = n.app.get(&hook_path(hook), Some(&n.admin)).await;
    expect(res, StatusCode::OK, &format!("GET webhook {hook}")).await
}

fn secret_of(hook: &Value) -> String {
    hook["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {hook}"))
        .to_string()
}

/// Every delivery of `hook`, newest first, following cursors.
pub(crate) async fn deliveries(app: &TestApp, admin: &str, hook: i64) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = format!("{}?limit=100", deliveries_path(hook));
    loop {
        let res = app.get(&path, Some(admin)).await;
        let page = expect(res, StatusCode::OK, &format!("GET {path}")).await;
        all.extend(items(&page));
        match page["page"]["next_cursor"].as_str() {
            Some(c) => path = format!("{}?limit=100&cursor={c}", deliveries_path(hook)),
            None => return all,
        }
    }
}

/// Waits until `hook` has exactly `count` deliveries and none is pending; returns them oldest
/// first.
pub(crate) async fn settled(app: &TestApp, admin: &str, hook: i64, count: usize) -> Vec<Value> {
    eventually(
        &format!("{count} settled deliveries of hook {hook}"),
        move || async move {
            let mut list = deliveries(app, admin, hook).await;
            if list.len() == count && list.iter().all(|d| d["status"] != "pending") {
                list.reverse();
                Ok(list)
            } else {
                Err(Value::Array(list).to_string())
            }
        },
    )
    .await
}

// Articles ------------------------------------------------------------------------------------

async fn new_article(n: &Newsroom, body: Value) -> Value {
    let res = send(
        &n.app,
        Method::POST,
        ARTICLES,
        Some(&n.editor),
        None,
        Some(&body),
    )
    .await;
    expect(res, StatusCode::CREATED, &format!("POST article {body}")).await
}

/// A published article, published an hour ago.
pub(crate) async fn published(n: &Newsroom, title: &str) -> Value {
    new_article(
        n,
        json!({"title": title, "status": "published", "published_at": at(-Duration::hours(1)),
               "body_markdown": format!("Local reporting: {title}.")}),
    )
    .await
}

async fn draft(n: &Newsroom, title: &str) -> Value {
    new_article(n, json!({"title": title, "body_markdown": "Notes."})).await
}

/// The article's current editorial ETag.
async fn etag_of(n: &Newsroom, article: &Value) -> String {
    let res = n
        .app
        .get(&format!("{ARTICLES}/{}", slug(article)), Some(&n.editor))
        .await;
    let tag = header(&res, "etag").expect("an ETag on the article");
    expect(
        res,
        StatusCode::OK,
        &format!("GET article {}", slug(article)),
    )
    .await;
    tag
}

/// PATCHes an article with its current ETag; returns the article after the change.
async fn patch_article(n: &Newsroom, article: &Value, body: Value) -> Value {
    let tag = etag_of(n, article).await;
    let res = send(
        &n.app,
        Method::PATCH,
        &format!("{ARTICLES}/{}", id(article)),
        Some(&n.editor),
        Some(&tag),
        Some(&body),
    )
    .await;
    expect(res, StatusCode::OK, &format!("PATCH article {body}")).await
}

async fn delete_article(n: &Newsroom, article: &Value) {
    let tag = etag_of(n, article).await;
    let res = send(
        &n.app,
        Method::DELETE,
        &format!("{ARTICLES}/{}", id(article)),
        Some(&n.editor),
        Some(&tag),
        None,
    )
    .await;
    expect(res, StatusCode::NO_CONTENT, "DELETE article").await;
}

/// Asserts that `data` describes `article` as documented.
fn assert_article_data(data: &Value, article: &Value, what: &str) {
    assert_eq!(keys(data), sorted(&ARTICLE_DATA_KEYS), "{what}: {data}");
    assert_eq!(data["id"], article["id"], "{what}: id");
    assert_eq!(data["slug"], article["slug"], "{what}: slug");
    assert_eq!(data["title"], article["title"], "{what}: title");
    assert_eq!(data["status"], article["status"], "{what}: status");
    same_time(
        &data["published_at"],
        &article["published_at"],
        &format!("{what}: published_at"),
    );
    same_time(
        &data["updated_at"],
        &article["updated_at"],
        &format!("{what}: updated_at"),
    );
}

// Comments ------------------------------------------------------------------------------------

fn form(name: &str, email: &str, body: &str) -> Value {
    json!({"author_name": name, "author_email": email, "body": body})
}

/// Posts a comment as a reader, asserts 202, returns its id.
async fn post_comment(n: &Newsroom, article: &Value, body: &Value) -> i64 {
    let res = n
        .app
        .request(
            Method::POST,
            &format!("{ARTICLES}/{}/comments", slug(article)),
        )
        .header("User-Agent", AGENT)
        .json(body)
        .send()
        .await
        .expect("request sent");
    id(&expect(res, StatusCode::ACCEPTED, &format!("POST comment {body}")).await)
}

async fn approve(n: &Newsroom, comment: i64) {
    let res = send(
        &n.app,
        Method::PATCH,
        &format!("{COMMENTS}/{comment}"),
        Some(&n.moderator),
        None,
        Some(&json!({"status": "approved"})),
    )
    .await;
    expect(res, StatusCode::OK, &format!("approve comment {comment}")).await;
}

async fn bulk_approve(n: &Newsroom, ids: &[i64]) {
    let body = json!({"ids": ids, "action": "approve"});
    let res = send(
        &n.app,
        Method::POST,
        &format!("{COMMENTS}/moderate"),
        Some(&n.moderator),
        None,
        Some(&body),
    )
    .await;
    expect(res, StatusCode::OK, &format!("moderate {body}")).await;
}

// ---------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn admins_create_read_list_change_and_delete_webhooks() {
    let n = newsroom().await;

    // Without a secret, one is made up and shown once.
    let body = json!({"url": "https://hooks.example.org/site", "description": "Rebuild the static site",
                      "events": ["article.published", "comment.approved"]});
    let res = send(
        &n.app,
        Method::POST,
        HOOKS,
        Some(&n.admin),
        None,
        Some(&body),
    )
    .await;
    let location = header(&res, "location").expect("a Location header");
    let first = expect(res, StatusCode::CREATED, "POST webhook").await;
    let mut with_secret = HOOK_KEYS.to_vec();
    with_secret.push("secret");
    assert_eq!(keys(&first), sorted(&with_secret), "{first}");
    let first_id = id(&first);
    assert!(
        location.ends_with(&format!("/api/v1/webhooks/{first_id}")),
        "Location {location}"
    );
    assert_eq!(first["url"], "https://hooks.example.org/site");
    assert_eq!(
        first["events"],
        json!(["article.published", "comment.approved"])
    );
    assert_eq!(first["active"], true, "active by default");
    assert_eq!(first["include_private"], false, "not private by default");
    assert_eq!(first["description"], "Rebuild the static site");
    let generated = secret_of(&first);
    assert!(
        generated.starts_with("whsec_") && generated.len() >= "whsec_".len() + 16,
        "generated secret {generated:?}"
    );
    let created_at = parse_time(&first["created_at"]);
    assert!((Utc::now() - created_at).num_seconds().abs() < 60);
    parse_time(&first["updated_at"]);

    // A given secret is echoed once; the other fields as given.
    let second = create_hook(
        &n,
        json!({"url": "http://moderation.example.org/queue", "events": ["comment.created"],
               "secret": "a-long-shared-secret-0001", "active": false, "include_private": true}),
    )
    .await;
    let second_id = id(&second);
    assert_eq!(second["secret"], "a-long-shared-secret-0001");
    assert_eq!(second["active"], false);
    assert_eq!(second["include_private"], true);
    assert_eq!(second["description"], Value::Null);
    assert_ne!(second_id, first_id);
    let second_secret = secret_of(&second);

    // Reading it back never shows the secret.
    let path = location
        .find("/api/v1/")
        .map(|i| location[i..].to_string())
        .unwrap();
    let res = n.app.get(&path, Some(&n.admin)).await;
    let got = expect(res, StatusCode::OK, "GET webhook").await;
    let mut expected = first.clone();
    expected.as_object_mut().unwrap().remove("secret");
    assert_eq!(got, expected);

    // The list: newest first, no secrets.
    let res = n.app.get(HOOKS, Some(&n.admin)).await;
    let list = expect(res, StatusCode::OK, "GET webhooks").await;
    let ids: Vec<i64> = items(&list).iter().map(id).collect();
    assert_eq!(ids, vec![second_id, first_id]);
    for h in items(&list) {
        assert_eq!(keys(&h), sorted(&HOOK_KEYS), "{h}");
    }
    let text = list.to_string();
    assert!(!text.contains(&generated) && !text.contains(&second_secret));
    // Paged like every list.
    let res = n.app.get(&format!("{HOOKS}?limit=1"), Some(&n.admin)).await;
    assert!(header(&res, "link").is_some_and(|l| l.contains("rel=\"next\"")));
    let page = expect(res, StatusCode::OK, "GET webhooks?limit=1").await;
    assert_eq!(items(&page).iter().map(id).collect::<Vec<_>>(), [second_id]);
    let cursor = page["page"]["next_cursor"].as_str().unwrap().to_string();
    let res = n
        .app
        .get(&format!("{HOOKS}?limit=1&cursor={cursor}"), Some(&n.admin))
        .await;
    let page = expect(res, StatusCode::OK, "GET webhooks page 2").await;
    assert_eq!(items(&page).iter().map(id).collect::<Vec<_>>(), [first_id]);
    assert_eq!(page["page"]["next_cursor"], Value::Null);

    // Changing fields: what is sent changes, the rest stays; no secret in the answer.
    let patched = patch_hook(
        &n,
        first_id,
        json!({"url": "https://hooks.example.org/site-v2", "active": false, "description": null,
               "events": ["article.updated", "article.deleted", "article.updated"]}),
    )
    .await;
    assert_eq!(keys(&patched), sorted(&HOOK_KEYS), "{patched}");
    assert_eq!(patched["url"], "https://hooks.example.org/site-v2");
    assert_eq!(
        patched["events"],
        json!(["article.updated", "article.deleted"]),
        "events are kept once each"
    );
    assert_eq!(patched["active"], false);
    assert_eq!(patched["description"], Value::Null);
    assert_eq!(patched["include_private"], false);
    assert_eq!(patched["created_at"], first["created_at"]);
    assert!(parse_time(&patched["updated_at"]) >= parse_time(&first["updated_at"]));
    assert_eq!(get_hook(&n, first_id).await, patched);

    // A new secret is shown once, in the answer that sets it.
    let rotated = patch_hook(&n, first_id, json!({"secret": "rotated-secret-000000001"})).await;
    assert_eq!(rotated["secret"], "rotated-secret-000000001");
    assert_eq!(rotated["url"], patched["url"]);
    assert!(get_hook(&n, first_id).await.get("secret").is_none());
    let only_private = patch_hook(&n, first_id, json!({"include_private": true})).await;
    assert!(only_private.get("secret").is_none(), "{only_private}");
    assert_eq!(only_private["include_private"], true);
    assert_eq!(only_private["events"], patched["events"]);

    // Deleting: 204, then 404 everywhere.
    let res = send(
        &n.app,
        Method::DELETE,
        &hook_path(first_id),
        Some(&n.admin),
        None,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = n.app.get(&hook_path(first_id), Some(&n.admin)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = send(
        &n.app,
        Method::DELETE,
        &hook_path(first_id),
        Some(&n.admin),
        None,
        None,
    )
    .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = send(
        &n.app,
        Method::PATCH,
        &hook_path(first_id),
        Some(&n.admin),
        None,
        Some(&json!({"active": true})),
    )
    .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = n.app.get(&deliveries_path(first_id), Some(&n.admin)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = n.app.get(HOOKS, Some(&n.admin)).await;
    let list = expect(res, StatusCode::OK, "GET webhooks").await;
    assert_eq!(items(&list).iter().map(id).collect::<Vec<_>>(), [second_id]);
}

#[tokio::test]
async fn invalid_webhooks_are_refused_naming_every_bad_field() {
    let n = newsroom().await;
    let ok_url = "https://hooks.example.org/site";
    let cases = [
        (
            json!({"url": "ftp://files.example.org/drop", "events": ["article.published"]}),
            vec!["url"],
        ),
        (
            json!({"url": "not a url", "events": ["article.published"]}),
            vec!["url"],
        ),
        (
            json!({"url": "hooks.example.org/site", "events": ["article.published"]}),
            vec!["url"],
        ),
        (json!({"url": ok_url, "events": []}), vec!["events"]),
        (
            json!({"url": ok_url, "events": ["article.published", "article.created"]}),
            vec!["events[1]"],
        ),
        (
            json!({"url": ok_url, "events": ["article.published"], "secret": "short"}),
            vec!["secret"],
        ),
        (
            json!({"url": "ftp://x.example.org", "events": ["comment.approved", "nope"],
                   "secret": "tiny"}),
            vec!["events[1]", "secret", "url"],
        ),
    ];
    for (body, fields) in cases {
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
        assert_eq!(
            error_fields(&problem),
            sorted(&fields),
            "POST {body}: {problem}"
        );
    }
    let res = n.app.get(HOOKS, Some(&n.admin)).await;
    let list = expect(res, StatusCode::OK, "GET webhooks").await;
    assert!(items(&list).is_empty(), "nothing was created: {list}");

    // The same checks on a change, which leaves the hook as it was.
    let hook = create_hook(&n, json!({"url": ok_url, "events": ["article.published"]})).await;
    let hook_id = id(&hook);
    let before = get_hook(&n, hook_id).await;
    for (body, fields) in [
        (
            json!({"url": "ftp://x.example.org", "events": [], "secret": "short"}),
            vec!["events", "secret", "url"],
        ),
        (
            json!({"events": ["comment.created", "comment.deleted"]}),
            vec!["events[1]"],
        ),
    ] {
        let res = send(
            &n.app,
            Method::PATCH,
            &hook_path(hook_id),
            Some(&n.admin),
            None,
            Some(&body),
        )
        .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            error_fields(&problem),
            sorted(&fields),
            "PATCH {body}: {problem}"
        );
    }
    assert_eq!(get_hook(&n, hook_id).await, before);
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    let n = newsroom().await;
    let hook = create_hook(
        &n,
        json!({"url": "https://hooks.example.org/site", "events": ["article.published"]}),
    )
    .await;
    let hook_id = id(&hook);
    let valid = json!({"url": "https://hooks.example.org/other", "events": ["article.updated"]});
    let change = json!({"active": false});
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("not-a-token"), StatusCode::UNAUTHORIZED),
        (Some(n.editor.as_str()), StatusCode::FORBIDDEN),
        (Some(n.moderator.as_str()), StatusCode::FORBIDDEN),
    ] {
        let requests = [
            (Method::GET, HOOKS.to_string(), None),
            (Method::POST, HOOKS.to_string(), Some(&valid)),
            (Method::GET, hook_path(hook_id), None),
            (Method::PATCH, hook_path(hook_id), Some(&change)),
            (Method::DELETE, hook_path(hook_id), None),
            (Method::GET, deliveries_path(hook_id), None),
        ];
        for (method, path, body) in requests {
            let res = send(&n.app, method.clone(), &path, token, None, body).await;
            let what = format!("{method} {path} as {token:?}");
            assert_eq!(res.status(), status, "{what}");
            assert_problem(res, status).await;
        }
    }
    // Nothing changed.
    let res = n.app.get(HOOKS, Some(&n.admin)).await;
    let list = expect(res, StatusCode::OK, "GET webhooks").await;
    assert_eq!(items(&list).iter().map(id).collect::<Vec<_>>(), [hook_id]);
    assert_eq!(get_hook(&n, hook_id).await["active"], true);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn article_changes_send_the_events_readers_notice() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/articles"), "events": ARTICLE_EVENTS}),
    )
    .await;
    let hook_id = id(&hook);

    // Drafts and future schedules are not public: creating and editing them sends nothing.
    let budget = draft(&n, "Council budget vote postponed").await;
    let budget = patch_article(
        &n,
        &budget,
        json!({"title": "Council budget vote postponed again"}),
    )
    .await;
    let future = new_article(
        &n,
        json!({"title": "Harbour festival programme", "status": "scheduled",
               "published_at": at(Duration::days(2))}),
    )
    .await;
    let future = patch_article(&n, &future, json!({"body_markdown": "Music and boats."})).await;
    assert!(
        deliveries(&n.app, &n.admin, hook_id).await.is_empty(),
        "drafts and scheduled articles sent events"
    );

    // A draft made public: article.published.
    let budget = patch_article(&n, &budget, json!({"status": "published"})).await;
    // Created public: article.published.
    let ferry = published(&n, "Ferry timetable extended").await;
    // A public article edited: article.updated.
    let ferry_edited = patch_article(
        &n,
        &ferry,
        json!({"body_markdown": "Extra sailings on Sundays."}),
    )
    .await;
    // A revision of a public article restored: article.updated.
    let tag = etag_of(&n, &ferry_edited).await;
    let res = send(
        &n.app,
        Method::POST,
        &format!("{ARTICLES}/{}/revisions/1/restore", id(&ferry)),
        Some(&n.editor),
        Some(&tag),
        None,
    )
    .await;
    let ferry_restored = expect(res, StatusCode::OK, "restore revision 1").await;
    // Back to draft: article.unpublished.
    let ferry_drafted = patch_article(&n, &ferry_restored, json!({"status": "draft"})).await;
    // Edited as a draft, then deleted as a draft: nothing.
    let ferry_redrafted = patch_article(
        &n,
        &ferry_drafted,
        json!({"title": "Ferry timetable extended (to check)"}),
    )
    .await;
    delete_article(&n, &ferry_redrafted).await;
    delete_article(&n, &future).await;
    // A public article deleted: article.deleted, describing it as it was.
    delete_article(&n, &budget).await;
    // Scheduled in the past is public at once: article.published; archived is not public any
    // more: article.unpublished.
    let past = new_article(
        &n,
        json!({"title": "Harbour wall survey results", "status": "scheduled",
               "published_at": at(-Duration::minutes(5))}),
    )
    .await;
    let archived = patch_article(&n, &past, json!({"status": "archived"})).await;

    let expected = [
        ("article.published", &budget),
        ("article.published", &ferry),
        ("article.updated", &ferry_edited),
        ("article.updated", &ferry_restored),
        ("article.unpublished", &ferry_drafted),
        ("article.deleted", &budget),
        ("article.published", &past),
        ("article.unpublished", &archived),
    ];
    // The outbox is written with the change: the log is complete as soon as the writes answer.
    let listed: Vec<String> = deliveries(&n.app, &n.admin, hook_id)
        .await
        .iter()
        .rev()
        .map(|d| d["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed,
        expected
            .iter()
            .map(|(e, _)| e.to_string())
            .collect::<Vec<_>>(),
        "events in the deliveries log"
    );

    let log = settled(&n.app, &n.admin, hook_id, expected.len()).await;
    let got = rx.wait_for("/articles", expected.len()).await;
    assert_eq!(got.len(), expected.len(), "one request per event");
    let mut event_ids = HashSet::new();
    for (((event, article), r), d) in expected.iter().zip(&got).zip(&log) {
        let what = format!("{event} for {}", slug(article));
        assert_eq!(r.header("x-masthead-event"), *event, "{what}");
        let body = r.json();
        assert_eq!(body["event"], *event, "{what}");
        assert_article_data(&body["data"], article, &what);
        assert_eq!(d["status"], "delivered", "{what}: {d}");
        assert_eq!(d["payload"], body, "{what}: the log shows what was sent");
        assert!(
            event_ids.insert(r.event_id()),
            "{what}: a repeated event id"
        );
    }
    assert_eq!(got[2].json()["data"]["status"], "published");
    assert_eq!(got[4].json()["data"]["status"], "draft");
    assert_eq!(
        got[5].json()["data"]["status"],
        "published",
        "a deletion describes the article as it was"
    );
    assert_eq!(got[6].json()["data"]["status"], "scheduled");
    assert_eq!(got[7].json()["data"]["status"], "archived");
}

#[tokio::test]
async fn comment_events_go_to_their_subscribers_and_private_data_only_to_private_hooks() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    let public_hook = create_hook(
        &n,
        json!({"url": rx.url("/public"), "events": COMMENT_EVENTS}),
    )
    .await;
    let private_hook = create_hook(
        &n,
        json!({"url": rx.url("/private"), "events": COMMENT_EVENTS, "include_private": true}),
    )
    .await;
    let approvals = create_hook(
        &n,
        json!({"url": rx.url("/approvals"), "events": ["comment.approved"]}),
    )
    .await;
    let articles = create_hook(
        &n,
        json!({"url": rx.url("/articles"), "events": ["article.published"]}),
    )
    .await;
    let paused = create_hook(
        &n,
        json!({"url": rx.url("/paused"), "events": ALL_EVENTS, "active": false,
               "include_private": true}),
    )
    .await;

    let article = published(&n, "Library opens on Sundays").await;
    let first = post_comment(
        &n,
        &article,
        &json!({"author_name": "Maren Tuck", "author_email": "maren.tuck@riverside.example",
                "author_url": "https://maren.example.org",
                "body": "Good news for *families*."}),
    )
    .await;
    approve(&n, first).await;
    let mut answer = form(
        "Osei Brandt",
        "osei.brandt@riverside.example",
        "Will the café open too?",
    );
    answer["parent_id"] = json!(first);
    let second = post_comment(&n, &article, &answer).await;
    let third = post_comment(
        &n,
        &article,
        &form(
            "Lidia Farrow",
            "lidia.farrow@riverside.example",
            "The children's corner needs more chairs.",
        ),
    )
    .await;
    bulk_approve(&n, &[second, third]).await;

    let mut comment_events = vec![
        ("comment.created".to_string(), first),
        ("comment.approved".to_string(), first),
        ("comment.created".to_string(), second),
        ("comment.created".to_string(), third),
        ("comment.approved".to_string(), second),
        ("comment.approved".to_string(), third),
    ];
    comment_events.sort();
    let mut approvals_expected: Vec<(String, i64)> = comment_events
        .iter()
        .filter(|(e, _)| e == "comment.approved")
        .cloned()
        .collect();
    approvals_expected.sort();

    let public = rx.wait_for("/public", 6).await;
    let private = rx.wait_for("/private", 6).await;
    let approved_only = rx.wait_for("/approvals", 3).await;
    let article_only = rx.wait_for("/articles", 1).await;
    for (hook, count) in [
        (&public_hook, 6),
        (&private_hook, 6),
        (&approvals, 3),
        (&articles, 1),
    ] {
        settled(&n.app, &n.admin, id(hook), count).await;
    }
    // An inactive hook gets nothing: no delivery is even queued.
    assert!(deliveries(&n.app, &n.admin, id(&paused)).await.is_empty());
    assert!(rx.at("/paused").is_empty());

    let summary = |list: &[Received]| {
        let mut s: Vec<(String, i64)> = list
            .iter()
            .map(|r| {
                let body = r.json();
                (
                    body["event"].as_str().unwrap().to_string(),
                    body["data"]["id"].as_i64().unwrap(),
                )
            })
            .collect();
        s.sort();
        s
    };
    assert_eq!(summary(&public), comment_events, "the public hook");
    assert_eq!(summary(&private), comment_events, "the private hook");
    assert_eq!(
        summary(&approved_only),
        approvals_expected,
        "the approvals hook"
    );
    assert_eq!(article_only.len(), 1);
    assert_eq!(article_only[0].event(), "article.published");
    assert_eq!(article_only[0].json()["data"]["id"], article["id"]);

    // The same event carries the same id to every hook.
    let ids_by_event = |list: &[Received]| {
        let mut m: Vec<((String, i64), String)> = list
            .iter()
            .map(|r| {
                let body = r.json();
                (
                    (
                        body["event"].as_str().unwrap().to_string(),
                        body["data"]["id"].as_i64().unwrap(),
                    ),
                    r.event_id(),
                )
            })
            .collect();
        m.sort();
        m
    };
    assert_eq!(ids_by_event(&public), ids_by_event(&private));

    // Public hooks: the documented fields, and nothing private anywhere in the body.
    for r in public.iter().chain(&approved_only) {
        let body = r.json();
        let data = &body["data"];
        assert_eq!(keys(data), sorted(&COMMENT_DATA_KEYS), "{}", r.body);
        assert_eq!(
            data["article"],
            json!({"id": article["id"], "slug": article["slug"]})
        );
        for leak in [
            "riverside.example",
            AGENT,
            "127.0.0.1",
            "author_email",
            "ip_address",
            "user_agent",
        ] {
            assert!(
                !r.body.contains(leak),
                "a non-private hook got {leak:?}: {}",
                r.body
            );
        }
    }
    let first_created = public
        .iter()
        .find(|r| r.event() == "comment.created" && r.json()["data"]["id"] == first)
        .unwrap()
        .json();
    let data = &first_created["data"];
    assert_eq!(data["parent_id"], Value::Null);
    assert_eq!(data["author_name"], "Maren Tuck");
    assert_eq!(data["author_url"], "https://maren.example.org");
    assert!(
        data["body_html"]
            .as_str()
            .unwrap()
            .contains("<em>families</em>"),
        "{data}"
    );
    parse_time(&data["created_at"]);
    let second_created = public
        .iter()
        .find(|r| r.event() == "comment.created" && r.json()["data"]["id"] == second)
        .unwrap()
        .json();
    assert_eq!(second_created["data"]["parent_id"], first);
    assert_eq!(second_created["data"]["author_url"], Value::Null);

    // The private hook: the same, plus status, e-mail, address and user agent.
    let mut private_keys = COMMENT_DATA_KEYS.to_vec();
    private_keys.extend(PRIVATE_KEYS);
    for r in &private {
        let body = r.json();
        let data = &body["data"];
        assert_eq!(keys(data), sorted(&private_keys), "{}", r.body);
        let expected_status = if body["event"] == "comment.created" {
            "pending"
        } else {
            "approved"
        };
        assert_eq!(data["status"], expected_status, "{}", r.body);
        assert_eq!(data["ip_address"], "127.0.0.1", "{}", r.body);
        assert_eq!(data["user_agent"], AGENT, "{}", r.body);
        let email = match data["id"].as_i64().unwrap() {
            c if c == first => "maren.tuck@riverside.example",
            c if c == second => "osei.brandt@riverside.example",
            _ => "lidia.farrow@riverside.example",
        };
        assert_eq!(data["author_email"], email, "{}", r.body);
    }

    // Approving an approved comment again is no new approval.
    approve(&n, first).await;
    bulk_approve(&n, &[second, third]).await;
    let approvals_log = deliveries(&n.app, &n.admin, id(&approvals)).await;
    assert_eq!(approvals_log.len(), 3, "re-approvals sent events");

    // The deliveries log of a public hook holds no private data either.
    let log = deliveries(&n.app, &n.admin, id(&public_hook)).await;
    let text = Value::Array(log).to_string();
    assert!(!text.contains("riverside.example") && !text.contains(AGENT));
}

#[tokio::test]
async fn pausing_or_resubscribing_a_hook_changes_what_it_receives() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/hook"), "events": ["article.published"]}),
    )
    .await;
    let hook_id = id(&hook);
    // A witness that gets every publication, to know when the worker is past an event.
    let witness = create_hook(
        &n,
        json!({"url": rx.url("/witness"), "events": ["article.published"]}),
    )
    .await;

    patch_hook(&n, hook_id, json!({"active": false})).await;
    let while_paused = published(&n, "Published while the hook was paused").await;
    rx.wait_for("/witness", 1).await;
    assert!(deliveries(&n.app, &n.admin, hook_id).await.is_empty());

    patch_hook(&n, hook_id, json!({"active": true})).await;
    let resumed = published(&n, "Published after the hook resumed").await;
    let got = rx.wait_for("/hook", 1).await;
    rx.wait_for("/witness", 2).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["data"]["id"], resumed["id"]);
    assert_ne!(got[0].json()["data"]["id"], while_paused["id"]);

    // Subscribed to updates only: publications no longer come, updates do.
    patch_hook(&n, hook_id, json!({"events": ["article.updated"]})).await;
    let third = published(&n, "A third story").await;
    let third = patch_article(&n, &third, json!({"body_markdown": "Corrected."})).await;
    let got = rx.wait_for("/hook", 2).await;
    rx.wait_for("/witness", 3).await;
    settled(&n.app, &n.admin, hook_id, 2).await;
    settled(&n.app, &n.admin, id(&witness), 3).await;
    let got_events: Vec<String> = got.iter().map(Received::event).collect();
    assert_eq!(got_events, ["article.published", "article.updated"]);
    assert_eq!(got[1].json()["data"]["id"], third["id"]);
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_delivery_is_a_signed_json_post_with_the_documented_headers_and_body() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    let given = "shared-secret-for-the-site-builder";
    let explicit = create_hook(
        &n,
        json!({"url": rx.url("/explicit?source=masthead"), "events": ["article.published"],
               "secret": given}),
    )
    .await;
    let generated = create_hook(
        &n,
        json!({"url": rx.url("/generated"), "events": ["article.published"]}),
    )
    .await;
    let generated_secret = secret_of(&generated);

    let before = Utc::now().timestamp();
    let article = published(&n, "Tram line 4 reopens").await;
    let explicit_got = rx.wait_for("/explicit?source=masthead", 1).await;
    let generated_got = rx.wait_for("/generated", 1).await;
    let after = Utc::now().timestamp();
    assert_eq!(explicit_got[0].event_id(), generated_got[0].event_id());

    for (hook, secret, r) in [
        (&explicit, given.to_string(), &explicit_got[0]),
        (&generated, generated_secret.clone(), &generated_got[0]),
    ] {
        let what = format!("delivery to {}", hook["url"]);
        assert_eq!(r.method, "POST", "{what}");
        assert!(
            r.header("content-type").starts_with("application/json"),
            "{what}: {:?}",
            r.headers
        );
        assert_eq!(r.header("x-masthead-event"), "article.published", "{what}");
        let body = r.json();
        assert_eq!(keys(&body), sorted(&PAYLOAD_KEYS), "{what}: {body}");
        assert_eq!(body["event"], "article.published");
        assert_eq!(r.header("x-masthead-event-id"), r.event_id(), "{what}");
        assert!(!r.event_id().is_empty());
        let created = parse_time(&body["created_at"]).timestamp();
        assert!(
            (before - 1..=after + 1).contains(&created),
            "{what}: created_at {created} not in [{before}, {after}]"
        );
        assert_article_data(&body["data"], &article, &what);
        assert_eq!(body["data"]["status"], "published");

        let t = assert_signed(&secret, r);
        assert!(
            (before - 5..=after + 5).contains(&t),
            "{what}: t={t} not near [{before}, {after}]"
        );
        assert!(
            verify_signature(
                "some-other-secret-value",
                r.header("x-masthead-signature"),
                &r.body
            )
            .is_err(),
            "the check must fail with another secret"
        );

        // The log shows the same delivery.
        let log = settled(&n.app, &n.admin, id(hook), 1).await;
        let d = &log[0];
        assert_eq!(keys(d), sorted(&DELIVERY_KEYS), "{d}");
        assert_eq!(
            r.header("x-masthead-delivery"),
            id(d).to_string(),
            "{what}: X-Masthead-Delivery"
        );
        assert_eq!(d["event_id"], r.event_id().as_str());
        assert_eq!(d["event"], "article.published");
        assert_eq!(d["status"], "delivered");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["last_status_code"], 200);
        assert_eq!(d["last_error"], Value::Null);
        assert_eq!(d["last_response"], "ok");
        parse_time(&d["delivered_at"]);
        assert_eq!(d["payload"], body, "{what}: the payload is shown as JSON");
    }

    // After a new secret is set, deliveries are signed with it.
    let rotated = "rotated-secret-for-the-builder";
    patch_hook(&n, id(&generated), json!({"secret": rotated})).await;
    published(&n, "Tram line 5 consultation").await;
    let got = rx.wait_for("/generated", 2).await;
    assert_signed(rotated, &got[1]);
    assert!(
        verify_signature(
            &generated_secret,
            got[1].header("x-masthead-signature"),
            &got[1].body
        )
        .is_err(),
        "still signed with the old secret"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_the_same_event_until_it_answers() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    rx.script(&[500, 500]);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/flaky"), "events": ["article.published"]}),
    )
    .await;
    let secret = secret_of(&hook);
    let article = published(&n, "Bridge repairs finish early").await;

    let log = settled(&n.app, &n.admin, id(&hook), 1).await;
    let d = &log[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["last_status_code"], 200, "{d}");
    assert_eq!(d["last_error"], Value::Null, "{d}");
    parse_time(&d["delivered_at"]);

    let got = rx.at("/flaky");
    assert_eq!(got.len(), 3, "three attempts reached the receiver");
    for r in &got {
        assert_eq!(r.event_id(), got[0].event_id(), "the same event each time");
        assert_eq!(r.header("x-masthead-event-id"), got[0].event_id());
        assert_eq!(r.header("x-masthead-delivery"), id(d).to_string());
        assert_eq!(r.body, got[0].body, "the same body each time");
        assert_signed(&secret, r);
    }
    assert_eq!(got[0].json()["data"]["id"], article["id"]);
    // Backoff: the first retry waits the base delay (50 ms), the next twice that.
    let first_gap = got[1].at - got[0].at;
    let second_gap = got[2].at - got[1].at;
    assert!(
        first_gap >= StdDuration::from_millis(45),
        "first retry after {first_gap:?}"
    );
    assert!(
        second_gap >= StdDuration::from_millis(95),
        "second retry after {second_gap:?}"
    );

    // Delivered means done: nothing more comes.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(rx.at("/flaky").len(), 3);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_after_the_maximum_attempts() {
    let n = newsroom().await;
    let rx = Receiver::start(500);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/broken"), "events": ["article.published"]}),
    )
    .await;
    published(&n, "Market hall roof still leaking").await;

    let log = settled(&n.app, &n.admin, id(&hook), 1).await;
    let d = &log[0];
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["last_status_code"], 500, "{d}");
    assert_eq!(d["last_response"], "receiver says no", "{d}");
    assert_eq!(d["delivered_at"], Value::Null, "{d}");
    let got = rx.at("/broken");
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.event_id() == got[0].event_id()));

    // Given up means no more attempts.
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    assert_eq!(rx.at("/broken").len(), 3);
    let again = deliveries(&n.app, &n.admin, id(&hook)).await;
    assert_eq!(again[0]["status"], "failed");
    assert_eq!(again[0]["attempts"], 3);
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_and_the_error_recorded_without_the_url() {
    let n = newsroom_with(|c| {
        c.webhook_retry_base_ms = 100;
        c.webhook_max_attempts = 5;
    })
    .await;
    let url = closed_port_url("/hooks/private-path?token=sekrit-token-123");
    let hook = create_hook(&n, json!({"url": url, "events": ["article.published"]})).await;
    let hook_id = id(&hook);
    published(&n, "Night buses return").await;

    let (app, admin) = (&n.app, n.admin.as_str());
    // A failed attempt is recorded and the delivery waits for its retry.
    let waiting = eventually("a failed attempt waiting for a retry", move || async move {
        let list = deliveries(app, admin, hook_id).await;
        match list.first() {
            Some(d) if d["status"] == "pending" && d["attempts"].as_i64() >= Some(1) => {
                Ok(d.clone())
            }
            _ => Err(Value::Array(list).to_string()),
        }
    })
    .await;
    assert_eq!(waiting["last_status_code"], Value::Null, "{waiting}");
    let error = waiting["last_error"].as_str().unwrap_or("");
    assert!(!error.is_empty(), "no last_error: {waiting}");
    assert!(
        parse_time(&waiting["next_attempt_at"]) >= parse_time(&waiting["created_at"]),
        "{waiting}"
    );

    // Retried until the attempts are used up.
    let log = settled(app, admin, hook_id, 1).await;
    let d = &log[0];
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["attempts"], 5, "{d}");
    assert_eq!(d["last_status_code"], Value::Null, "{d}");
    let error = d["last_error"].as_str().unwrap_or("");
    assert!(!error.is_empty(), "no last_error: {d}");
    assert!(
        !error.contains("sekrit") && !error.contains("private-path"),
        "the error shows the URL's path or query: {error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Restarts and several instances
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_event_is_delivered_by_the_next_instance_after_a_restart() {
    // The first instance's worker would not look for an hour.
    let (first, handle) = spawn_stoppable_app_with(|c| {
        quick(c);
        c.webhook_poll_ms = 3_600_000;
    })
    .await;
    let n = staff(first).await;
    let rx = Receiver::start(200);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/after-restart"), "events": ["article.published"]}),
    )
    .await;
    let secret = secret_of(&hook);
    let article = published(&n, "Pier reopens after storm damage").await;
    let log = deliveries(&n.app, &n.admin, id(&hook)).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"], 0);

    handle.stop(true).await;
    assert!(
        n.app
            .client
            .get(n.app.url("/healthz"))
            .send()
            .await
            .is_err(),
        "the first instance still answers"
    );
    assert!(rx.received().is_empty());

    let url = n.app.state.config.database_url.clone();
    let second = spawn_app_on(url, quick).await;
    let got = rx.wait_for("/after-restart", 1).await;
    assert_eq!(got[0].event(), "article.published");
    assert_eq!(got[0].json()["data"]["id"], article["id"]);
    assert_eq!(got[0].event_id(), log[0]["event_id"].as_str().unwrap());
    assert_signed(&secret, &got[0]);
    let after = settled(&second, &n.admin, id(&hook), 1).await;
    assert_eq!(after[0]["status"], "delivered");
    assert_eq!(after[0]["attempts"], 1);
    assert_eq!(rx.received().len(), 1);
}

#[tokio::test]
async fn a_delivery_still_failing_at_shutdown_is_retried_by_the_next_instance() {
    let (first, handle) = spawn_stoppable_app_with(|c| {
        quick(c);
        c.webhook_max_attempts = 10;
    })
    .await;
    let n = staff(first).await;
    let rx = Receiver::start(503);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/down-for-maintenance"), "events": ["article.published"]}),
    )
    .await;
    let article = published(&n, "Ring road closure extended").await;
    rx.wait_for("/down-for-maintenance", 1).await;

    handle.stop(true).await;
    // The stopped instance's worker finishes at most the attempt in flight, then no more.
    tokio::time::sleep(StdDuration::from_millis(100)).await;
    let attempts_before = rx.received().len();
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(
        rx.received().len(),
        attempts_before,
        "the stopped instance kept delivering"
    );

    rx.answer(200);
    let url = n.app.state.config.database_url.clone();
    let second = spawn_app_on(url, |c| {
        quick(c);
        c.webhook_max_attempts = 10;
    })
    .await;
    let log = settled(&second, &n.admin, id(&hook), 1).await;
    let d = &log[0];
    assert_eq!(d["status"], "delivered", "{d}");
    assert_eq!(d["last_status_code"], 200, "{d}");
    let got = rx.received();
    assert_eq!(
        got.len(),
        attempts_before + 1,
        "one more attempt, which succeeded"
    );
    assert_eq!(d["attempts"].as_u64(), Some(got.len() as u64), "{d}");
    for r in &got {
        assert_eq!(r.event_id(), got[0].event_id());
        assert_eq!(r.json()["data"]["id"], article["id"]);
    }
}

/// Several instances on one database, all running workers, with bursts of events coming in
/// through all of them: every hook gets every event exactly once. On PostgreSQL the workers'
/// claims overlap (`FOR UPDATE SKIP LOCKED`); on SQLite they are serialised.
#[tokio::test]
async fn instances_sharing_a_database_post_each_event_exactly_once() {
    const INSTANCES: usize = 4;
    const HOOK_COUNT: usize = 4;
    const ROUNDS: usize = 2;
    const PER_ROUND: usize = 40;
    const EVENTS: usize = ROUNDS * PER_ROUND;
    let n = newsroom_with(|c| c.webhook_poll_ms = 10).await;
    let url = n.app.state.config.database_url.clone();
    let mut others = Vec::new();
    for _ in 1..INSTANCES {
        others.push(
            spawn_app_on(url.clone(), |c| {
                quick(c);
                c.webhook_poll_ms = 10;
            })
            .await,
        );
    }
    let mut addresses = vec![n.app.address.clone()];
    addresses.extend(others.iter().map(|a| a.address.clone()));
    let rx = Receiver::start(200);
    let mut hooks = Vec::new();
    for h in 0..HOOK_COUNT {
        let hook = create_hook(
            &n,
            json!({"url": rx.url(&format!("/shared/{h}")), "events": ["article.published"]}),
        )
        .await;
        hooks.push(id(&hook));
    }

    // Bursts of articles published at once, through every instance.
    let mut article_ids = HashSet::new();
    for round in 0..ROUNDS {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..PER_ROUND {
            let address = addresses[i % addresses.len()].clone();
            let client = n.app.client.clone();
            let editor = n.editor.clone();
            tasks.spawn(async move {
                let res = client
                    .post(format!("{address}{ARTICLES}"))
                    .bearer_auth(editor)
                    .json(&json!({"title": format!("Shared outbox story {round}-{i}"),
                                  "status": "published"}))
                    .send()
                    .await
                    .expect("request sent");
                let status = res.status();
                let body: Value = res.json().await.unwrap();
                assert_eq!(status, StatusCode::CREATED, "{body}");
                id(&body)
            });
        }
        while let Some(done) = tasks.join_next().await {
            article_ids.insert(done.unwrap());
        }
        rx.wait_for(
            &format!("/shared/{}", HOOK_COUNT - 1),
            (round + 1) * PER_ROUND,
        )
        .await;
    }
    assert_eq!(article_ids.len(), EVENTS);

    let mut logs = Vec::new();
    for hook in &hooks {
        logs.push(settled(&n.app, &n.admin, *hook, EVENTS).await);
    }
    // Long enough for a duplicate claim to show.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let got = rx.received();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for r in &got {
        *seen.entry((r.path.clone(), r.event_id())).or_insert(0) += 1;
    }
    let mut repeated: Vec<_> = seen.iter().filter(|(_, &c)| c > 1).collect();
    repeated.sort();
    assert!(
        repeated.is_empty(),
        "{} events posted more than once, e.g. {:?}",
        repeated.len(),
        repeated.first()
    );
    assert_eq!(
        got.len(),
        EVENTS * HOOK_COUNT,
        "one request per event and hook"
    );
    let mut event_of_article: HashMap<i64, String> = HashMap::new();
    for h in 0..HOOK_COUNT {
        let at_hook = rx.at(&format!("/shared/{h}"));
        let delivered: HashSet<i64> = at_hook
            .iter()
            .map(|r| r.json()["data"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(delivered, article_ids, "hook {h}");
        for r in &at_hook {
            // One event per article, with the same id at every hook.
            let article = r.json()["data"]["id"].as_i64().unwrap();
            let event = event_of_article
                .entry(article)
                .or_insert_with(|| r.event_id());
            assert_eq!(*event, r.event_id(), "article {article} at hook {h}");
        }
    }
    for log in &logs {
        for d in log {
            assert_eq!(d["status"], "delivered", "{d}");
            assert_eq!(d["attempts"], 1, "{d}");
        }
    }
    // Every instance shows the same log.
    for other in &others {
        assert_eq!(settled(other, &n.admin, hooks[0], EVENTS).await, logs[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// The deliveries log
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deliveries_are_listed_newest_first_a_page_at_a_time() {
    let n = newsroom().await;
    let rx = Receiver::start(200);
    let hook = create_hook(
        &n,
        json!({"url": rx.url("/log"), "events": ["article.published"]}),
    )
    .await;
    let hook_id = id(&hook);
    let quiet = create_hook(
        &n,
        json!({"url": rx.url("/quiet"), "events": ["comment.approved"]}),
    )
    .await;
    let mut titles = Vec::new();
    for i in 1..=5 {
        let title = format!("Weekly market report {i}");
        published(&n, &title).await;
        titles.push(title);
    }
    settled(&n.app, &n.admin, hook_id, 5).await;
    let got = rx.wait_for("/log", 5).await;
    let sent: HashMap<String, Value> = got.iter().map(|r| (r.event_id(), r.json())).collect();

    let mut path = format!("{}?limit=2", deliveries_path(hook_id));
    let mut pages = Vec::new();
    loop {
        let res = n.app.get(&path, Some(&n.admin)).await;
        let link = header(&res, "link");
        let page = expect(res, StatusCode::OK, &format!("GET {path}")).await;
        assert_eq!(page["page"]["limit"], 2);
        let data = items(&page);
        assert!(data.len() <= 2);
        pages.push(data);
        match page["page"]["next_cursor"].as_str() {
            Some(c) => {
                assert!(
                    link.as_deref()
                        .is_some_and(|l| l.contains("rel=\"next\"") && l.contains(c)),
                    "Link {link:?}"
                );
                path = format!("{}?limit=2&cursor={c}", deliveries_path(hook_id));
            }
            None => {
                assert!(link.is_none(), "a Link on the last page: {link:?}");
                break;
            }
        }
        assert!(pages.len() < 10, "the pages never end");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 1],
        "pages"
    );
    let all: Vec<Value> = pages.into_iter().flatten().collect();
    let ids: Vec<i64> = all.iter().map(id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {ids:?}"
    );
    let listed_titles: Vec<&str> = all
        .iter()
        .map(|d| d["payload"]["data"]["title"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = titles.iter().rev().map(String::as_str).collect();
    assert_eq!(listed_titles, newest_first);
    for d in &all {
        assert_eq!(keys(d), sorted(&DELIVERY_KEYS), "{d}");
        assert!(
            d["payload"].is_object(),
            "payload is JSON, not a string: {d}"
        );
        let event_id = d["event_id"].as_str().unwrap();
        assert_eq!(
            Some(&d["payload"]),
            sent.get(event_id),
            "the log shows the body that was sent"
        );
        parse_time(&d["created_at"]);
        parse_time(&d["next_attempt_at"]);
    }

    // Bad paging parameters, a hook without deliveries, an unknown hook.
    let res = n
        .app
        .get(
            &format!("{}?limit=0", deliveries_path(hook_id)),
            Some(&n.admin),
        )
        .await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(error_fields(&problem), ["limit"]);
    let res = n
        .app
        .get(
            &format!("{}?cursor=not-a-cursor", deliveries_path(hook_id)),
            Some(&n.admin),
        )
        .await;
    let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert_eq!(error_fields(&problem), ["cursor"]);
    let res = n
        .app
        .get(&deliveries_path(id(&quiet)), Some(&n.admin))
        .await;
    let page = expect(res, StatusCode::OK, "deliveries of a quiet hook").await;
    assert!(items(&page).is_empty());
    assert_eq!(page["page"]["next_cursor"], Value::Null);
    let res = n
        .app
        .get(&deliveries_path(hook_id + 1000), Some(&n.admin))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}
