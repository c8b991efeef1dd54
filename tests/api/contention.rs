//! Contention: 64 clients at once with a tenth of their requests writing (no 5xx, no "database
//! is locked" reaching anyone), and writers racing on the same rows with the same precondition:
//! two editors on one series, a delete against a patch, two moderators on the same comments.
//! Exactly one wins each race and the stored state is the winner's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, header, id, slug, spawn_app_with, TestApp, PASSWORD};

const ARTICLES: &str = "/api/v1/articles";
const SERIES: &str = "/api/v1/series";
const COMMENTS: &str = "/api/v1/comments";

/// Concurrent clients, each on its own connection.
const CLIENTS: usize = 64;
/// Requests each client sends: 64 × 50 = 3,200 in all.
const REQUESTS_PER_CLIENT: usize = 50;
/// One request in ten writes.
const WRITE_PERCENT: u64 = 10;
/// A guard against a hang, far above the few seconds the load takes.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

// Helpers -------------------------------------------------------------------------------------

fn etag(res: &Response) -> String {
    header(res, "etag").expect("an ETag header")
}

/// Asserts `status`, printing the body when it differs, and returns the JSON body.
async fn expect(res: Response, status: StatusCode, what: &str) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = app.request(method, path).bearer_auth(token);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request sent")
}

async fn login(app: &TestApp, username: &str) -> String {
    let res = app.login(username, PASSWORD).await;
    expect(res, StatusCode::OK, "login").await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A published article open for comments, with the ETag editors see.
async fn article(app: &TestApp, editor: &str, title: &str) -> (Value, String) {
    let body = json!({"title": title, "status": "published",
                      "body_markdown": format!("Reporting from the harbour: {title}.")});
    let res = send(app, Method::POST, ARTICLES, editor, None, Some(&body)).await;
    let tag = etag(&res);
    (expect(res, StatusCode::CREATED, "POST article").await, tag)
}

async fn series(app: &TestApp, editor: &str, title: &str, article_ids: &[i64]) -> Value {
    let res = send(
        app,
        Method::POST,
        SERIES,
        editor,
        None,
        Some(&json!({ "title": title })),
    )
    .await;
    let s = expect(res, StatusCode::CREATED, "POST series").await;
    let res = send(
        app,
        Method::PUT,
        &format!("{SERIES}/{}/articles", id(&s)),
        editor,
        None,
        Some(&json!({ "article_ids": article_ids })),
    )
    .await;
    expect(res, StatusCode::OK, "PUT series articles").await
}

fn comment_form(n: usize) -> Value {
    json!({
        "author_name": format!("Reader {n}"),
        "author_email": format!("reader{n}@harbour.example"),
        "body": format!("Comment number {n} on the harbour works."),
    })
}

/// Posts a comment (it waits for a moderator) and returns its id.
async fn pending_comment(app: &TestApp, article_slug: &str, n: usize) -> i64 {
    let res = app
        .send_json(
            Method::POST,
            &format!("{ARTICLES}/{article_slug}/comments"),
            None,
            &comment_form(n),
        )
        .await;
    let accepted = expect(res, StatusCode::ACCEPTED, "POST comment").await;
    assert_eq!(accepted["status"], "pending");
    id(&accepted)
}

async fn comment(app: &TestApp, moderator: &str, comment: i64) -> Value {
    let res = send(
        app,
        Method::GET,
        &format!("{COMMENTS}/{comment}"),
        moderator,
        None,
        None,
    )
    .await;
    expect(res, StatusCode::OK, "GET comment").await
}

/// A newsroom under test. The comment rate limit is off: every request of these tests comes
/// from 127.0.0.1, so the limit (10 per client per minute as shipped) would answer 429 to the
/// load's comment posts after the tenth and hide what is measured here.
async fn newsroom() -> TestApp {
    spawn_app_with(|c| {
        c.comment_rate = 0;
        // The pool as shipped (MASTHEAD_DB_POOL_SIZE defaults to 16; the test harness uses 4 to
        // keep many test databases under PostgreSQL's connection limit).
        c.db_pool_size = masthead::config::Config::from_lookup(|_| None)
            .expect("default config")
            .db_pool_size;
    })
    .await
}

// 64 clients at once --------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), one per client, so a failing mix can be
/// replayed.
struct Dice(u64);

impl Dice {
    fn new(seed: u64) -> Self {
        Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What every client shares: the data set up before the load.
struct Stage {
    editor: String,
    moderator: String,
    articles: Vec<(i64, String)>,
    series: Vec<(i64, String, Vec<i64>)>,
    comments: Vec<i64>,
}

/// One request's outcome: its status, or `None` when no answer came (the error is the body).
struct Outcome {
    op: &'static str,
    write: bool,
    status: Option<StatusCode>,
    body: String,
    latency: Duration,
}

/// What a client saw, and the title its article should end with.
#[derive(Default)]
struct Tally {
    outcomes: Vec<Outcome>,
    final_title: String,
}

impl Tally {
    /// Sends a request and records its outcome; returns the status (if an answer came) and the
    /// answer's ETag.
    async fn run(
        &mut self,
        op: &'static str,
        write: bool,
        req: reqwest::RequestBuilder,
    ) -> (Option<StatusCode>, Option<String>) {
        let sent = Instant::now();
        let answer = match req.send().await {
            Ok(res) => {
                let tag = header(&res, "etag");
                let status = res.status();
                res.text()
                    .await
                    .map(|body| (status, tag, body))
                    .map_err(|e| format!("{e:?}"))
            }
            Err(e) => Err(format!("{e:?}")),
        };
        let latency = sent.elapsed();
        let (status, tag, body) = match answer {
            Ok((status, tag, body)) => (Some(status), tag, body),
            Err(error) => (None, None, error),
        };
        self.outcomes.push(Outcome {
            op,
            write,
            status,
            body,
            latency,
        });
        (status, tag)
    }
}

/// The statuses each kind of request may answer under load; anything else fails the test.
fn allowed(op: &str) -> &'static [u16] {
    match op {
        // Another client's comment or series change alters the article (its comment count,
        // its series navigation), so the owner's ETag may be stale: 412, then it refetches.
        "patch article" => &[200, 412],
        // Another moderator may have moderated one of the comments first.
        "bulk moderate" => &[200, 409],
        "post comment" => &[202],
        _ => &[200],
    }
}

/// Client `n`: owns article `n` (it alone changes its title, with `If-Match`), reads whatever it
/// likes, posts comments, moderates the shared comments and reorders the shared series.
async fn client(app: &TestApp, stage: &Stage, n: usize) -> Tally {
    let mut dice = Dice::new(n as u64 + 1);
    let mut tally = Tally::default();
    let (own_id, own_slug) = stage.articles[n].clone();
    let own_path = format!("{ARTICLES}/{own_id}");
    let mut own_tag: Option<String> = None;
    let mut title_count = 0;
    let editor = |method: Method, path: &str| app.request(method, path).bearer_auth(&stage.editor);
    let moderator =
        |method: Method, path: &str| app.request(method, path).bearer_auth(&stage.moderator);
    for i in 0..REQUESTS_PER_CLIENT {
        if dice.below(100) < WRITE_PERCENT {
            match dice.below(5) {
                0 => {
                    // The first change, and any after a 412, starts from a fresh read.
                    if own_tag.is_none() {
                        let req = editor(Method::GET, &format!("{ARTICLES}/{own_slug}"));
                        own_tag = tally.run("get own article", false, req).await.1;
                    }
                    title_count += 1;
                    let title = format!("Harbour works, client {n}, version {title_count}");
                    let mut req = editor(Method::PATCH, &own_path).json(&json!({ "title": title }));
                    if let Some(tag) = &own_tag {
                        req = req.header("If-Match", tag);
                    }
                    let (status, tag) = tally.run("patch article", true, req).await;
                    own_tag = if status == Some(StatusCode::OK) {
                        tally.final_title = title;
                        tag
                    } else {
                        None
                    };
                }
                1 => {
                    let (_, target) = dice.pick(&stage.articles);
                    let req = app
                        .request(Method::POST, &format!("{ARTICLES}/{target}/comments"))
                        .json(&comment_form(100_000 + n * 1_000 + i));
                    tally.run("post comment", true, req).await;
                }
                2 => {
                    let c = *dice.pick(&stage.comments);
                    let status = *dice.pick(&["pending", "approved", "rejected", "spam"]);
                    let req = moderator(Method::PATCH, &format!("{COMMENTS}/{c}"))
                        .json(&json!({ "status": status }));
                    tally.run("patch comment", true, req).await;
                }
                3 => {
                    let first = dice.below(stage.comments.len() as u64 - 2) as usize;
                    let ids = &stage.comments[first..first + 3];
                    let action = *dice.pick(&["approve", "reject", "spam"]);
                    let req = moderator(Method::POST, &format!("{COMMENTS}/moderate"))
                        .json(&json!({"ids": ids, "action": action, "expected_status": "pending"}));
                    tally.run("bulk moderate", true, req).await;
                }
                _ => {
                    let (series_id, _, members) = dice.pick(&stage.series);
                    let mut order = members.clone();
                    let turn = dice.below(order.len() as u64) as usize;
                    order.rotate_left(turn);
                    let req = editor(Method::PUT, &format!("{SERIES}/{series_id}/articles"))
                        .json(&json!({ "article_ids": order }));
                    tally.run("reorder series", true, req).await;
                }
            }
        } else {
            let (op, path) = match dice.below(5) {
                0 => (
                    "get article",
                    format!("{ARTICLES}/{}", dice.pick(&stage.articles).1),
                ),
                1 => ("list articles", format!("{ARTICLES}?limit=20")),
                2 => (
                    "get thread",
                    format!("{ARTICLES}/{}/comments", dice.pick(&stage.articles).1),
                ),
                3 => (
                    "get series",
                    format!("{SERIES}/{}", dice.pick(&stage.series).1),
                ),
                _ => ("list series", SERIES.to_string()),
            };
            tally.run(op, false, app.request(Method::GET, &path)).await;
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_with_a_tenth_writing_meet_no_5xx_and_no_locked_database() {
    let mut app = newsroom().await;
    // Up to 64 connections at once to the one server, kept between requests. An idle one is
    // not reused after 2 s: the server closes connections idle for 5 s (actix-web's keep-alive),
    // and a request sent on one just as it closes fails with no answer (hyper's
    // `IncompleteMessage`), a client-side race that says nothing about the server's load.
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .pool_idle_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator = app.token_for("mod", Role::Moderator).await;

    let mut articles = Vec::new();
    for n in 0..CLIENTS {
        let (a, _) = article(&app, &editor, &format!("Harbour works, client {n}")).await;
        articles.push((id(&a), slug(&a)));
    }
    let mut all_series = Vec::new();
    for k in 0..4 {
        let members: Vec<i64> = articles[k * 8..k * 8 + 8].iter().map(|a| a.0).collect();
        let s = series(&app, &editor, &format!("Harbour works, part {k}"), &members).await;
        all_series.push((id(&s), slug(&s), members));
    }
    let mut comments = Vec::new();
    for n in 0..48 {
        comments.push(pending_comment(&app, &articles[n % 16].1, n).await);
    }
    let stage = Stage {
        editor,
        moderator,
        articles,
        series: all_series,
        comments,
    };

    let started = Instant::now();
    let clients = (0..CLIENTS).map(|n| client(&app, &stage, n));
    let tallies = tokio::time::timeout(LOAD_LIMIT, futures_util::future::join_all(clients))
        .await
        .expect("the load finished in time");
    let elapsed = started.elapsed();

    let mut statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    let (mut requests, mut writes) = (0, 0);
    let mut failures = Vec::new();
    let mut latencies = Vec::new();
    for t in &tallies {
        for o in &t.outcomes {
            requests += 1;
            latencies.push(o.latency);
            writes += usize::from(o.write);
            let code = o.status.map_or(0, |s| s.as_u16());
            *statuses.entry((o.op, code)).or_default() += 1;
            // A locked or busy database reaches a client as a 500 whose body hides the cause
            // (or a 503 when the pool waited too long); the body check catches any cause that
            // leaks through in another answer.
            let lower = o.body.to_lowercase();
            if o.status.is_none_or(|s| s.is_server_error())
                || lower.contains("database is locked")
                || lower.contains("busy")
                || !allowed(o.op).contains(&code)
            {
                let status = o.status.map_or("no answer".into(), |s| s.to_string());
                let ms = o.latency.as_millis();
                failures.push(format!("{} → {status} after {ms} ms: {}", o.op, o.body));
            }
        }
    }
    let backend = if crate::helpers::backend_is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    eprintln!(
        "contention ({backend}): {requests} requests ({writes} writes) from {CLIENTS} clients in \
         {:.1} s ({:.0} requests/s)",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    latencies.sort_unstable();
    let quantile = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_millis();
    eprintln!(
        "  latency: median {} ms, p99 {} ms, max {} ms",
        quantile(0.5),
        quantile(0.99),
        quantile(1.0)
    );
    for ((op, status), count) in &statuses {
        // Status 0: no answer at all (a transport error).
        eprintln!("  {op:<16} {status}  {count}");
    }
    assert!(
        failures.is_empty(),
        "{} bad answers, the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // Each client's change after a 412 (or its first) adds a read of its article.
    assert!(
        requests >= CLIENTS * REQUESTS_PER_CLIENT,
        "{requests} requests"
    );
    assert!(writes > 0);

    // Every client's article ends with the title of its last accepted change.
    for (n, t) in tallies.iter().enumerate() {
        if t.final_title.is_empty() {
            continue;
        }
        let res = app
            .get(&format!("{ARTICLES}/{}", stage.articles[n].1), None)
            .await;
        let a = expect(res, StatusCode::OK, "GET article after the load").await;
        assert_eq!(a["title"], t.final_title.as_str(), "client {n}");
    }
    // Each series still holds its articles at positions 1..n.
    for (_, s, members) in &stage.series {
        let res = app.get(&format!("{SERIES}/{s}"), Some(&stage.editor)).await;
        let v = expect(res, StatusCode::OK, "GET series after the load").await;
        let listed = v["articles"].as_array().unwrap();
        let positions: Vec<i64> = listed
            .iter()
            .map(|m| m["position"].as_i64().unwrap())
            .collect();
        assert_eq!(
            positions,
            (1..=members.len() as i64).collect::<Vec<_>>(),
            "{s}"
        );
        let mut ids: Vec<i64> = listed.iter().map(id).collect();
        ids.sort_unstable();
        assert_eq!(&ids, members, "{s}");
    }
    // Each comment's history is one unbroken chain from `pending` to its status now: no step
    // was taken from a status the comment no longer had.
    for c in &stage.comments {
        let m = comment(&app, &stage.moderator, *c).await;
        let mut at = "pending".to_string();
        for step in m["history"].as_array().unwrap() {
            assert_eq!(step["from_status"], at.as_str(), "comment {c}: {m}");
            at = step["to_status"].as_str().unwrap().to_string();
        }
        assert_eq!(m["status"], at.as_str(), "comment {c}: {m}");
    }
}

// Races on one row ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_editors_patching_a_series_with_the_same_etag_let_exactly_one_win() {
    let app = newsroom().await;
    let left_editor = app.token_for("left", Role::Editor).await;
    let right_editor = app.token_for("right", Role::Editor).await;
    let (a, _) = article(&app, &left_editor, "Dock strike, day one").await;
    let s = series(&app, &left_editor, "Dock strike", &[id(&a)]).await;
    let path = format!("{SERIES}/{}", id(&s));
    let res = app
        .get(&format!("{SERIES}/{}", slug(&s)), Some(&left_editor))
        .await;
    let mut tag = etag(&res);
    for round in 0..5 {
        let left = json!({"title": format!("Dock strike (left, round {round})")});
        let right = json!({"title": format!("Dock strike (right, round {round})")});
        let (l, r) = tokio::join!(
            send(
                &app,
                Method::PATCH,
                &path,
                &left_editor,
                Some(&tag),
                Some(&left)
            ),
            send(
                &app,
                Method::PATCH,
                &path,
                &right_editor,
                Some(&tag),
                Some(&right)
            ),
        );
        let (winner, title, loser) = match (l.status(), r.status()) {
            (StatusCode::OK, StatusCode::PRECONDITION_FAILED) => (l, &left["title"], r),
            (StatusCode::PRECONDITION_FAILED, StatusCode::OK) => (r, &right["title"], l),
            other => panic!("round {round}: expected one 200 and one 412, got {other:?}"),
        };
        assert_problem(loser, StatusCode::PRECONDITION_FAILED).await;
        tag = etag(&winner);
        let won = expect(winner, StatusCode::OK, "the winning PATCH").await;
        assert_eq!(&won["title"], title);
        let res = app
            .get(&format!("{SERIES}/{}", slug(&s)), Some(&left_editor))
            .await;
        assert_eq!(
            etag(&res),
            tag,
            "round {round}: the stored series is the winner's"
        );
        let stored = expect(res, StatusCode::OK, "GET series").await;
        assert_eq!(&stored["title"], title, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_article_while_another_editor_patches_it_lets_exactly_one_win() {
    let app = newsroom().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let other = app.token_for("other", Role::Editor).await;
    let (mut deleted, mut patched) = (0, 0);
    for round in 0..6 {
        let (a, tag) = article(&app, &editor, &format!("Quay collapse, take {round}")).await;
        let path = format!("{ARTICLES}/{}", id(&a));
        let change = json!({"title": format!("Quay collapse, corrected {round}")});
        let (d, p) = tokio::join!(
            send(&app, Method::DELETE, &path, &editor, Some(&tag), None),
            send(
                &app,
                Method::PATCH,
                &path,
                &other,
                Some(&tag),
                Some(&change)
            ),
        );
        let by_slug = format!("{ARTICLES}/{}", slug(&a));
        match (d.status(), p.status()) {
            (StatusCode::NO_CONTENT, StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND) => {
                let status = p.status();
                assert_problem(p, status).await;
                let res = app.get(&by_slug, Some(&editor)).await;
                assert_problem(res, StatusCode::NOT_FOUND).await;
                deleted += 1;
            }
            (StatusCode::PRECONDITION_FAILED, StatusCode::OK) => {
                assert_problem(d, StatusCode::PRECONDITION_FAILED).await;
                let won = expect(p, StatusCode::OK, "the winning PATCH").await;
                assert_eq!(won["title"], change["title"]);
                let res = app.get(&by_slug, Some(&editor)).await;
                let stored = expect(res, StatusCode::OK, "GET the patched article").await;
                assert_eq!(stored["title"], change["title"], "round {round}");
                patched += 1;
            }
            other => panic!("round {round}: expected one 2xx and one 412/404, got {other:?}"),
        }
    }
    eprintln!("delete against patch: the delete won {deleted} times, the patch {patched} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moderators_bulk_moderating_the_same_pending_comments_resolve_to_one() {
    let app = newsroom().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let approver_id = app.create_user("approver", Role::Moderator).await;
    let rejecter_id = app.create_user("rejecter", Role::Moderator).await;
    let approver = login(&app, "approver").await;
    let rejecter = login(&app, "rejecter").await;
    let (a, _) = article(&app, &editor, "Lighthouse restoration").await;
    let path = format!("{COMMENTS}/moderate");
    for round in 0..5 {
        let mut ids = Vec::new();
        for k in 0..6 {
            ids.push(pending_comment(&app, &slug(&a), round * 10 + k).await);
        }
        // Each moderator lists the same comments, in a different order.
        let reversed: Vec<i64> = ids.iter().rev().copied().collect();
        let approve = json!({"ids": ids, "action": "approve", "expected_status": "pending"});
        let reject = json!({"ids": reversed, "action": "reject", "expected_status": "pending"});
        let (l, r) = tokio::join!(
            send(&app, Method::POST, &path, &approver, None, Some(&approve)),
            send(&app, Method::POST, &path, &rejecter, None, Some(&reject)),
        );
        let (winner, status, moderator_id, loser) = match (l.status(), r.status()) {
            (StatusCode::OK, StatusCode::CONFLICT) => (l, "approved", approver_id, r),
            (StatusCode::CONFLICT, StatusCode::OK) => (r, "rejected", rejecter_id, l),
            other => panic!("round {round}: expected one 200 and one 409, got {other:?}"),
        };
        let problem = assert_problem(loser, StatusCode::CONFLICT).await;
        assert_eq!(
            problem["errors"].as_array().map(Vec::len),
            Some(ids.len()),
            "every id differs now: {problem}"
        );
        let results = expect(winner, StatusCode::OK, "the winning bulk action").await;
        for r in results["results"].as_array().unwrap() {
            assert_eq!(r["status"], status, "round {round}: {results}");
        }
        for c in &ids {
            let m = comment(&app, &approver, *c).await;
            assert_eq!(m["status"], status, "round {round}: {m}");
            let history = m["history"].as_array().unwrap();
            assert_eq!(history.len(), 1, "round {round}: one step only: {m}");
            assert_eq!(history[0]["from_status"], "pending");
            assert_eq!(history[0]["to_status"], status);
            assert_eq!(history[0]["moderator"]["id"], moderator_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moderators_patching_a_comment_with_the_same_etag_let_exactly_one_win() {
    let app = newsroom().await;
    let editor = app.token_for("ed", Role::Editor).await;
    let first = app.token_for("first", Role::Moderator).await;
    let second = app.token_for("second", Role::Moderator).await;
    let (a, _) = article(&app, &editor, "Ferry timetable change").await;
    for round in 0..5 {
        let c = pending_comment(&app, &slug(&a), round).await;
        let path = format!("{COMMENTS}/{c}");
        let res = send(&app, Method::GET, &path, &first, None, None).await;
        let tag = etag(&res);
        let approve = json!({"status": "approved", "moderation_note": "fine"});
        let spam = json!({"status": "spam", "moderation_note": "advertising"});
        let (l, r) = tokio::join!(
            send(
                &app,
                Method::PATCH,
                &path,
                &first,
                Some(&tag),
                Some(&approve)
            ),
            send(&app, Method::PATCH, &path, &second, Some(&tag), Some(&spam)),
        );
        let (winner, body, loser) = match (l.status(), r.status()) {
            (StatusCode::OK, StatusCode::PRECONDITION_FAILED) => (l, &approve, r),
            (StatusCode::PRECONDITION_FAILED, StatusCode::OK) => (r, &spam, l),
            other => panic!("round {round}: expected one 200 and one 412, got {other:?}"),
        };
        assert_problem(loser, StatusCode::PRECONDITION_FAILED).await;
        let won_tag = etag(&winner);
        let won = expect(winner, StatusCode::OK, "the winning PATCH").await;
        let stored = comment(&app, &first, c).await;
        assert_eq!(stored, won, "round {round}");
        assert_eq!(stored["status"], body["status"]);
        assert_eq!(stored["moderation_note"], body["moderation_note"]);
        assert_eq!(stored["history"].as_array().map(Vec::len), Some(1));
        let res = send(&app, Method::GET, &path, &first, None, None).await;
        assert_eq!(etag(&res), won_tag, "round {round}");
    }
}

#[tokio::test]
async fn a_write_that_panics_leaves_no_open_transaction_behind_for_the_next_request() {
    // One pooled connection, so the next request gets the very connection the panic left.
    let app = spawn_app_with(|c| c.db_pool_size = 1).await;
    let editor = app.token_for("ed", Role::Editor).await;
    let pool = app.state.db.pool().clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("a pooled connection");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: Result<(), diesel::result::Error> =
                masthead::db::write_transaction(&mut conn, |_| {
                    panic!("a bug in the middle of a write (this test's own panic)")
                });
        }));
        assert!(panicked.is_err());
    })
    .await
    .unwrap();

    // The next write commits: another instance on the same database reads it. (Before, the
    // connection went back into the pool inside the unfinished transaction, the write became a
    // savepoint in it and was never committed; on SQLite that transaction also held the write
    // lock, so every other connection's writes waited and failed.)
    let (created, _) = article(&app, &editor, "Ferry timetable changes").await;
    let other = crate::helpers::spawn_app_on(app.state.config.database_url.clone(), |_| {}).await;
    let res = other
        .get(&format!("{ARTICLES}/{}", slug(&created)), None)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the write after the panic is committed"
    );
}

/// PostgreSQL: another instance's transaction that changes two articles one after the other (as
/// moderating comments on both recounts them), with an editor changing the title of the second
/// in between, while the first is its neighbour in a series. The editor's change empties the
/// first's stored render; the other transaction changed the first before, and asks for the
/// second's row after. Neither may fail: render rows are locked only at commit, all at once in
/// article order, so they cannot close a cycle of waits. (Before, each change locked the renders
/// it emptied at once, and PostgreSQL broke the deadlock after a second by failing the editor's
/// request with a 500.) SQLite runs one writer at a time and has no such cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_change_beside_another_instance_changing_its_neighbours_both_commit() {
    use diesel::connection::SimpleConnection;

    if !crate::helpers::backend_is_postgres() {
        return;
    }
    // No response cache: the other instance's change must show in the next read.
    let app = spawn_app_with(|c| c.cache_max_age = 0).await;
    let editor = app.token_for("ed", Role::Editor).await;
    let (first, _) = article(&app, &editor, "Lighthouse keeper retires").await;
    let (second, _) = article(&app, &editor, "Lighthouse goes automatic").await;
    series(&app, &editor, "Lighthouse", &[id(&first), id(&second)]).await;
    let second_tag = etag(
        &app.get(&format!("{ARTICLES}/{}", slug(&second)), None)
            .await,
    );
    // The first article's render is stored, naming the second as the next in the series.
    let first_path = format!("{ARTICLES}/{}", slug(&first));
    let read_first = async || {
        expect(
            app.get(&first_path, None).await,
            StatusCode::OK,
            "GET first",
        )
        .await
    };
    let before = read_first().await;
    assert_eq!(
        before["series"][0]["next"]["title"],
        "Lighthouse goes automatic"
    );

    let url = app.state.config.database_url.target.clone();
    let mut other = masthead::db::establish_pg(&url).unwrap();
    let (a, b) = (id(&first), id(&second));
    other
        .batch_execute(&format!(
            "BEGIN; UPDATE articles SET comment_count = comment_count + 1 WHERE id = {a}"
        ))
        .unwrap();
    let patch = tokio::spawn({
        let request = app
            .request(Method::PATCH, &format!("{ARTICLES}/{b}"))
            .bearer_auth(&editor)
            .header("If-Match", &second_tag)
            .json(&json!({ "title": "Lighthouse keeper's cottage for sale" }));
        async move { request.send().await.expect("request sent") }
    });
    // The editor's request is under way: it has finished, or it waits for a lock.
    let mut watch = masthead::db::establish_pg(&url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !patch.is_finished() {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let waiting: Waiting = diesel::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ),
            &mut watch,
        )
        .unwrap();
        if waiting.n > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the PATCH neither ended nor waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let other_side = tokio::task::spawn_blocking(move || {
        other.batch_execute(&format!(
            "UPDATE articles SET comment_count = comment_count WHERE id = {b}; COMMIT"
        ))
    });
    expect(patch.await.unwrap(), StatusCode::OK, "the editor's change").await;
    other_side
        .await
        .unwrap()
        .expect("the other instance's transaction commits");

    // Both changes are in, and the first's render shows the second's new title.
    let after = read_first().await;
    assert_eq!(
        after["series"][0]["next"]["title"],
        "Lighthouse keeper's cottage for sale"
    );
    assert_eq!(
        after["comment_count"],
        before["comment_count"].as_i64().unwrap() + 1
    );
}
