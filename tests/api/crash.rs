//! Crash safety: the real binary, killed with SIGKILL at random moments while several clients
//! write, and restarted on the same database each time. Every acknowledged write must be there
//! afterwards, no multi-row change may be half there, and the database stays consistent.
//!
//! Each client owns its objects and writes them one request at a time, so when the server dies
//! at most one request per object is unanswered: the stored state must then be the last
//! acknowledged one or the one that request would have produced, and nothing in between.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use masthead::config::{Backend, DatabaseUrl};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{header, id, TestDb, JWT_SECRET, PASSWORD};

/// Kills while clients write; one more start afterwards verifies the last crash.
const KILLS: usize = 15;
/// When the kill comes, counted from the moment the clients start writing.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 30..=400;

fn masthead(url: &DatabaseUrl) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_masthead"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &url.target)
        .env("MASTHEAD_JWT_SECRET", JWT_SECRET)
        .env("MASTHEAD_PASSWORD", PASSWORD);
    cmd
}

/// The server process; killed (SIGKILL) when dropped, so a failing test leaves none behind.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts `masthead serve` on a free port and waits until `/readyz` answers.
    async fn start(url: &DatabaseUrl, client: &reqwest::Client) -> Server {
        let mut child = masthead(url)
            .arg("serve")
            .env("MASTHEAD_BIND", "127.0.0.1:0")
            .env("MASTHEAD_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn,masthead::cli=info")
            .env("MASTHEAD_COMMENT_RATE", "0")
            // As `helpers::test_config`: two workers, a small pool.
            .env("MASTHEAD_WORKERS", "2")
            .env("MASTHEAD_DB_POOL_SIZE", "4")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary runs");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                match v["fields"]["port"].as_u64() {
                    Some(port) if v["fields"]["message"] == "listening" => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(port);
                        }
                    }
                    _ => eprintln!("crash: server log: {line}"),
                }
            }
        });
        let port = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .expect("waiting for the port");
        let mut server = Server {
            child,
            base: String::new(),
        };
        match port {
            Ok(port) => server.base = format!("http://127.0.0.1:{port}"),
            Err(e) => {
                server.kill();
                panic!("the server never said where it listens ({e}); see its log above");
            }
        }
        for _ in 0..400 {
            if let Ok(res) = client.get(format!("{}/readyz", server.base)).send().await {
                if res.status() == StatusCode::OK {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server never became ready");
    }

    fn kill(&mut self) {
        // SIGKILL: no shutdown code runs, in-flight transactions die where they are.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A write's fate as its client saw it.
enum Reply {
    Answered {
        status: StatusCode,
        etag: Option<String>,
        body: Value,
    },
    /// No complete answer: the server died before, during or after applying it.
    Lost,
}

#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    editor: String,
    moderator: String,
}

impl Api {
    async fn write(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: &Value,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(tag) = if_match {
            req = req.header("If-Match", tag);
        }
        let Ok(res) = req.send().await else {
            return Reply::Lost;
        };
        let status = res.status();
        let etag = header(&res, "etag");
        let Ok(bytes) = res.bytes().await else {
            return Reply::Lost;
        };
        Reply::Answered {
            status,
            etag,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A read between crashes: the server is up, so any failure is the test's.
    async fn read(&self, path: &str, token: Option<&str>) -> (StatusCode, Option<String>, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status();
        let etag = header(&res, "etag");
        let body = res.json().await.unwrap_or(Value::Null);
        (status, etag, body)
    }

    /// Every item of a list, following the cursors.
    async fn read_all(&self, path: &str, token: Option<&str>) -> Vec<Value> {
        let mut items = Vec::new();
        let mut page = path.to_string();
        loop {
            let (status, _, body) = self.read(&page, token).await;
            assert_eq!(status, StatusCode::OK, "GET {page}: {body}");
            items.extend(body["data"].as_array().cloned().unwrap_or_default());
            match body["page"]["next_cursor"].as_str() {
                Some(cursor) => page = format!("{path}&cursor={cursor}"),
                None => return items,
            }
        }
    }
}

/// The body and ETag of a write acknowledged with `want`; `None` when the crash took the
/// answer. Any other answer fails the test: these writes are all valid.
fn acked(reply: Reply, want: StatusCode, what: &str) -> Option<(Value, Option<String>)> {
    match reply {
        Reply::Lost => None,
        Reply::Answered { status, etag, body } if status == want => Some((body, etag)),
        Reply::Answered { status, body, .. } => {
            panic!("{what}: expected {want}, got {status}: {body}")
        }
    }
}

/// What each client counted.
#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    /// Writes answered 2xx.
    acked: usize,
    /// Unanswered writes found applied after the restart.
    lost_applied: usize,
    /// Unanswered writes found not applied.
    lost_dropped: usize,
    /// Objects compared with the clients' records, over all restarts.
    checked: usize,
}

impl Tally {
    fn resolved(&mut self, applied: bool) {
        if applied {
            self.lost_applied += 1;
        } else {
            self.lost_dropped += 1;
        }
    }

    fn add(&mut self, other: Tally) {
        self.acked += other.acked;
        self.lost_applied += other.lost_applied;
        self.lost_dropped += other.lost_dropped;
        self.checked += other.checked;
    }
}

/// Creates an article with an explicit slug, so an unanswered create can be looked up.
async fn create_article(api: &Api, slug: &str, content: &Content) -> Option<(Value, String)> {
    let mut body = content.json();
    body["slug"] = json!(slug);
    let reply = api
        .write(
            Method::POST,
            "/api/v1/articles",
            Some(&api.editor),
            None,
            &body,
        )
        .await;
    let (body, etag) = acked(reply, StatusCode::CREATED, "create article")?;
    assert_eq!(Content::stored(&body), *content, "the created article");
    Some((body, etag.expect("a created article has an ETag")))
}

/// The article with `slug` as editors see it, if there is one.
async fn find_article(api: &Api, slug: &str) -> Option<(Value, String)> {
    let (status, etag, body) = api
        .read(&format!("/api/v1/articles/{slug}"), Some(&api.editor))
        .await;
    match status {
        StatusCode::OK => Some((body, etag.expect("an article has an ETag"))),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET article {slug}: {other}: {body}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Editors: create drafts, edit them with If-Match, publish them.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Content {
    title: String,
    body: String,
    status: String,
    tags: Vec<String>,
}

impl Content {
    fn new(owner: &str, version: usize, status: &str) -> Self {
        let filler = "Filler so that a write spans more than one page of the database. ";
        Content {
            title: format!("{owner}, version {version}"),
            body: format!(
                "Version {version} of {owner}.\n\n{}",
                filler.repeat(version % 5 * 20 + 1)
            ),
            status: status.into(),
            tags: vec!["crash".into(), format!("v{version}")],
        }
    }

    fn json(&self) -> Value {
        json!({"title": self.title, "body_markdown": self.body, "status": self.status,
               "tags": self.tags})
    }

    /// The content of an article or revision as the API shows it.
    fn stored(v: &Value) -> Self {
        Content {
            title: v["title"].as_str().unwrap_or_default().into(),
            body: v["body_markdown"].as_str().unwrap_or_default().into(),
            status: v["status"].as_str().unwrap_or_default().into(),
            tags: serde_json::from_value(v["tags"].clone()).unwrap_or_default(),
        }
    }
}

struct Edited {
    id: i64,
    slug: String,
    /// Every acknowledged version, oldest first: each must have left a revision.
    versions: Vec<Content>,
    in_flight: Option<Content>,
    etag: String,
}

struct Editor {
    n: usize,
    rng: StdRng,
    tally: Tally,
    articles: Vec<Edited>,
    made: usize,
    creating: Option<(String, Content)>,
}

impl Editor {
    async fn run(mut self, api: Api) -> Self {
        loop {
            let create =
                self.articles.is_empty() || (self.articles.len() < 3 && self.rng.random_bool(0.2));
            let answered = if create {
                self.create(&api).await
            } else {
                self.edit(&api).await
            };
            if !answered {
                return self;
            }
        }
    }

    async fn create(&mut self, api: &Api) -> bool {
        self.made += 1;
        let slug = format!("crash-editor-{}-{}", self.n, self.made);
        let content = Content::new(&slug, 1, "draft");
        self.creating = Some((slug.clone(), content.clone()));
        let Some((body, etag)) = create_article(api, &slug, &content).await else {
            return false;
        };
        self.creating = None;
        self.tally.acked += 1;
        self.articles.push(Edited {
            id: id(&body),
            slug,
            versions: vec![content],
            in_flight: None,
            etag,
        });
        true
    }

    async fn edit(&mut self, api: &Api) -> bool {
        let i = self.rng.random_range(0..self.articles.len());
        let publish = self.rng.random_bool(0.3);
        let article = &mut self.articles[i];
        let last = article
            .versions
            .last()
            .expect("a created article has a version");
        let status = if last.status == "draft" && publish {
            "published"
        } else {
            last.status.as_str()
        };
        let next = Content::new(&article.slug, article.versions.len() + 1, status);
        article.in_flight = Some(next.clone());
        let reply = api
            .write(
                Method::PATCH,
                &format!("/api/v1/articles/{}", article.id),
                Some(&api.editor),
                Some(&article.etag),
                &next.json(),
            )
            .await;
        let Some((body, etag)) = acked(reply, StatusCode::OK, "edit article") else {
            return false;
        };
        assert_eq!(Content::stored(&body), next, "the edited article");
        article.versions.push(next);
        article.in_flight = None;
        article.etag = etag.expect("an edited article has an ETag");
        self.tally.acked += 1;
        true
    }

    async fn verify(&mut self, api: &Api) {
        if let Some((slug, content)) = self.creating.take() {
            let found = find_article(api, &slug).await;
            self.tally.resolved(found.is_some());
            if let Some((body, etag)) = found {
                assert_eq!(
                    Content::stored(&body),
                    content,
                    "article {slug} half created"
                );
                self.articles.push(Edited {
                    id: id(&body),
                    slug,
                    versions: vec![content],
                    in_flight: None,
                    etag,
                });
            }
        }
        for article in &mut self.articles {
            let (body, etag) = find_article(api, &article.slug)
                .await
                .unwrap_or_else(|| panic!("acknowledged article {} is gone", article.slug));
            let stored = Content::stored(&body);
            let last = article.versions.last().cloned();
            if let Some(next) = article.in_flight.take() {
                let applied = stored == next;
                self.tally.resolved(applied);
                if applied {
                    article.versions.push(next);
                }
            }
            assert_eq!(
                stored,
                *article.versions.last().expect("a version"),
                "article {}: the stored content is neither the acknowledged one ({last:?}) nor \
                 the unanswered edit",
                article.slug
            );
            article.etag = etag;
            // The row, its tags and its revisions are written together: every version, and
            // only those, must be in the history.
            let revisions = api
                .read_all(
                    &format!("/api/v1/articles/{}/revisions?limit=100", article.id),
                    Some(&api.editor),
                )
                .await;
            let seen: Vec<(i64, Content)> = revisions
                .iter()
                .rev()
                .map(|r| (r["rev"].as_i64().unwrap_or(0), Content::stored(r)))
                .collect();
            let want: Vec<(i64, Content)> = (1..).zip(article.versions.iter().cloned()).collect();
            assert_eq!(
                seen, want,
                "article {}: the revisions are not the acknowledged versions",
                article.slug
            );
            self.tally.checked += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A series editor: creates a series and its articles, then reorders it again and again.
// ---------------------------------------------------------------------------------------------

struct SeriesEditor {
    n: usize,
    rng: StdRng,
    tally: Tally,
    id: Option<i64>,
    creating: bool,
    articles: Vec<i64>,
    made: usize,
    creating_article: Option<(String, Content)>,
    order: Vec<i64>,
    in_flight: Option<Vec<i64>>,
}

impl SeriesEditor {
    fn slug(&self) -> String {
        format!("crash-series-{}", self.n)
    }

    async fn run(mut self, api: Api) -> Self {
        loop {
            let answered = if self.id.is_none() {
                self.create(&api).await
            } else if self.articles.len() < 6 {
                self.add_article(&api).await
            } else {
                self.reorder(&api).await
            };
            if !answered {
                return self;
            }
        }
    }

    async fn create(&mut self, api: &Api) -> bool {
        self.creating = true;
        let body = json!({"title": format!("Crash series {}", self.n), "slug": self.slug()});
        let reply = api
            .write(
                Method::POST,
                "/api/v1/series",
                Some(&api.editor),
                None,
                &body,
            )
            .await;
        let Some((body, _)) = acked(reply, StatusCode::CREATED, "create series") else {
            return false;
        };
        self.creating = false;
        self.id = Some(id(&body));
        self.tally.acked += 1;
        true
    }

    async fn add_article(&mut self, api: &Api) -> bool {
        self.made += 1;
        let slug = format!("crash-series-{}-part-{}", self.n, self.made);
        let content = Content::new(
            &format!("Series {} part {}", self.n, self.made),
            1,
            "published",
        );
        self.creating_article = Some((slug.clone(), content.clone()));
        let Some((body, _)) = create_article(api, &slug, &content).await else {
            return false;
        };
        self.creating_article = None;
        self.articles.push(id(&body));
        self.tally.acked += 1;
        true
    }

    async fn reorder(&mut self, api: &Api) -> bool {
        let series = self.id.expect("the series exists");
        let outside: Vec<i64> = self
            .articles
            .iter()
            .copied()
            .filter(|a| !self.order.contains(a))
            .collect();
        let (method, path, body, expected) = if !outside.is_empty() && self.rng.random_bool(0.3) {
            let article = *outside.choose(&mut self.rng).expect("not empty");
            let position = self.rng.random_range(1..=self.order.len() + 1);
            let mut expected = self.order.clone();
            expected.insert(position - 1, article);
            (
                Method::POST,
                format!("/api/v1/series/{series}/articles"),
                json!({"article_id": article, "position": position}),
                expected,
            )
        } else {
            let mut expected = self.articles.clone();
            expected.shuffle(&mut self.rng);
            expected.truncate(self.rng.random_range(1..=expected.len()));
            (
                Method::PUT,
                format!("/api/v1/series/{series}/articles"),
                json!({"article_ids": expected}),
                expected,
            )
        };
        self.in_flight = Some(expected.clone());
        let reply = api
            .write(method, &path, Some(&api.editor), None, &body)
            .await;
        let Some((body, _)) = acked(reply, StatusCode::OK, "reorder series") else {
            return false;
        };
        assert_eq!(member_ids(&body), expected, "the answer to a reorder");
        self.order = expected;
        self.in_flight = None;
        self.tally.acked += 1;
        true
    }

    async fn verify(&mut self, api: &Api) {
        let slug = self.slug();
        let (status, _, body) = api
            .read(&format!("/api/v1/series/{slug}"), Some(&api.editor))
            .await;
        if std::mem::take(&mut self.creating) {
            self.tally.resolved(status == StatusCode::OK);
            if status == StatusCode::OK {
                self.id = Some(id(&body));
            }
        }
        if let Some((article, content)) = self.creating_article.take() {
            let found = find_article(api, &article).await;
            self.tally.resolved(found.is_some());
            if let Some((body, _)) = found {
                assert_eq!(
                    Content::stored(&body),
                    content,
                    "article {article} half created"
                );
                self.articles.push(id(&body));
            }
        }
        let Some(series) = self.id else {
            assert_eq!(status, StatusCode::NOT_FOUND, "series {slug}: {body}");
            return;
        };
        assert_eq!(status, StatusCode::OK, "acknowledged series {slug}: {body}");
        assert_eq!(id(&body), series);
        let stored = member_ids(&body);
        if let Some(next) = self.in_flight.take() {
            let applied = stored == next && stored != self.order;
            self.tally.resolved(applied);
            if applied {
                self.order = next;
            }
        }
        assert_eq!(
            stored, self.order,
            "series {slug}: the order is neither the acknowledged one nor the unanswered one"
        );
        self.tally.checked += 1;
    }
}

fn member_ids(series: &Value) -> Vec<i64> {
    series["articles"]
        .as_array()
        .map(|a| a.iter().map(id).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// A reader and a moderator on one article: comments, replies, bulk moderation.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Posted {
    parent: Option<i64>,
    depth: usize,
    body: String,
    /// `pending`, `approved`, `rejected`, `spam` or `deleted`.
    status: &'static str,
    /// Every acknowledged moderation step's target, as the history must show it.
    steps: Vec<&'static str>,
}

struct Commenter {
    n: usize,
    rng: StdRng,
    tally: Tally,
    article: Option<i64>,
    creating: bool,
    comments: BTreeMap<i64, Posted>,
    posted: usize,
    posting: Option<(String, Option<i64>)>,
    moderating: Option<(Vec<i64>, &'static str)>,
}

impl Commenter {
    fn slug(&self) -> String {
        format!("crash-comments-{}", self.n)
    }

    fn live(&self) -> Vec<i64> {
        self.comments
            .iter()
            .filter(|(_, c)| c.status != "deleted")
            .map(|(id, _)| *id)
            .collect()
    }

    async fn run(mut self, api: Api) -> Self {
        loop {
            let answered = if self.article.is_none() {
                self.create(&api).await
            } else if self.live().is_empty() || self.rng.random_bool(0.55) {
                self.post(&api).await
            } else {
                self.moderate(&api).await
            };
            if !answered {
                return self;
            }
        }
    }

    async fn create(&mut self, api: &Api) -> bool {
        self.creating = true;
        let content = Content::new(&format!("Commented article {}", self.n), 1, "published");
        let Some((body, _)) = create_article(api, &self.slug(), &content).await else {
            return false;
        };
        self.creating = false;
        self.article = Some(id(&body));
        self.tally.acked += 1;
        true
    }

    async fn post(&mut self, api: &Api) -> bool {
        let parents: Vec<i64> = self
            .comments
            .iter()
            .filter(|(_, c)| c.status == "approved" && c.depth < 6)
            .map(|(id, _)| *id)
            .collect();
        let parent = match parents.choose(&mut self.rng) {
            Some(p) if self.rng.random_bool(0.4) => Some(*p),
            _ => None,
        };
        self.posted += 1;
        let body = format!(
            "Reader {} comment {}: the council should publish the minutes.",
            self.n, self.posted
        );
        self.posting = Some((body.clone(), parent));
        let form = json!({"author_name": format!("Reader {}", self.n),
                          "author_email": format!("reader{}@example.org", self.n),
                          "body": body, "parent_id": parent});
        let reply = api
            .write(
                Method::POST,
                &format!("/api/v1/articles/{}/comments", self.slug()),
                None,
                None,
                &form,
            )
            .await;
        let Some((answer, _)) = acked(reply, StatusCode::ACCEPTED, "post comment") else {
            return false;
        };
        assert_eq!(answer["status"], "pending");
        self.posting = None;
        self.remember(id(&answer), body, parent);
        self.tally.acked += 1;
        true
    }

    fn remember(&mut self, id: i64, body: String, parent: Option<i64>) {
        let depth = parent.map_or(0, |p| self.comments[&p].depth + 1);
        self.comments.insert(
            id,
            Posted {
                parent,
                depth,
                body,
                status: "pending",
                steps: Vec::new(),
            },
        );
    }

    async fn moderate(&mut self, api: &Api) -> bool {
        let live = self.live();
        let k = self.rng.random_range(1..=live.len().min(5));
        let mut ids: Vec<i64> = live.sample(&mut self.rng, k).copied().collect();
        let (mut action, mut target) = *[
            ("approve", "approved"),
            ("approve", "approved"),
            ("reject", "rejected"),
            ("spam", "spam"),
            ("delete", "deleted"),
        ]
        .choose(&mut self.rng)
        .expect("not empty");
        if action == "delete" {
            // Only leaves: deleting a comment with replies moves them, which this model skips.
            let leaves: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| {
                    !self
                        .comments
                        .values()
                        .any(|c| c.parent == Some(*id) && c.status != "deleted")
                })
                .collect();
            if leaves.is_empty() {
                (action, target) = ("approve", "approved");
            } else {
                ids = leaves;
            }
        }
        self.moderating = Some((ids.clone(), target));
        let reply = api
            .write(
                Method::POST,
                "/api/v1/comments/moderate",
                Some(&api.moderator),
                None,
                &json!({"ids": ids, "action": action}),
            )
            .await;
        let Some((answer, _)) = acked(reply, StatusCode::OK, "bulk moderation") else {
            return false;
        };
        let outcomes: Vec<(i64, String)> = answer["results"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|o| (id(o), o["status"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(i64, String)> = ids.iter().map(|i| (*i, target.to_string())).collect();
        assert_eq!(outcomes, expected, "the answer to a bulk moderation");
        self.moderating = None;
        self.apply(&ids, target);
        self.tally.acked += 1;
        true
    }

    fn apply(&mut self, ids: &[i64], target: &'static str) {
        for id in ids {
            let c = self.comments.get_mut(id).expect("a known comment");
            c.status = target;
            c.steps.push(target);
        }
    }

    async fn verify(&mut self, api: &Api) {
        let slug = self.slug();
        if std::mem::take(&mut self.creating) {
            let found = find_article(api, &slug).await;
            self.tally.resolved(found.is_some());
            self.article = found.map(|(body, _)| id(&body));
        }
        if self.article.is_none() {
            return;
        }
        let queue: HashMap<i64, Value> = api
            .read_all(
                &format!("/api/v1/comments?article={slug}&limit=100"),
                Some(&api.moderator),
            )
            .await
            .into_iter()
            .map(|c| (id(&c), c))
            .collect();
        let history = |c: &Value| -> Vec<String> {
            c["history"]
                .as_array()
                .map(|h| {
                    h.iter()
                        .map(|s| s["to_status"].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default()
        };

        if let Some((body, parent)) = self.posting.take() {
            let found: Vec<&Value> = queue
                .values()
                .filter(|c| c["body_markdown"] == body.as_str())
                .collect();
            assert!(found.len() <= 1, "comment {body:?} stored twice");
            self.tally.resolved(!found.is_empty());
            if let Some(c) = found.first() {
                assert_eq!(c["status"], "pending", "{c}");
                assert_eq!(c["parent_id"].as_i64(), parent, "{c}");
                self.remember(id(c), body, parent);
            }
        }
        if let Some((ids, target)) = self.moderating.take() {
            let is_new = ids.iter().all(|i| {
                let steps = &self.comments[i].steps;
                match queue.get(i) {
                    None => target == "deleted",
                    Some(q) => {
                        q["status"] == target
                            && history(q).len() == steps.len() + 1
                            && history(q).last().map(String::as_str) == Some(target)
                    }
                }
            });
            let is_old = ids.iter().all(|i| {
                let c = &self.comments[i];
                queue
                    .get(i)
                    .is_some_and(|q| q["status"] == c.status && history(q) == c.steps)
            });
            assert!(
                is_new || is_old,
                "article {slug}: bulk moderation of {ids:?} to {target} is half applied: {:?}",
                ids.iter().map(|i| queue.get(i)).collect::<Vec<_>>()
            );
            self.tally.resolved(is_new);
            if is_new {
                self.apply(&ids, target);
            }
        }

        for (cid, c) in &self.comments {
            let Some(q) = queue.get(cid) else {
                assert_eq!(
                    c.status, "deleted",
                    "acknowledged comment {cid} is gone: {c:?}"
                );
                continue;
            };
            assert_eq!(q["status"], c.status, "comment {cid}: {q}");
            assert_eq!(q["parent_id"].as_i64(), c.parent, "comment {cid}: {q}");
            assert_eq!(q["body_markdown"], c.body.as_str(), "comment {cid}: {q}");
            assert_eq!(history(q), c.steps, "comment {cid}: moderation history");
        }
        for cid in queue.keys() {
            assert!(
                self.comments.contains_key(cid),
                "comment {cid} was never posted"
            );
        }

        // The public thread: approved comments under approved parents, and the article's
        // count of them, which every moderation step rewrites in the same transaction.
        let mut visible: Vec<i64> = Vec::new();
        for (cid, c) in &self.comments {
            if c.status == "approved" && c.parent.is_none_or(|p| visible.contains(&p)) {
                visible.push(*cid);
            }
        }
        let mut thread: Vec<i64> = api
            .read_all(&format!("/api/v1/articles/{slug}/comments?limit=100"), None)
            .await
            .iter()
            .map(id)
            .collect();
        thread.sort_unstable();
        assert_eq!(thread, visible, "article {slug}: the public thread");
        let (article, _) = find_article(api, &slug).await.expect("the article");
        assert_eq!(
            article["comment_count"].as_i64(),
            Some(visible.len() as i64),
            "article {slug}: comment_count against its public thread"
        );
        self.tally.checked += 1 + self.comments.len();
    }
}

// ---------------------------------------------------------------------------------------------
// The clients together
// ---------------------------------------------------------------------------------------------

enum Worker {
    Editor(Editor),
    Series(SeriesEditor),
    Comments(Commenter),
}

impl Worker {
    async fn run(self, api: Api) -> Self {
        match self {
            Worker::Editor(w) => Worker::Editor(w.run(api).await),
            Worker::Series(w) => Worker::Series(w.run(api).await),
            Worker::Comments(w) => Worker::Comments(w.run(api).await),
        }
    }

    async fn verify(&mut self, api: &Api) {
        match self {
            Worker::Editor(w) => w.verify(api).await,
            Worker::Series(w) => w.verify(api).await,
            Worker::Comments(w) => w.verify(api).await,
        }
    }

    fn tally(&self) -> Tally {
        match self {
            Worker::Editor(w) => w.tally,
            Worker::Series(w) => w.tally,
            Worker::Comments(w) => w.tally,
        }
    }
}

fn workers(rng: &mut StdRng) -> Vec<Worker> {
    let mut seeded = || StdRng::seed_from_u64(rng.random());
    let mut all = Vec::new();
    for n in 0..3 {
        all.push(Worker::Editor(Editor {
            n,
            rng: seeded(),
            tally: Tally::default(),
            articles: Vec::new(),
            made: 0,
            creating: None,
        }));
        all.push(Worker::Comments(Commenter {
            n,
            rng: seeded(),
            tally: Tally::default(),
            article: None,
            creating: false,
            comments: BTreeMap::new(),
            posted: 0,
            posting: None,
            moderating: None,
        }));
    }
    for n in 0..2 {
        all.push(Worker::Series(SeriesEditor {
            n,
            rng: seeded(),
            tally: Tally::default(),
            id: None,
            creating: false,
            articles: Vec::new(),
            made: 0,
            creating_article: None,
            order: Vec::new(),
            in_flight: None,
        }));
    }
    all
}

fn cli(url: &DatabaseUrl, args: &[&str]) {
    let out = masthead(url).args(args).output().expect("the binary runs");
    assert!(
        out.status.success(),
        "masthead {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn token(client: &reqwest::Client, base: &str, username: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("a token");
    body["access_token"].as_str().expect("a token").to_string()
}

#[tokio::test]
async fn acknowledged_writes_survive_the_server_being_killed_at_random_moments() {
    let started = Instant::now();
    let seed = std::env::var("MASTHEAD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    eprintln!("crash: seed {seed} (MASTHEAD_CRASH_SEED={seed} repeats the kill times and choices)");
    let mut rng = StdRng::seed_from_u64(seed);
    let (_db, url) = TestDb::create();
    cli(&url, &["migrate"]);
    cli(&url, &["user", "add", "ed", "--role", "editor"]);
    cli(&url, &["user", "add", "mod", "--role", "moderator"]);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let mut workers = workers(&mut rng);
    let mut tokens: Option<(String, String)> = None;
    // Kills after which the dead server's database sessions lived on, and the longest wait.
    let mut settled = (0, Duration::ZERO);
    for cycle in 0..=KILLS {
        let mut server = Server::start(&url, &client).await;
        let (editor, moderator) = match &tokens {
            Some(t) => t.clone(),
            None => {
                let t = (
                    token(&client, &server.base, "ed").await,
                    token(&client, &server.base, "mod").await,
                );
                tokens.insert(t).clone()
            }
        };
        let api = Api {
            client: client.clone(),
            base: server.base.clone(),
            editor,
            moderator,
        };
        for w in &mut workers {
            w.verify(&api).await;
        }
        check_invariants(&url);
        if cycle == KILLS {
            server.kill();
            break;
        }
        let running: Vec<_> = workers
            .drain(..)
            .map(|w| tokio::spawn(w.run(api.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(KILL_AFTER_MS))).await;
        server.kill();
        for handle in running {
            workers.push(handle.await.expect("a client failed"));
        }
        let (sessions, waited) = settle(&url);
        if sessions > 0 {
            settled.0 += 1;
            settled.1 = settled.1.max(waited);
        }
    }
    check_integrity(&url);

    let mut total = Tally::default();
    for w in &workers {
        total.add(w.tally());
    }
    eprintln!(
        "crash: {KILLS} kills on {:?} in {:.1}s; {} acknowledged writes, none lost; {} \
         unanswered writes found applied and {} not; {} object checks",
        url.backend,
        started.elapsed().as_secs_f64(),
        total.acked,
        total.lost_applied,
        total.lost_dropped,
        total.checked
    );
    if url.backend == Backend::Postgres {
        eprintln!(
            "crash: the killed server's database sessions outlived it after {} of {KILLS} kills \
             (longest {:?}); the checks waited for them to end",
            settled.0, settled.1
        );
    }
    // A server that refused every write would pass the checks above without proving anything.
    assert!(
        total.acked >= KILLS,
        "too few acknowledged writes to say anything: {total:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The database itself
// ---------------------------------------------------------------------------------------------

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Rules of the stored rows that a half-written change would break; each query counts the
/// rows breaking one, on either backend.
const INVARIANTS: &[(&str, &str)] = &[
    (
        "series positions are 1..n",
        "SELECT COUNT(*) AS n FROM (SELECT series_id FROM series_articles GROUP BY series_id \
         HAVING MIN(position) <> 1 OR MAX(position) <> COUNT(*) \
         OR COUNT(DISTINCT position) <> COUNT(*)) AS bad",
    ),
    (
        "tag positions are 0..n-1",
        "SELECT COUNT(*) AS n FROM (SELECT article_id FROM article_tags GROUP BY article_id \
         HAVING MIN(position) <> 0 OR MAX(position) <> COUNT(*) - 1) AS bad",
    ),
    (
        "each version of an article has its revision",
        "SELECT COUNT(*) AS n FROM articles a WHERE a.version <> \
         (SELECT COUNT(*) FROM article_revisions r WHERE r.article_id = a.id) \
         OR NOT EXISTS (SELECT 1 FROM article_revisions r WHERE r.article_id = a.id \
         AND r.rev = a.version AND r.title = a.title AND r.body_markdown = a.body_markdown)",
    ),
    (
        "replies are on their parent's article",
        "SELECT COUNT(*) AS n FROM comments c JOIN comments p ON p.id = c.parent_id \
         WHERE p.article_id <> c.article_id",
    ),
    (
        "replies have their parent",
        "SELECT COUNT(*) AS n FROM comments c LEFT JOIN comments p ON p.id = c.parent_id \
         WHERE c.parent_id IS NOT NULL AND p.id IS NULL",
    ),
    (
        "thread paths and depths follow the tree",
        "SELECT COUNT(*) AS n FROM comments c LEFT JOIN comments p ON p.id = c.parent_id \
         WHERE (c.parent_id IS NULL AND (c.depth <> 0 OR length(c.thread_path) <> 13)) \
         OR (c.parent_id IS NOT NULL AND (c.depth <> p.depth + 1 \
         OR length(c.thread_path) <> length(p.thread_path) + 13 \
         OR substr(c.thread_path, 1, length(p.thread_path)) <> p.thread_path))",
    ),
    (
        "visible means approved under visible parents",
        "SELECT COUNT(*) AS n FROM comments c LEFT JOIN comments p ON p.id = c.parent_id \
         WHERE c.visible <> (c.status = 'approved' AND (c.parent_id IS NULL OR p.visible))",
    ),
    (
        "comment_count counts the visible comments",
        "SELECT COUNT(*) AS n FROM articles a WHERE a.comment_count <> \
         (SELECT COUNT(*) FROM comments c WHERE c.article_id = a.id AND c.visible)",
    ),
    (
        "the last moderation step is the status",
        "SELECT COUNT(*) AS n FROM comments c WHERE c.status <> COALESCE((SELECT l.to_status \
         FROM comment_moderation_log l WHERE l.comment_id = c.id ORDER BY l.id DESC LIMIT 1), \
         'pending')",
    ),
];

/// SQLite's full-text index is two separate tables kept by the same transactions: published
/// and scheduled articles in one, the others in the other.
const SQLITE_INVARIANTS: &[(&str, &str)] = &[(
    "the search index holds each article as it is, in the table its status picks",
    "SELECT COUNT(*) AS n FROM articles a WHERE NOT EXISTS (SELECT 1 FROM articles_fts f \
     WHERE f.rowid = a.id AND f.title = a.title \
     AND a.status IN ('published', 'scheduled') \
     UNION ALL SELECT 1 FROM articles_fts_staff f \
     WHERE f.rowid = a.id AND f.title = a.title \
     AND a.status NOT IN ('published', 'scheduled')) \
     OR (SELECT COUNT(*) FROM articles_fts) + (SELECT COUNT(*) FROM articles_fts_staff) \
     <> (SELECT COUNT(*) FROM articles)",
)];

fn count_broken<C>(conn: &mut C, rules: &[(&str, &str)]) -> Vec<(String, i64)>
where
    C: Connection,
    for<'a> diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'a, C, Count>,
{
    rules
        .iter()
        .filter_map(|(name, sql)| {
            let n = diesel::sql_query(*sql)
                .get_result::<Count>(conn)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .n;
            (n != 0).then(|| (name.to_string(), n))
        })
        .collect()
}

/// Waits until the killed server's sessions have ended, and returns how many there were and
/// how long they took. On PostgreSQL a session whose client died goes on with the statement it
/// was given: a COMMIT sent just before the kill still waits for its WAL flush (hundreds of
/// milliseconds on a busy disk) and then commits. Until then whether an unanswered write
/// happened is not decided, so checking earlier would see it land later.
fn settle(url: &DatabaseUrl) -> (i64, Duration) {
    if url.backend != Backend::Postgres {
        // SQLite lives in the process: when the process is gone, so is every transaction.
        return (0, Duration::ZERO);
    }
    let mut conn = masthead::db::establish_pg(&url.target).expect("connect");
    let started = Instant::now();
    let others = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                  WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let first = diesel::sql_query(others)
        .get_result::<Count>(&mut conn)
        .expect("pg_stat_activity")
        .n;
    let mut left = first;
    while left > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the killed server's sessions did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
        left = diesel::sql_query(others)
            .get_result::<Count>(&mut conn)
            .expect("pg_stat_activity")
            .n;
    }
    (first, started.elapsed())
}

/// The test's own connection to the file, beside the server's.
fn sqlite(url: &DatabaseUrl) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(&url.target).expect("open the file");
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .expect("busy_timeout");
    conn
}

fn check_invariants(url: &DatabaseUrl) {
    let broken = match url.backend {
        Backend::Sqlite => {
            let mut conn = sqlite(url);
            let mut broken = count_broken(&mut conn, INVARIANTS);
            broken.extend(count_broken(&mut conn, SQLITE_INVARIANTS));
            broken
        }
        Backend::Postgres => {
            let mut conn = masthead::db::establish_pg(&url.target).expect("connect");
            count_broken(&mut conn, INVARIANTS)
        }
    };
    assert!(broken.is_empty(), "rows breaking invariants: {broken:?}");
}

/// After the last kill, with no server running: the database as a whole.
fn check_integrity(url: &DatabaseUrl) {
    check_invariants(url);
    if url.backend != Backend::Sqlite {
        // PostgreSQL recovers and checks its own pages; the invariants are what the
        // application's transactions must keep.
        eprintln!("crash: {} invariants hold", INVARIANTS.len());
        return;
    }
    let mut conn = sqlite(url);
    let rows: Vec<IntegrityRow> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .expect("integrity_check");
    let verdict: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    assert_eq!(verdict, ["ok"], "PRAGMA integrity_check");
    let dangling = diesel::sql_query("SELECT COUNT(*) AS n FROM pragma_foreign_key_check")
        .get_result::<Count>(&mut conn)
        .expect("foreign_key_check")
        .n;
    assert_eq!(dangling, 0, "PRAGMA foreign_key_check found rows");
    // FTS5 compares its index with its stored content; an error means they disagree.
    diesel::sql_query("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
        .execute(&mut conn)
        .expect("the full-text index is consistent");
    eprintln!(
        "crash: integrity_check ok, foreign_key_check empty, FTS5 integrity-check ok, {} \
         invariants hold",
        INVARIANTS.len() + SQLITE_INVARIANTS.len()
    );
}
