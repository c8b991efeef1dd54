//! Reader comments: the public form and its checks, duplicates, the per-client rate limit, the
//! spam heuristics and the blocklist, the public thread (order, hidden branches, paging, caching,
//! rendering), the moderators' queue, single and bulk moderation with its audit trail, deletes
//! that keep replies, and the commenter's private data staying out of public answers and logs.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use masthead::config::Config;
use masthead::domain::user::Role;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, error_fields, header, id, slug, spawn_app_with, TestApp, TestDb, JWT_SECRET,
    PASSWORD,
};

const ARTICLES: &str = "/api/v1/articles";
const COMMENTS: &str = "/api/v1/comments";
const BLOCKLIST: &str = "/api/v1/comments/blocklist";
/// Every comment these tests post carries this User-Agent, so the queue can be checked for it.
const AGENT: &str = "RiversideReader/3.2 (comment-tests; handset-4471)";
const MODERATOR_NAME: &str = "mod Person";

const THREAD_ITEM_KEYS: [&str; 7] = [
    "id",
    "parent_id",
    "depth",
    "author_name",
    "author_url",
    "body_html",
    "created_at",
];
const MODERATOR_KEYS: [&str; 17] = [
    "id",
    "article",
    "parent_id",
    "depth",
    "author_name",
    "author_email",
    "author_url",
    "body_markdown",
    "body_html",
    "status",
    "ip_address",
    "user_agent",
    "moderated_by",
    "moderated_at",
    "moderation_note",
    "created_at",
    "history",
];
const HISTORY_KEYS: [&str; 5] = [
    "from_status",
    "to_status",
    "moderator",
    "note",
    "created_at",
];
const BLOCK_KEYS: [&str; 7] = [
    "id",
    "kind",
    "value",
    "note",
    "expires_at",
    "created_at",
    "created_by",
];

// ---------------------------------------------------------------------------------------------
// Local helpers
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

/// Asserts `status`, printing the body when it differs, and returns `(body, etag if any)`.
async fn expect(res: Response, status: StatusCode, what: &str) -> (Value, Option<String>) {
    let got = res.status();
    if got != status {
        let text = res.text().await.unwrap_or_default();
        panic!("{what}: expected {status}, got {got}: {text}");
    }
    let tag = header(&res, "etag");
    let body = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Value::Null
    } else {
        res.json().await.expect("a JSON body")
    };
    (body, tag)
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = app.request(method, path);
    if let Some(t) = token {
        req = req.bearer_auth(t);
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

fn items(page: &Value) -> &Vec<Value> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data array in {page}"))
}

fn ids_of(page: &Value) -> Vec<i64> {
    items(page).iter().map(id).collect()
}

/// Asserts that a problem names `field` among its `errors`.
fn assert_names(problem: &Value, field: &str, what: &str) {
    assert!(
        error_fields(problem).contains(&field.to_string()),
        "{what}: the problem does not name {field:?}: {problem}"
    );
}

// The newsroom --------------------------------------------------------------------------------

/// An app with an editor and a moderator. The comment rate limit is off unless `customize` sets
/// one: it has its own tests, and the others post freely.
struct Desk {
    app: TestApp,
    editor: String,
    moderator: String,
    moderator_id: i64,
}

async fn desk_with(customize: impl FnOnce(&mut Config)) -> Desk {
    let app = spawn_app_with(|c| {
        c.comment_rate = 0;
        customize(c);
    })
    .await;
    let editor = app.token_for("ed", Role::Editor).await;
    let moderator_id = app.create_user("mod", Role::Moderator).await;
    let moderator = login_token(&app, "mod").await;
    Desk {
        app,
        editor,
        moderator,
        moderator_id,
    }
}

async fn desk() -> Desk {
    desk_with(|_| {}).await
}

async fn login_token(app: &TestApp, username: &str) -> String {
    let res = app.login(username, PASSWORD).await;
    let (body, _) = expect(res, StatusCode::OK, &format!("login {username}")).await;
    body["access_token"].as_str().unwrap().to_string()
}

// Articles ------------------------------------------------------------------------------------

async fn new_article(d: &Desk, body: Value) -> Value {
    let res = d
        .app
        .send_json(Method::POST, ARTICLES, Some(&d.editor), &body)
        .await;
    expect(res, StatusCode::CREATED, &format!("POST article {body}"))
        .await
        .0
}

/// A published article, published an hour ago, open for comments.
async fn published(d: &Desk, title: &str) -> Value {
    new_article(
        d,
        json!({"title": title, "status": "published", "published_at": at(-Duration::hours(1)),
               "body_markdown": format!("Local reporting: {title}.")}),
    )
    .await
}

async fn read_article(app: &TestApp, slug: &str) -> Value {
    let res = app.get(&format!("{ARTICLES}/{slug}"), None).await;
    expect(res, StatusCode::OK, &format!("GET article {slug}"))
        .await
        .0
}

/// The article's summary in the public article list.
async fn listed_article(app: &TestApp, slug: &str) -> Value {
    let res = app.get(&format!("{ARTICLES}?limit=100"), None).await;
    let (page, _) = expect(res, StatusCode::OK, "GET articles").await;
    items(&page)
        .iter()
        .find(|a| a["slug"] == slug)
        .unwrap_or_else(|| panic!("{slug} is not in the article list {page}"))
        .clone()
}

fn comments_of(slug: &str) -> String {
    format!("{ARTICLES}/{slug}/comments")
}

// The public form -----------------------------------------------------------------------------

fn form(name: &str, email: &str, body: &str) -> Value {
    json!({"author_name": name, "author_email": email, "body": body})
}

fn reply(parent: i64, name: &str, email: &str, body: &str) -> Value {
    let mut f = form(name, email, body);
    f["parent_id"] = json!(parent);
    f
}

const NAMES: [&str; 6] = [
    "Maren Tuck",
    "Osei Brandt",
    "Lidia Farrow",
    "Tomasz Quill",
    "Ines Holloway",
    "Rhys Okonkwo",
];
const LINES: [&str; 6] = [
    "The 7:40 ferry has been full every weekday since March; a second sailing would help.",
    "Good to see the allotment waiting list published at last, even if it is long.",
    "My street was left off the resurfacing map again this year.",
    "Thanks for covering the library's Sunday opening: the children's corner was packed.",
    "The bridge detour adds twenty minutes for anyone cycling to the station.",
    "Could the paper ask the council when the market hall roof will be fixed?",
];

/// A distinct, valid comment: `n` keeps names, e-mails and bodies apart.
fn sample(n: usize) -> Value {
    form(
        NAMES[n % NAMES.len()],
        &format!("reader{n}@riverside.example"),
        &format!("{} (note {n})", LINES[n % LINES.len()]),
    )
}

/// A distinct, valid reply to `parent`.
fn sample_reply(parent: i64, n: usize) -> Value {
    let mut f = sample(n);
    f["parent_id"] = json!(parent);
    f
}

async fn post(app: &TestApp, slug: &str, body: &Value) -> Response {
    app.request(Method::POST, &comments_of(slug))
        .header("User-Agent", AGENT)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

async fn post_forwarded(app: &TestApp, slug: &str, body: &Value, forwarded_for: &str) -> Response {
    app.request(Method::POST, &comments_of(slug))
        .header("User-Agent", AGENT)
        .header("X-Forwarded-For", forwarded_for)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

/// Posts a comment, asserts 202 with exactly `{id, status}`, and returns that answer.
async fn accepted(app: &TestApp, slug: &str, body: &Value) -> Value {
    let res = post(app, slug, body).await;
    let (answer, _) = expect(res, StatusCode::ACCEPTED, &format!("POST comment {body}")).await;
    assert_eq!(keys(&answer), sorted(&["id", "status"]), "{answer}");
    assert!(answer["id"].is_i64(), "{answer}");
    answer
}

/// Posts a comment, asserts the answer is exactly `{id, status: "pending"}`, returns the id.
async fn submit(app: &TestApp, slug: &str, body: &Value) -> i64 {
    let answer = accepted(app, slug, body).await;
    assert_eq!(answer["status"], "pending", "answer to {body}: {answer}");
    id(&answer)
}

/// Posts and approves a comment, returning its id.
async fn approved(d: &Desk, slug: &str, body: &Value) -> i64 {
    let c = submit(&d.app, slug, body).await;
    approve(d, c).await;
    c
}

// Moderation ----------------------------------------------------------------------------------

fn comment_path(comment: i64) -> String {
    format!("{COMMENTS}/{comment}")
}

async fn patch_comment(d: &Desk, comment: i64, body: &Value) -> Response {
    send(
        &d.app,
        Method::PATCH,
        &comment_path(comment),
        Some(&d.moderator),
        Some(body),
    )
    .await
}

/// PATCHes a comment's status as the moderator, asserts 200, returns the ModeratorComment.
async fn set_status(d: &Desk, comment: i64, status: &str) -> Value {
    let res = patch_comment(d, comment, &json!({ "status": status })).await;
    expect(
        res,
        StatusCode::OK,
        &format!("PATCH comment {comment} to {status}"),
    )
    .await
    .0
}

async fn approve(d: &Desk, comment: i64) -> Value {
    set_status(d, comment, "approved").await
}

async fn bulk(d: &Desk, body: &Value) -> Response {
    send(
        &d.app,
        Method::POST,
        &format!("{COMMENTS}/moderate"),
        Some(&d.moderator),
        Some(body),
    )
    .await
}

/// Bulk-moderates `ids`, asserts 200 and returns the `results` array.
async fn moderate(d: &Desk, ids: &[i64], action: &str) -> Vec<Value> {
    let body = json!({"ids": ids, "action": action});
    let res = bulk(d, &body).await;
    let (answer, _) = expect(res, StatusCode::OK, &format!("moderate {body}")).await;
    assert_eq!(keys(&answer), sorted(&["results"]), "{answer}");
    answer["results"].as_array().unwrap().clone()
}

async fn delete_comment(d: &Desk, comment: i64) -> Response {
    send(
        &d.app,
        Method::DELETE,
        &comment_path(comment),
        Some(&d.moderator),
        None,
    )
    .await
}

/// One comment as moderators see it.
async fn moderator_view(d: &Desk, comment: i64) -> Value {
    let res = d.app.get(&comment_path(comment), Some(&d.moderator)).await;
    expect(res, StatusCode::OK, &format!("GET comment {comment}"))
        .await
        .0
}

async fn status_of(d: &Desk, comment: i64) -> String {
    moderator_view(d, comment).await["status"]
        .as_str()
        .expect("a status string")
        .to_string()
}

async fn queue(d: &Desk, query: &str) -> Value {
    let res = d
        .app
        .get(&format!("{COMMENTS}{query}"), Some(&d.moderator))
        .await;
    expect(res, StatusCode::OK, &format!("GET {COMMENTS}{query}"))
        .await
        .0
}

async fn stats(d: &Desk) -> Value {
    let res = d
        .app
        .get(&format!("{COMMENTS}/stats"), Some(&d.moderator))
        .await;
    expect(res, StatusCode::OK, "GET stats").await.0
}

fn moderator_ref(d: &Desk) -> Value {
    json!({"id": d.moderator_id, "display_name": MODERATOR_NAME})
}

// The public thread ---------------------------------------------------------------------------

/// GETs the public thread of an article (anonymously), asserts 200, returns `(page, etag)`.
async fn thread_tagged(app: &TestApp, slug: &str, query: &str) -> (Value, String) {
    let path = format!("{}{query}", comments_of(slug));
    let res = app.get(&path, None).await;
    let (page, tag) = expect(res, StatusCode::OK, &format!("GET {path}")).await;
    (page, tag.expect("an ETag on the public thread"))
}

async fn thread(app: &TestApp, slug: &str) -> Value {
    thread_tagged(app, slug, "?limit=100").await.0
}

async fn thread_ids(app: &TestApp, slug: &str) -> Vec<i64> {
    ids_of(&thread(app, slug).await)
}

/// The thread item with id `comment`, which must be shown.
async fn shown(app: &TestApp, slug: &str, comment: i64) -> Value {
    let page = thread(app, slug).await;
    items(&page)
        .iter()
        .find(|c| id(c) == comment)
        .unwrap_or_else(|| panic!("comment {comment} is not in the thread {page}"))
        .clone()
}

/// `(id, parent_id, depth)` of every item of the thread, in order.
async fn shape(app: &TestApp, slug: &str) -> Vec<(i64, Option<i64>, i64)> {
    items(&thread(app, slug).await)
        .iter()
        .map(|c| {
            (
                id(c),
                c["parent_id"].as_i64(),
                c["depth"].as_i64().expect("an integer depth"),
            )
        })
        .collect()
}

async fn get_if_none_match(app: &TestApp, path: &str, tag: &str) -> Response {
    app.request(Method::GET, path)
        .header("If-None-Match", tag)
        .send()
        .await
        .expect("request sent")
}

// Blocklist -----------------------------------------------------------------------------------

async fn post_block(d: &Desk, body: &Value) -> Response {
    send(
        &d.app,
        Method::POST,
        BLOCKLIST,
        Some(&d.moderator),
        Some(body),
    )
    .await
}

/// Adds a blocklist entry, asserts 201 and the entry's shape, returns it.
async fn block(d: &Desk, body: Value) -> Value {
    let res = post_block(d, &body).await;
    let (entry, _) = expect(res, StatusCode::CREATED, &format!("POST blocklist {body}")).await;
    assert_eq!(keys(&entry), sorted(&BLOCK_KEYS), "{entry}");
    entry
}

/// Walks every page of `path` (which already has a `limit`) and returns the ids in order,
/// checking each `Link` header against `page.next_cursor`.
async fn walk(app: &TestApp, token: Option<&str>, path: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut next = path.to_string();
    for _ in 0..50 {
        let res = app.get(&next, token).await;
        let link = header(&res, "link");
        let (page, _) = expect(res, StatusCode::OK, &format!("GET {next}")).await;
        seen.extend(ids_of(&page));
        match page["page"]["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a Link header when there is a next page");
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                assert!(link.contains(&format!("cursor={cursor}")), "{link}");
                next = format!("{path}&cursor={cursor}");
            }
            None => {
                assert!(link.is_none(), "a Link header on the last page: {link:?}");
                return seen;
            }
        }
    }
    panic!("the walk over {path} does not end");
}

/// The `<…>` tags of an HTML fragment, lowercased.
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start..];
        let end = after.find('>').map_or(after.len(), |e| e + 1);
        out.push(after[..end].to_lowercase());
        rest = &after[end..];
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Intake
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_reader_comment_is_accepted_as_pending_and_waits_for_a_moderator() {
    let d = desk().await;
    let a = published(&d, "Harbour ferry timetable changes").await;
    let s = slug(&a);
    let c = submit(&d.app, &s, &sample(1)).await;

    // Nobody sees it before a moderator does.
    assert_eq!(thread_ids(&d.app, &s).await, Vec::<i64>::new());
    assert_eq!(read_article(&d.app, &s).await["comment_count"], 0);
    assert_eq!(ids_of(&queue(&d, "?status=pending").await), vec![c]);
    assert_eq!(
        stats(&d).await,
        json!({"pending": 1, "approved": 0, "rejected": 0, "spam": 0})
    );

    approve(&d, c).await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![c]);
}

/// On SQLite a thread of their own checkpoints the write-ahead log: posted comments reach the
/// database file itself shortly after, long before the 4,000 logged pages after which the
/// writer would checkpoint by itself.
#[tokio::test]
async fn posted_comments_are_checkpointed_into_the_database_file() {
    use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
    if crate::helpers::backend_is_postgres() {
        return;
    }
    let d = desk().await;
    let s = slug(&published(&d, "Footbridge repairs begin").await);
    for n in 0..3 {
        submit(&d.app, &s, &sample(n)).await;
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // `immutable=1` reads the database file alone, ignoring the write-ahead log.
    let file = format!(
        "file:{}?immutable=1",
        d.app.state.config.database_url.target
    );
    let mut in_file = 0;
    for _ in 0..50 {
        let mut conn = SqliteConnection::establish(&file).unwrap();
        // Before the first checkpoint the file may not even have the tables.
        in_file = diesel::sql_query("SELECT count(*) AS n FROM comments")
            .get_result::<Count>(&mut conn)
            .map_or(0, |c| c.n);
        if in_file == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(in_file, 3, "comments in the database file after 5 s");
}

#[tokio::test]
async fn the_moderator_sees_everything_the_reader_sent() {
    let d = desk().await;
    let a = published(&d, "Allotment waiting list grows").await;
    let s = slug(&a);
    let mut body = form(
        "Lidia Farrow",
        "lidia.farrow@riverside.example",
        "Plot 14 has been *empty* for two seasons.",
    );
    body["author_url"] = json!("https://lidia-grows.example/diary");
    let before = Utc::now() - Duration::seconds(2);
    let c = submit(&d.app, &s, &body).await;
    let after = Utc::now() + Duration::seconds(2);

    let m = moderator_view(&d, c).await;
    assert_eq!(keys(&m), sorted(&MODERATOR_KEYS), "{m}");
    assert_eq!(m["id"], c);
    assert_eq!(
        m["article"],
        json!({"id": a["id"], "slug": s, "title": "Allotment waiting list grows"})
    );
    assert_eq!(m["parent_id"], Value::Null);
    assert_eq!(m["depth"], 0);
    assert_eq!(m["author_name"], "Lidia Farrow");
    assert_eq!(m["author_email"], "lidia.farrow@riverside.example");
    assert_eq!(m["author_url"], "https://lidia-grows.example/diary");
    assert_eq!(
        m["body_markdown"],
        "Plot 14 has been *empty* for two seasons."
    );
    assert!(
        m["body_html"].as_str().unwrap().contains("<em>empty</em>"),
        "{m}"
    );
    assert_eq!(m["status"], "pending");
    assert_eq!(m["ip_address"], "127.0.0.1");
    assert_eq!(m["user_agent"], AGENT);
    assert_eq!(m["moderated_by"], Value::Null);
    assert_eq!(m["moderated_at"], Value::Null);
    assert_eq!(m["moderation_note"], Value::Null);
    assert_eq!(m["history"], json!([]));
    let created = parse_time(&m["created_at"]);
    assert!(
        before <= created && created <= after,
        "created_at {created}"
    );

    // The queue carries the same view.
    let page = queue(&d, "?status=pending").await;
    assert_eq!(items(&page), &vec![m]);
}

#[tokio::test]
async fn every_bad_field_is_named_in_one_validation_problem() {
    let d = desk().await;
    let a = published(&d, "Night bus trial extended").await;
    let body = json!({
        "author_name": "   ",
        "author_email": "not an address",
        "body": "",
        "author_url": "ftp://files.example/me",
        "parent_id": 987_654
    });
    let res = post(&d.app, &slug(&a), &body).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        error_fields(&p),
        sorted(&[
            "author_email",
            "author_name",
            "author_url",
            "body",
            "parent_id"
        ]),
        "{p}"
    );
    assert_eq!(stats(&d).await["pending"], 0);
}

#[tokio::test]
async fn author_names_are_trimmed_and_counted_in_characters() {
    let d = desk().await;
    let a = published(&d, "Market hall roof survey").await;
    let s = slug(&a);

    // 100 two-byte letters are 100 characters, and surrounding spaces do not count.
    let long = "Ёж".repeat(50);
    let c = submit(
        &d.app,
        &s,
        &form(
            &format!("  {long}  "),
            "hedgehog@riverside.example",
            "Fine.",
        ),
    )
    .await;
    assert_eq!(moderator_view(&d, c).await["author_name"], long.as_str());

    let c = submit(
        &d.app,
        &s,
        &form("  Maren Tuck ", "maren@riverside.example", "Agreed."),
    )
    .await;
    assert_eq!(moderator_view(&d, c).await["author_name"], "Maren Tuck");

    for bad in [
        String::new(),
        "    ".to_string(),
        format!("{long}ж"),
        "x".repeat(101),
    ] {
        let res = post(
            &d.app,
            &s,
            &form(&bad, "someone@riverside.example", "Hello there."),
        )
        .await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["author_name"], "{bad:?}: {p}");
    }
}

#[tokio::test]
async fn bodies_hold_up_to_ten_thousand_characters() {
    let d = desk().await;
    let a = published(&d, "Quarry expansion hearing").await;
    let s = slug(&a);

    // Two bytes each: the limit counts characters, not bytes.
    let c = submit(
        &d.app,
        &s,
        &form("Osei Brandt", "osei@riverside.example", &"é".repeat(10_000)),
    )
    .await;
    let m = moderator_view(&d, c).await;
    assert_eq!(m["body_markdown"].as_str().unwrap().chars().count(), 10_000);

    for bad in ["".to_string(), " \n\t ".to_string(), "é".repeat(10_001)] {
        let res = post(
            &d.app,
            &s,
            &form("Osei Brandt", "osei2@riverside.example", &bad),
        )
        .await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            error_fields(&p),
            vec!["body"],
            "body of {} chars",
            bad.len()
        );
    }
}

#[tokio::test]
async fn author_emails_must_be_valid_addresses() {
    let d = desk().await;
    let a = published(&d, "Riverside path reopens").await;
    let s = slug(&a);
    for (i, good) in [
        "first.last+news@sub.riverside.example",
        "o'neill@riverside.example",
    ]
    .into_iter()
    .enumerate()
    {
        submit(
            &d.app,
            &s,
            &form("Reader", good, &format!("Path looks great ({i})")),
        )
        .await;
    }
    for bad in [
        "",
        "plainaddress",
        "@riverside.example",
        "reader@",
        "two words@riverside.example",
        "reader@@riverside.example",
        "Reader <reader@riverside.example>",
    ] {
        let res = post(&d.app, &s, &form("Reader", bad, "Nice path.")).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["author_email"], "{bad:?}: {p}");
    }
}

#[tokio::test]
async fn author_urls_must_be_http_or_https() {
    let d = desk().await;
    let a = published(&d, "Community radio licence renewed").await;
    let s = slug(&a);
    for (i, good) in ["http://tomasz.example", "https://tomasz.example/about?x=1"]
        .into_iter()
        .enumerate()
    {
        let mut body = sample(i);
        body["author_url"] = json!(good);
        let c = approved(&d, &s, &body).await;
        assert_eq!(shown(&d.app, &s, c).await["author_url"], good);
    }
    // Without one, the thread says null.
    let c = approved(&d, &s, &sample(7)).await;
    assert_eq!(shown(&d.app, &s, c).await["author_url"], Value::Null);

    for bad in [
        "javascript:alert(1)",
        "ftp://tomasz.example",
        "data:text/html,hi",
        "tomasz.example",
        "not a url",
    ] {
        let mut body = sample(9);
        body["author_url"] = json!(bad);
        let res = post(&d.app, &s, &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["author_url"], "{bad:?}: {p}");
    }
}

#[tokio::test]
async fn a_reply_needs_an_approved_parent_on_the_same_article() {
    let d = desk().await;
    let a = published(&d, "School crossing patrol returns").await;
    let b = published(&d, "Swimming pool prices rise").await;
    let (sa, sb) = (slug(&a), slug(&b));
    let parent = approved(&d, &sa, &sample(0)).await;
    let pending = submit(&d.app, &sa, &sample(1)).await;
    let rejected = submit(&d.app, &sa, &sample(2)).await;
    set_status(&d, rejected, "rejected").await;
    let spam = submit(&d.app, &sa, &sample(3)).await;
    set_status(&d, spam, "spam").await;
    let elsewhere = approved(&d, &sb, &sample(4)).await;

    for (bad, what) in [
        (pending, "a pending parent"),
        (rejected, "a rejected parent"),
        (spam, "a spam parent"),
        (elsewhere, "a parent on another article"),
        (999_999, "an unknown parent"),
    ] {
        let res = post(&d.app, &sa, &sample_reply(bad, 10)).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&p), vec!["parent_id"], "{what}: {p}");
    }

    let r = submit(&d.app, &sa, &sample_reply(parent, 10)).await;
    let m = moderator_view(&d, r).await;
    assert_eq!(m["parent_id"], parent);
    assert_eq!(m["depth"], 1);
}

#[tokio::test]
async fn unknown_fields_in_the_comment_form_are_refused() {
    let d = desk().await;
    let a = published(&d, "Town twinning visit").await;
    let s = slug(&a);
    for (key, value) in [
        ("status", json!("approved")),
        ("rating", json!(5)),
        ("ip_address", json!("10.0.0.1")),
    ] {
        let mut body = sample(1);
        body[key] = value;
        let res = post(&d.app, &s, &body).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let res = post(&d.app, &s, &json!({})).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        stats(&d).await,
        json!({"pending": 0, "approved": 0, "rejected": 0, "spam": 0})
    );
}

#[tokio::test]
async fn comments_on_unknown_or_unpublished_articles_are_404() {
    let d = desk().await;
    let draft = new_article(&d, json!({"title": "Unfinished council budget piece"})).await;
    let future = new_article(
        &d,
        json!({"title": "Embargoed election results", "status": "scheduled",
               "published_at": at(Duration::days(2))}),
    )
    .await;
    for s in [
        slug(&draft),
        slug(&future),
        "no-such-article-here".to_string(),
    ] {
        let res = post(&d.app, &s, &sample(1)).await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
        let res = d.app.get(&comments_of(&s), None).await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(stats(&d).await["pending"], 0);
}

#[tokio::test]
async fn an_article_scheduled_in_the_past_takes_comments() {
    let d = desk().await;
    let a = new_article(
        &d,
        json!({"title": "Lantern festival route", "status": "scheduled",
               "published_at": at(-Duration::minutes(5))}),
    )
    .await;
    let c = approved(&d, &slug(&a), &sample(2)).await;
    assert_eq!(thread_ids(&d.app, &slug(&a)).await, vec![c]);
}

#[tokio::test]
async fn an_article_with_comments_closed_answers_403() {
    let d = desk().await;
    let a = new_article(
        &d,
        json!({"title": "Obituary: the harbour master", "status": "published",
               "published_at": at(-Duration::hours(2)), "comments_enabled": false}),
    )
    .await;
    let res = post(&d.app, &slug(&a), &sample(1)).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(stats(&d).await["pending"], 0);
}

// ---------------------------------------------------------------------------------------------
// Duplicates
// ---------------------------------------------------------------------------------------------

/// The answer to a post, as bytes the poster could compare, with the id taken out.
async fn answer_without_id(app: &TestApp, slug: &str, body: &Value) -> (StatusCode, Value, i64) {
    let res = post(app, slug, body).await;
    let status = res.status();
    let mut answer: Value = res.json().await.unwrap();
    let id = answer["id"].as_i64().expect("an id");
    answer["id"] = json!(0);
    (status, answer, id)
}

#[tokio::test]
async fn the_same_email_and_body_again_is_answered_like_a_new_comment_and_filed_as_spam() {
    let d = desk().await;
    let a = published(&d, "Cycle lane consultation").await;
    let s = slug(&a);
    let text = "Please keep the cycle lane on the bridge side.";
    let (status, new_answer, first) = answer_without_id(
        &d.app,
        &s,
        &form("Ines Holloway", "ines@riverside.example", text),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // While the first is pending, and again once it is approved; the e-mail's case does not
    // matter. Each answer is the one a new comment gets, with a new id: nothing tells the poster
    // (who may have typed someone else's address) that this e-mail wrote this comment.
    let mut last = first;
    for email in ["ines@riverside.example", "INES@Riverside.Example"] {
        let (status, answer, id) =
            answer_without_id(&d.app, &s, &form("Ines H.", email, text)).await;
        assert_eq!((status, &answer), (StatusCode::ACCEPTED, &new_answer));
        assert!(id > last, "a fresh id: {id} after {last}");
        last = id;
        assert_eq!(status_of(&d, id).await, "spam");
    }
    approve(&d, first).await;
    let (status, answer, id) = answer_without_id(
        &d.app,
        &s,
        &form("Ines Holloway", "Ines@riverside.example", text),
    )
    .await;
    assert_eq!((status, &answer), (StatusCode::ACCEPTED, &new_answer));
    assert_eq!(status_of(&d, id).await, "spam");
    // Readers see the comment once.
    assert_eq!(thread_ids(&d.app, &s).await, vec![first]);
    assert_eq!(
        stats(&d).await,
        json!({"pending": 0, "approved": 1, "rejected": 0, "spam": 3})
    );
}

#[tokio::test]
async fn a_repeat_of_a_comment_filed_as_spam_is_filed_as_spam_too() {
    let d = desk().await;
    let a = published(&d, "Harbour wall repairs").await;
    let s = slug(&a);
    let mut body = form(
        "Sven Ardal",
        "sven@seaview.example",
        "The wall by slipway two is crumbling.",
    );
    body["website"] = json!("https://seaview.example");
    let first = submit(&d.app, &s, &body).await;
    assert_eq!(status_of(&d, first).await, "spam");

    let plain = form(
        "Sven Ardal",
        "sven@seaview.example",
        "The wall by slipway two is crumbling.",
    );
    let again = submit(&d.app, &s, &plain).await;
    assert_eq!(status_of(&d, again).await, "spam");
    assert_eq!(stats(&d).await["pending"], 0);
}

#[tokio::test]
async fn the_same_text_elsewhere_or_by_someone_else_is_not_a_duplicate() {
    let d = desk().await;
    let a = published(&d, "Library extends Sunday hours").await;
    let b = published(&d, "Library cafe reopens").await;
    let text = "Wonderful news for families.";
    submit(
        &d.app,
        &slug(&a),
        &form("Rhys Okonkwo", "rhys@riverside.example", text),
    )
    .await;
    // Another article, another person, another text: all new comments.
    submit(
        &d.app,
        &slug(&b),
        &form("Rhys Okonkwo", "rhys@riverside.example", text),
    )
    .await;
    submit(
        &d.app,
        &slug(&a),
        &form("Ada Rhys", "ada@riverside.example", text),
    )
    .await;
    submit(
        &d.app,
        &slug(&a),
        &form(
            "Rhys Okonkwo",
            "rhys@riverside.example",
            "Wonderful news for families!",
        ),
    )
    .await;
    assert_eq!(stats(&d).await["pending"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_simultaneous_identical_posts_both_get_202_and_one_waits_for_a_moderator() {
    let d = desk().await;
    let a = published(&d, "Level crossing closure").await;
    let s = slug(&a);
    let rounds = 5;
    for round in 0..rounds {
        let body = form(
            "Pim Okafor",
            &format!("pim{round}@harbour.example"),
            "Sent twice by a nervous double click on a slow phone.",
        );
        let (r1, r2) = tokio::join!(post(&d.app, &s, &body), post(&d.app, &s, &body));
        assert_eq!(
            (r1.status(), r2.status()),
            (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
            "round {round}"
        );
    }
    let page = queue(&d, "?status=pending&limit=100").await;
    assert_eq!(ids_of(&page).len(), rounds, "{page}");
    assert_eq!(stats(&d).await["pending"], rounds);
    assert_eq!(stats(&d).await["spam"], rounds);
}

// ---------------------------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------------------------

/// Asserts a 429 problem with an integer `Retry-After` in 1..=`window`, returns it.
async fn assert_rate_limited(res: Response, window: u64) -> u64 {
    let retry = header(&res, "retry-after").expect("a Retry-After header on 429");
    let secs: u64 = retry
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After {retry:?} is not whole seconds"));
    assert!(
        (1..=window).contains(&secs),
        "Retry-After {secs} outside 1..={window}"
    );
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    secs
}

#[tokio::test]
async fn too_many_comments_from_one_client_are_429_with_retry_after() {
    let d = desk_with(|c| c.comment_rate = 2).await;
    let a = published(&d, "Ferry fares frozen").await;
    let b = published(&d, "Ferry crew strike averted").await;
    // The limit is per client, not per article.
    submit(&d.app, &slug(&a), &sample(1)).await;
    submit(&d.app, &slug(&b), &sample(2)).await;
    let res = post(&d.app, &slug(&a), &sample(3)).await;
    assert_rate_limited(res, 60).await;
    assert_eq!(stats(&d).await["pending"], 2);
}

#[tokio::test]
async fn a_rate_of_zero_means_no_limit() {
    let d = desk_with(|c| c.comment_rate = 0).await;
    let a = published(&d, "Carnival parade route").await;
    for n in 0..15 {
        submit(&d.app, &slug(&a), &sample(n)).await;
    }
    assert_eq!(stats(&d).await["pending"], 15);
}

#[tokio::test]
async fn the_limit_lifts_when_the_window_has_passed() {
    let d = desk_with(|c| {
        c.comment_rate = 1;
        c.comment_window_secs = 1;
    })
    .await;
    let a = published(&d, "Beach clean-up on Saturday").await;
    let s = slug(&a);
    submit(&d.app, &s, &sample(1)).await;
    let secs = assert_rate_limited(post(&d.app, &s, &sample(2)).await, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(secs * 1000 + 200)).await;
    submit(&d.app, &s, &sample(3)).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_is_a_client() {
    let d = desk_with(|c| {
        c.comment_rate = 1;
        c.trust_proxy = true;
    })
    .await;
    let a = published(&d, "Fishing quota protest").await;
    let s = slug(&a);
    let first = post_forwarded(&d.app, &s, &sample(1), "203.0.113.5").await;
    let (answer, _) = expect(first, StatusCode::ACCEPTED, "first client").await;
    let res = post_forwarded(&d.app, &s, &sample(2), "198.51.100.23").await;
    expect(res, StatusCode::ACCEPTED, "second client").await;
    // The first address is the client, whatever proxies follow it.
    let res = post_forwarded(&d.app, &s, &sample(3), "203.0.113.5, 10.0.0.1").await;
    assert_rate_limited(res, 60).await;

    assert_eq!(
        moderator_view(&d, id(&answer)).await["ip_address"],
        "203.0.113.5"
    );
}

#[tokio::test]
async fn without_trust_proxy_x_forwarded_for_is_ignored() {
    let d = desk_with(|c| c.comment_rate = 1).await;
    let a = published(&d, "Fishing quota vote").await;
    let s = slug(&a);
    let first = post_forwarded(&d.app, &s, &sample(1), "203.0.113.5").await;
    let (answer, _) = expect(first, StatusCode::ACCEPTED, "first post").await;
    let res = post_forwarded(&d.app, &s, &sample(2), "198.51.100.23").await;
    assert_rate_limited(res, 60).await;
    assert_eq!(
        moderator_view(&d, id(&answer)).await["ip_address"],
        "127.0.0.1"
    );
}

// ---------------------------------------------------------------------------------------------
// Spam heuristics
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_filled_honeypot_files_the_comment_as_spam_with_the_usual_answer() {
    let d = desk().await;
    let a = published(&d, "Lighthouse open day").await;
    let s = slug(&a);
    let mut body = sample(1);
    body["website"] = json!("http://cheap-pills.example");
    let spam = submit(&d.app, &s, &body).await;
    let mut blank = sample(2);
    blank["website"] = json!("");
    let clean = submit(&d.app, &s, &blank).await;

    assert_eq!(status_of(&d, spam).await, "spam");
    assert_eq!(status_of(&d, clean).await, "pending");
    assert_eq!(ids_of(&queue(&d, "?status=spam").await), vec![spam]);
    assert_eq!(ids_of(&queue(&d, "?status=pending").await), vec![clean]);
    assert_eq!(thread_ids(&d.app, &s).await, Vec::<i64>::new());
}

#[tokio::test]
async fn more_links_than_allowed_file_a_comment_as_spam() {
    let d = desk().await;
    let a = published(&d, "New bus shelters installed").await;
    let s = slug(&a);
    let three = "See [one](https://a.example), https://b.example and <https://c.example>.";
    let four = "See [one](https://a.example), https://b.example, <https://c.example> \
                and [four](http://d.example).";
    let ok = submit(
        &d.app,
        &s,
        &form("Link Fan", "links@riverside.example", three),
    )
    .await;
    let spam = submit(
        &d.app,
        &s,
        &form("Link Fan", "links@riverside.example", four),
    )
    .await;
    assert_eq!(status_of(&d, ok).await, "pending");
    assert_eq!(status_of(&d, spam).await, "spam");
}

#[tokio::test]
async fn spam_keywords_match_whole_words_in_any_case() {
    let d = desk_with(|c| c.spam_keywords = vec!["casino".into(), "free money".into()]).await;
    let a = published(&d, "Pier arcade planning row").await;
    let s = slug(&a);
    let mut spam = Vec::new();
    for (n, text) in [
        "Best CASINO on the coast, visit now",
        "Claim your Free Money today!",
    ]
    .into_iter()
    .enumerate()
    {
        spam.push(
            submit(
                &d.app,
                &s,
                &form("Promo", &format!("p{n}@ads.example"), text),
            )
            .await,
        );
    }
    let mut clean = Vec::new();
    for (n, text) in [
        "The old casinos on the pier closed in the nineties.",
        "The Casinoland sign is coming down; free parking, money well spent.",
    ]
    .into_iter()
    .enumerate()
    {
        clean.push(
            submit(
                &d.app,
                &s,
                &form("Local", &format!("l{n}@riverside.example"), text),
            )
            .await,
        );
    }
    for c in spam {
        assert_eq!(status_of(&d, c).await, "spam", "comment {c}");
    }
    for c in clean {
        assert_eq!(status_of(&d, c).await, "pending", "comment {c}");
    }
}

// ---------------------------------------------------------------------------------------------
// The public thread
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_thread_lists_approved_comments_in_thread_order() {
    let d = desk().await;
    let art = published(&d, "Old cinema to become arts centre").await;
    let s = slug(&art);
    let a = approved(&d, &s, &sample(0)).await;
    let b = approved(&d, &s, &sample(1)).await;
    let a1 = approved(&d, &s, &sample_reply(a, 2)).await;
    let a1x = approved(&d, &s, &sample_reply(a1, 3)).await;
    let a2 = approved(&d, &s, &sample_reply(a, 4)).await;
    let c = approved(&d, &s, &sample(5)).await;
    let b1 = approved(&d, &s, &sample_reply(b, 6)).await;
    // Pending ones are not shown.
    submit(&d.app, &s, &sample(7)).await;
    submit(&d.app, &s, &sample_reply(a, 8)).await;

    assert_eq!(
        shape(&d.app, &s).await,
        vec![
            (a, None, 0),
            (a1, Some(a), 1),
            (a1x, Some(a1), 2),
            (a2, Some(a), 1),
            (b, None, 0),
            (b1, Some(b), 1),
            (c, None, 0),
        ]
    );

    let page = thread(&d.app, &s).await;
    let first = &items(&page)[0];
    assert_eq!(keys(first), sorted(&THREAD_ITEM_KEYS), "{first}");
    assert_eq!(first["author_name"], NAMES[0]);
    assert!(first["body_html"]
        .as_str()
        .unwrap()
        .contains("The 7:40 ferry"));
    parse_time(&first["created_at"]);
    assert_eq!(page["page"]["next_cursor"], Value::Null);
}

#[tokio::test]
async fn replies_under_a_hidden_comment_are_hidden_too() {
    let d = desk().await;
    let art = published(&d, "Harbour dredging plans").await;
    let s = slug(&art);
    let a = approved(&d, &s, &sample(0)).await;
    let r = approved(&d, &s, &sample_reply(a, 1)).await;
    let rr = approved(&d, &s, &sample_reply(r, 2)).await;
    let other = approved(&d, &s, &sample(3)).await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![a, r, rr, other]);

    set_status(&d, r, "rejected").await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![a, other]);
    set_status(&d, r, "approved").await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![a, r, rr, other]);
    set_status(&d, a, "spam").await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![other]);
    assert_eq!(read_article(&d.app, &s).await["comment_count"], 1);
}

#[tokio::test]
async fn the_thread_pages_with_cursors_and_link_headers() {
    let d = desk().await;
    let art = published(&d, "Marathon road closures").await;
    let s = slug(&art);
    let mut top = Vec::new();
    for n in 0..22 {
        top.push(submit(&d.app, &s, &sample(n)).await);
    }
    moderate(&d, &top, "approve").await;
    let mut replies = Vec::new();
    for (n, parent) in top.iter().take(3).enumerate() {
        replies.push(submit(&d.app, &s, &sample_reply(*parent, 100 + n)).await);
    }
    moderate(&d, &replies, "approve").await;

    let res = d.app.get(&comments_of(&s), None).await;
    let link = header(&res, "link");
    let (first, _) = expect(res, StatusCode::OK, "the default page").await;
    assert_eq!(first["page"]["limit"], 20);
    assert_eq!(items(&first).len(), 20);
    assert!(first["page"]["next_cursor"].is_string(), "{first}");
    assert!(link.is_some_and(|l| l.ends_with("; rel=\"next\"")));

    let all = thread_ids(&d.app, &s).await;
    assert_eq!(all.len(), 25);
    let mut expected = Vec::new();
    for (i, t) in top.iter().enumerate() {
        expected.push(*t);
        if i < 3 {
            expected.push(replies[i]);
        }
    }
    assert_eq!(all, expected);
    assert_eq!(
        walk(&d.app, None, &format!("{}?limit=4", comments_of(&s))).await,
        all
    );

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?cursor=garbage", "cursor"),
    ] {
        let res = d
            .app
            .get(&format!("{}{query}", comments_of(&s)), None)
            .await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_names(&p, field, query);
    }
}

#[tokio::test]
async fn the_thread_is_cacheable_and_its_etag_follows_moderation() {
    let d = desk().await;
    let art = published(&d, "Sea swimming season opens").await;
    let s = slug(&art);
    let path = comments_of(&s);

    let res = d.app.get(&path, None).await;
    let cache = header(&res, "cache-control").expect("a Cache-Control header");
    assert!(cache.starts_with("public"), "{cache}");
    let (_, tag) = expect(res, StatusCode::OK, "empty thread").await;
    let tag0 = tag.expect("an ETag");
    let res = get_if_none_match(&d.app, &path, &tag0).await;
    expect(res, StatusCode::NOT_MODIFIED, "unchanged thread").await;

    let c1 = submit(&d.app, &s, &sample(1)).await;
    approve(&d, c1).await;
    let (_, tag1) = thread_tagged(&d.app, &s, "").await;
    assert_ne!(tag1, tag0, "approving changes the ETag");
    let res = get_if_none_match(&d.app, &path, &tag0).await;
    expect(res, StatusCode::OK, "a stale ETag gets the thread").await;
    let res = get_if_none_match(&d.app, &path, &tag1).await;
    expect(res, StatusCode::NOT_MODIFIED, "the current ETag").await;

    let c2 = approved(&d, &s, &sample(2)).await;
    let (_, tag2) = thread_tagged(&d.app, &s, "").await;
    assert_ne!(tag2, tag1, "approving changes the ETag");

    set_status(&d, c1, "rejected").await;
    let (_, tag3) = thread_tagged(&d.app, &s, "").await;
    assert_ne!(tag3, tag2, "rejecting changes the ETag");

    expect(
        delete_comment(&d, c2).await,
        StatusCode::NO_CONTENT,
        "delete",
    )
    .await;
    let (_, tag4) = thread_tagged(&d.app, &s, "").await;
    assert_ne!(tag4, tag3, "deleting changes the ETag");
    let res = get_if_none_match(&d.app, &path, &tag3).await;
    expect(res, StatusCode::OK, "after a delete").await;
}

#[tokio::test]
async fn comment_count_counts_what_the_thread_shows() {
    let d = desk().await;
    let art = published(&d, "Rail station step-free access").await;
    let s = slug(&art);
    let a = approved(&d, &s, &sample(0)).await;
    let r = approved(&d, &s, &sample_reply(a, 1)).await;
    approved(&d, &s, &sample_reply(r, 2)).await;
    submit(&d.app, &s, &sample(3)).await;

    async fn counts(app: &TestApp, slug: &str) -> (Value, Value, usize) {
        (
            read_article(app, slug).await["comment_count"].clone(),
            listed_article(app, slug).await["comment_count"].clone(),
            thread_ids(app, slug).await.len(),
        )
    }
    assert_eq!(counts(&d.app, &s).await, (json!(3), json!(3), 3));
    set_status(&d, r, "rejected").await;
    assert_eq!(counts(&d.app, &s).await, (json!(1), json!(1), 1));
    set_status(&d, r, "approved").await;
    assert_eq!(counts(&d.app, &s).await, (json!(3), json!(3), 3));
    set_status(&d, a, "spam").await;
    assert_eq!(counts(&d.app, &s).await, (json!(0), json!(0), 0));
    // Deleting the spam moves its reply up, and the reply branch is shown again.
    expect(
        delete_comment(&d, a).await,
        StatusCode::NO_CONTENT,
        "delete",
    )
    .await;
    assert_eq!(counts(&d.app, &s).await, (json!(2), json!(2), 2));
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn comment_markdown_is_rendered_to_a_small_safe_subset() {
    let d = desk().await;
    let art = published(&d, "Ferry timetable: what changes").await;
    let s = slug(&art);
    let text = "Thanks for the *clear* write-up and the **timetable**.\n\n\
                > The ferry will run every 40 minutes.\n\n\
                - weekday mornings\n\
                - Saturday evenings\n\n\
                Check `route 7` on [the council page](https://council.example/ferries).";
    let c = approved(&d, &s, &form("Maren Tuck", "maren@riverside.example", text)).await;
    let item = shown(&d.app, &s, c).await;
    let html = item["body_html"].as_str().unwrap();
    for fragment in [
        "<em>clear</em>",
        "<strong>timetable</strong>",
        "<blockquote>",
        "<ul>",
        "<li>weekday mornings</li>",
        "<code>route 7</code>",
        "the council page</a>",
    ] {
        assert!(html.contains(fragment), "{fragment:?} missing from {html}");
    }
    let links: Vec<String> = tags(html)
        .into_iter()
        .filter(|t| t.starts_with("<a "))
        .collect();
    assert_eq!(links.len(), 1, "{html}");
    assert!(
        links[0].contains("href=\"https://council.example/ferries\""),
        "{}",
        links[0]
    );
    assert!(
        links[0].contains("rel=\"nofollow ugc noopener\""),
        "{}",
        links[0]
    );

    let m = moderator_view(&d, c).await;
    assert_eq!(m["body_markdown"], text);
    assert_eq!(m["body_html"], item["body_html"]);
}

#[tokio::test]
async fn raw_html_and_javascript_links_never_reach_readers() {
    let d = desk().await;
    let art = published(&d, "Pier lights switched on").await;
    let s = slug(&art);
    let text = "Hello <script>alert('x')</script> neighbours.\n\n\
                <img src=x onerror=alert(1)>\n\n\
                [click me](javascript:alert(1)) or <a href=\"javascript:alert(2)\">this</a>.\n\n\
                <div onclick=\"alert(3)\" style=\"position:fixed\">overlay</div>\n\n\
                ![pixel](https://tracker.example/p.gif)";
    let c = approved(&d, &s, &form("Mallory", "mallory@riverside.example", text)).await;
    let html = shown(&d.app, &s, c).await["body_html"]
        .as_str()
        .unwrap()
        .to_string();
    for tag in tags(&html) {
        for bad in [
            "<script",
            "<img",
            "<div",
            "onerror",
            "onclick",
            "style=",
            "javascript:",
        ] {
            assert!(!tag.contains(bad), "{bad:?} survived in {tag:?} of {html}");
        }
    }
    assert!(html.contains("neighbours"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Moderation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn only_moderators_and_admins_reach_the_moderation_api() {
    let d = desk().await;
    let admin = d.app.token_for("root", Role::Admin).await;
    let art = published(&d, "Council tax bands explained").await;
    let c = submit(&d.app, &slug(&art), &sample(1)).await;
    let patch = json!({"status": "approved"});
    let bulk_body = json!({"ids": [c], "action": "approve"});
    let entry = json!({"kind": "email", "value": "troll@riverside.example"});
    let routes: Vec<(Method, String, Option<&Value>)> = vec![
        (Method::GET, format!("{COMMENTS}?status=pending"), None),
        (Method::GET, format!("{COMMENTS}/stats"), None),
        (Method::GET, comment_path(c), None),
        (Method::PATCH, comment_path(c), Some(&patch)),
        (
            Method::POST,
            format!("{COMMENTS}/moderate"),
            Some(&bulk_body),
        ),
        (Method::DELETE, comment_path(c), None),
        (Method::GET, BLOCKLIST.to_string(), None),
        (Method::POST, BLOCKLIST.to_string(), Some(&entry)),
        (Method::DELETE, format!("{BLOCKLIST}/1"), None),
    ];
    for (method, path, body) in &routes {
        let what = format!("{method} {path}");
        let res = send(&d.app, method.clone(), path, Some(&d.editor), *body).await;
        let got = res.status();
        assert_eq!(got, StatusCode::FORBIDDEN, "editor: {what}");
        assert_problem(res, StatusCode::FORBIDDEN).await;
        let res = send(&d.app, method.clone(), path, None, *body).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "anonymous: {what}");
        assert_problem(res, StatusCode::UNAUTHORIZED).await;
    }
    // Nothing changed, and an admin may do it all.
    assert_eq!(status_of(&d, c).await, "pending");
    let expected = [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::NO_CONTENT,
        StatusCode::OK,
        StatusCode::CREATED,
    ];
    for ((method, path, body), status) in routes.iter().zip(expected) {
        let res = send(&d.app, method.clone(), path, Some(&admin), *body).await;
        expect(res, status, &format!("admin: {method} {path}")).await;
    }
}

#[tokio::test]
async fn the_queue_filters_by_status_and_article_newest_first() {
    let d = desk().await;
    let a = published(&d, "Tidal energy pilot").await;
    let b = published(&d, "Tidal energy pilot: the cost").await;
    let (sa, sb) = (slug(&a), slug(&b));
    let a1 = submit(&d.app, &sa, &sample(1)).await;
    let b1 = submit(&d.app, &sb, &sample(2)).await;
    let a2 = submit(&d.app, &sa, &sample(3)).await;
    let a3 = submit(&d.app, &sa, &sample(4)).await;
    let b2 = submit(&d.app, &sb, &sample(5)).await;
    let a4 = submit(&d.app, &sa, &sample(6)).await;
    approve(&d, a2).await;
    set_status(&d, a3, "rejected").await;
    set_status(&d, b2, "spam").await;

    assert_eq!(
        ids_of(&queue(&d, "?status=pending").await),
        vec![a4, b1, a1]
    );
    assert_eq!(
        ids_of(&queue(&d, &format!("?status=pending&article={sa}")).await),
        vec![a4, a1]
    );
    assert_eq!(ids_of(&queue(&d, "?status=approved").await), vec![a2]);
    assert_eq!(ids_of(&queue(&d, "?status=rejected").await), vec![a3]);
    assert_eq!(
        ids_of(&queue(&d, &format!("?status=spam&article={sb}")).await),
        vec![b2]
    );
    assert_eq!(
        ids_of(&queue(&d, &format!("?status=spam&article={sa}")).await),
        Vec::<i64>::new()
    );
    let page = queue(&d, "?status=approved").await;
    assert_eq!(items(&page)[0]["status"], "approved");
    assert_eq!(items(&page)[0]["article"]["slug"], sa.as_str());
}

#[tokio::test]
async fn a_bad_queue_status_is_a_400_naming_it() {
    let d = desk().await;
    for bad in ["published", "PENDING", "deleted"] {
        let res = d
            .app
            .get(&format!("{COMMENTS}?status={bad}"), Some(&d.moderator))
            .await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_names(&p, "status", bad);
    }
}

#[tokio::test]
async fn the_queue_pages_with_cursors() {
    let d = desk().await;
    let art = published(&d, "Seafront parking charges").await;
    let s = slug(&art);
    let mut posted = Vec::new();
    for n in 0..7 {
        posted.push(submit(&d.app, &s, &sample(n)).await);
    }
    let page = queue(&d, "?status=pending").await;
    assert_eq!(page["page"]["limit"], 20);
    posted.reverse();
    assert_eq!(ids_of(&page), posted);
    let walked = walk(
        &d.app,
        Some(&d.moderator),
        &format!("{COMMENTS}?status=pending&limit=3"),
    )
    .await;
    assert_eq!(walked, posted);
    for (query, field) in [("?limit=0", "limit"), ("?limit=101", "limit")] {
        let res = d
            .app
            .get(&format!("{COMMENTS}{query}"), Some(&d.moderator))
            .await;
        let p = assert_problem(res, StatusCode::BAD_REQUEST).await;
        assert_names(&p, field, query);
    }
}

#[tokio::test]
async fn one_comment_is_read_by_id_and_unknown_ids_are_404() {
    let d = desk().await;
    let art = published(&d, "Harbour seal spotted").await;
    let c = submit(&d.app, &slug(&art), &sample(4)).await;
    let m = moderator_view(&d, c).await;
    assert_eq!(m["id"], c);
    assert_eq!(m["author_email"], "reader4@riverside.example");
    let res = d.app.get(&comment_path(999_999), Some(&d.moderator)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn patching_a_comment_records_the_moderator_the_note_and_the_history() {
    let d = desk().await;
    let art = published(&d, "Fish market relocation").await;
    let c = submit(&d.app, &slug(&art), &sample(1)).await;
    let before = Utc::now() - Duration::seconds(2);
    let res = patch_comment(
        &d,
        c,
        &json!({"status": "approved", "moderation_note": "Checked the facts."}),
    )
    .await;
    let (m, _) = expect(res, StatusCode::OK, "approve with a note").await;
    let after = Utc::now() + Duration::seconds(2);

    assert_eq!(keys(&m), sorted(&MODERATOR_KEYS), "{m}");
    assert_eq!(m["status"], "approved");
    assert_eq!(m["moderated_by"], moderator_ref(&d));
    let when = parse_time(&m["moderated_at"]);
    assert!(before <= when && when <= after, "moderated_at {when}");
    assert_eq!(m["moderation_note"], "Checked the facts.");
    let history = m["history"].as_array().expect("a history array");
    assert_eq!(history.len(), 1, "{m}");
    let entry = &history[0];
    assert_eq!(keys(entry), sorted(&HISTORY_KEYS), "{entry}");
    assert_eq!(entry["from_status"], "pending");
    assert_eq!(entry["to_status"], "approved");
    assert_eq!(entry["moderator"], moderator_ref(&d));
    assert_eq!(entry["note"], "Checked the facts.");
    parse_time(&entry["created_at"]);
    assert_eq!(moderator_view(&d, c).await, m);

    // A second decision adds to the history; the first entry stays.
    let m = set_status(&d, c, "rejected").await;
    let history = m["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{m}");
    assert!(history.iter().any(|e| e["from_status"] == "pending"
        && e["to_status"] == "approved"
        && e["note"] == "Checked the facts."));
    assert!(history
        .iter()
        .any(|e| e["from_status"] == "approved" && e["to_status"] == "rejected"));
}

#[tokio::test]
async fn a_bad_patch_is_a_422_naming_status_and_an_unknown_comment_is_404() {
    let d = desk().await;
    let art = published(&d, "Fish market hours").await;
    let c = submit(&d.app, &slug(&art), &sample(1)).await;
    for body in [
        json!({"status": "published"}),
        json!({"status": "deleted"}),
        json!({"status": 3}),
        json!({"moderation_note": "No status given."}),
    ] {
        let res = patch_comment(&d, c, &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names(&p, "status", &body.to_string());
    }
    assert_eq!(status_of(&d, c).await, "pending");
    let res = patch_comment(&d, 999_999, &json!({"status": "approved"})).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bulk_moderation_answers_per_id_in_the_order_given() {
    let d = desk().await;
    let art = published(&d, "Ferry terminal canopy").await;
    let s = slug(&art);
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(submit(&d.app, &s, &sample(n)).await);
    }
    let order = vec![ids[2], ids[0], ids[3]];
    let body = json!({"ids": order, "action": "approve", "moderation_note": "Batch of Tuesday."});
    let res = bulk(&d, &body).await;
    let (answer, _) = expect(res, StatusCode::OK, "bulk approve").await;
    let expected: Vec<Value> = order
        .iter()
        .map(|i| json!({"id": i, "status": "approved"}))
        .collect();
    assert_eq!(answer, json!({ "results": expected }));

    for c in &order {
        let m = moderator_view(&d, *c).await;
        assert_eq!(m["status"], "approved");
        assert_eq!(m["moderated_by"], moderator_ref(&d));
        assert_eq!(m["moderation_note"], "Batch of Tuesday.");
        let h = m["history"].as_array().unwrap();
        assert_eq!(h.len(), 1, "{m}");
        assert_eq!(h[0]["to_status"], "approved");
        assert_eq!(h[0]["note"], "Batch of Tuesday.");
    }
    assert_eq!(status_of(&d, ids[1]).await, "pending");

    let results = moderate(&d, &[ids[1], ids[0]], "reject").await;
    assert_eq!(
        results,
        vec![
            json!({"id": ids[1], "status": "rejected"}),
            json!({"id": ids[0], "status": "rejected"})
        ]
    );
    let results = moderate(&d, &[ids[3]], "spam").await;
    assert_eq!(results, vec![json!({"id": ids[3], "status": "spam"})]);
    assert_eq!(
        stats(&d).await,
        json!({"pending": 0, "approved": 1, "rejected": 2, "spam": 1})
    );
}

#[tokio::test]
async fn bulk_delete_answers_deleted_and_removes_the_comments() {
    let d = desk().await;
    let art = published(&d, "Lifeboat appeal total").await;
    let s = slug(&art);
    let x = approved(&d, &s, &sample(0)).await;
    let y = submit(&d.app, &s, &sample(1)).await;
    let z = submit(&d.app, &s, &sample(2)).await;
    let results = moderate(&d, &[y, x], "delete").await;
    assert_eq!(
        results,
        vec![
            json!({"id": y, "status": "deleted"}),
            json!({"id": x, "status": "deleted"})
        ]
    );
    for gone in [x, y] {
        let res = d.app.get(&comment_path(gone), Some(&d.moderator)).await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(status_of(&d, z).await, "pending");
    assert_eq!(thread_ids(&d.app, &s).await, Vec::<i64>::new());
    assert_eq!(
        stats(&d).await,
        json!({"pending": 1, "approved": 0, "rejected": 0, "spam": 0})
    );
}

#[tokio::test]
async fn bulk_moderation_is_all_or_nothing() {
    let d = desk().await;
    let art = published(&d, "Allotment water tap stolen").await;
    let s = slug(&art);
    let a = submit(&d.app, &s, &sample(0)).await;
    let b = submit(&d.app, &s, &sample(1)).await;

    for (ids, action, field) in [
        (vec![a, 999_999, b], "approve", "ids[1]"),
        (vec![a, b, a], "delete", "ids[2]"),
        (vec![b, 999_998], "spam", "ids[1]"),
    ] {
        let body = json!({"ids": ids, "action": action});
        let res = bulk(&d, &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names(&p, field, &body.to_string());
        for c in [a, b] {
            let m = moderator_view(&d, c).await;
            assert_eq!(m["status"], "pending", "after {body}");
            assert_eq!(m["history"], json!([]), "after {body}");
        }
    }
    assert_eq!(
        stats(&d).await,
        json!({"pending": 2, "approved": 0, "rejected": 0, "spam": 0})
    );
}

#[tokio::test]
async fn bulk_moderation_checks_the_id_count_and_the_action() {
    let d = desk().await;
    let art = published(&d, "Allotment open day").await;
    let a = submit(&d.app, &slug(&art), &sample(0)).await;

    let none: Vec<i64> = Vec::new();
    let res = bulk(&d, &json!({"ids": none, "action": "approve"})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names(&p, "ids", "no ids");

    let too_many: Vec<i64> = std::iter::once(a).chain(1_000_000..1_000_500).collect();
    assert_eq!(too_many.len(), 501);
    let res = bulk(&d, &json!({"ids": too_many, "action": "approve"})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names(&p, "ids", "501 ids");

    let res = bulk(&d, &json!({"ids": [a], "action": "publish"})).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names(&p, "action", "bad action");
    assert_eq!(status_of(&d, a).await, "pending");
}

#[tokio::test]
async fn a_comment_carries_an_etag_and_a_patch_with_a_stale_if_match_is_412() {
    let d = desk().await;
    let art = published(&d, "Harbour crane removed").await;
    let c = submit(&d.app, &slug(&art), &sample(2)).await;
    let res = d.app.get(&comment_path(c), Some(&d.moderator)).await;
    let (_, tag) = expect(res, StatusCode::OK, "GET comment").await;
    let pending_tag = tag.expect("an ETag on the moderator's view");

    let patch_if = |tag: String, body: Value| {
        let req = d
            .app
            .request(Method::PATCH, &comment_path(c))
            .bearer_auth(&d.moderator)
            .header("If-Match", tag)
            .json(&body);
        async move { req.send().await.expect("request sent") }
    };
    let res = patch_if(pending_tag.clone(), json!({"status": "approved"})).await;
    let (approved, tag) = expect(res, StatusCode::OK, "PATCH with the current ETag").await;
    let approved_tag = tag.expect("an ETag on the PATCH answer");
    assert_ne!(approved_tag, pending_tag, "a decision changes the ETag");
    let res = d.app.get(&comment_path(c), Some(&d.moderator)).await;
    let (_, tag) = expect(res, StatusCode::OK, "GET comment").await;
    assert_eq!(tag.as_deref(), Some(approved_tag.as_str()));

    // The ETag read before the decision is stale now: refused, and nothing changes.
    let res = patch_if(pending_tag.clone(), json!({"status": "spam"})).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(moderator_view(&d, c).await, approved);

    // A new note alone is a moderation step too: it changes the ETag.
    let res = patch_if(
        approved_tag.clone(),
        json!({"status": "approved", "moderation_note": "Source confirmed."}),
    )
    .await;
    let (noted, tag) = expect(res, StatusCode::OK, "PATCH the note").await;
    assert_ne!(tag.as_deref(), Some(approved_tag.as_str()));
    assert_eq!(noted["history"].as_array().map(Vec::len), Some(2));
    let res = patch_if(approved_tag, json!({"status": "rejected"})).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(status_of(&d, c).await, "approved");

    // `If-Match` stays optional; `*` matches any version.
    assert_eq!(set_status(&d, c, "rejected").await["status"], "rejected");
    let res = patch_if("*".into(), json!({"status": "pending"})).await;
    expect(res, StatusCode::OK, "PATCH with If-Match: *").await;
    let res = patch_if("\"nope\"".into(), json!({"status": "approved"})).await;
    assert_problem(res, StatusCode::PRECONDITION_FAILED).await;
    let res = d
        .app
        .request(Method::PATCH, &comment_path(999_999))
        .bearer_auth(&d.moderator)
        .header("If-Match", "*")
        .json(&json!({"status": "approved"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bulk_moderation_with_an_expected_status_is_409_naming_the_comments_that_differ() {
    let d = desk().await;
    let art = published(&d, "Harbour wall repairs").await;
    let s = slug(&art);
    let a = submit(&d.app, &s, &sample(0)).await;
    let b = submit(&d.app, &s, &sample(1)).await;
    let c = submit(&d.app, &s, &sample(2)).await;
    let e = submit(&d.app, &s, &sample(3)).await;
    approve(&d, b).await;
    set_status(&d, e, "spam").await;

    let body = json!({"ids": [a, b, c, e], "action": "reject", "expected_status": "pending"});
    let p = assert_problem(bulk(&d, &body).await, StatusCode::CONFLICT).await;
    assert_eq!(
        p["errors"],
        json!([
            {"field": "ids[1]", "message": format!("{b} is approved, not pending")},
            {"field": "ids[3]", "message": format!("{e} is spam, not pending")},
        ]),
        "{p}"
    );
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("{b}, {e}")), "{detail}");
    // All or nothing: the comments that were pending are untouched.
    for pending in [a, c] {
        let m = moderator_view(&d, pending).await;
        assert_eq!(m["status"], "pending");
        assert_eq!(m["history"], json!([]));
    }
    assert_eq!(status_of(&d, b).await, "approved");
    assert_eq!(status_of(&d, e).await, "spam");

    let body = json!({"ids": [c, a], "action": "reject", "expected_status": "pending"});
    let res = bulk(&d, &body).await;
    let (answer, _) = expect(res, StatusCode::OK, "bulk with a true precondition").await;
    assert_eq!(
        answer,
        json!({"results": [{"id": c, "status": "rejected"}, {"id": a, "status": "rejected"}]})
    );
    let body = json!({"ids": [b], "action": "delete", "expected_status": "approved"});
    let res = bulk(&d, &body).await;
    expect(res, StatusCode::OK, "delete what is still approved").await;

    // A bad expected status, or an unknown id, is a 422 before any state is compared.
    let body = json!({"ids": [a], "action": "approve", "expected_status": "deleted"});
    let p = assert_problem(bulk(&d, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names(&p, "expected_status", "a status that does not exist");
    let body = json!({"ids": [a, 999_999], "action": "approve", "expected_status": "approved"});
    let p = assert_problem(bulk(&d, &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_names(&p, "ids[1]", "an unknown id");
    assert_eq!(status_of(&d, a).await, "rejected");
}

#[tokio::test]
async fn deleting_a_comment_is_204_and_then_404() {
    let d = desk().await;
    let art = published(&d, "Park bandstand restored").await;
    let s = slug(&art);
    let c = approved(&d, &s, &sample(0)).await;
    let keep = approved(&d, &s, &sample(1)).await;
    expect(
        delete_comment(&d, c).await,
        StatusCode::NO_CONTENT,
        "delete",
    )
    .await;
    let res = d.app.get(&comment_path(c), Some(&d.moderator)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    assert_problem(delete_comment(&d, c).await, StatusCode::NOT_FOUND).await;
    assert_problem(delete_comment(&d, 999_999).await, StatusCode::NOT_FOUND).await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![keep]);
    assert_eq!(stats(&d).await["approved"], 1);
}

#[tokio::test]
async fn replies_to_a_deleted_top_level_comment_become_top_level() {
    let d = desk().await;
    let art = published(&d, "Harbour festival fireworks").await;
    let s = slug(&art);
    let x = approved(&d, &s, &sample(0)).await;
    let a = approved(&d, &s, &sample(1)).await;
    let b = approved(&d, &s, &sample_reply(a, 2)).await;
    let c = approved(&d, &s, &sample_reply(b, 3)).await;
    let p = submit(&d.app, &s, &sample_reply(a, 4)).await;
    let y = approved(&d, &s, &sample(5)).await;

    expect(
        delete_comment(&d, a).await,
        StatusCode::NO_CONTENT,
        "delete a",
    )
    .await;
    let mb = moderator_view(&d, b).await;
    assert_eq!(
        (mb["parent_id"].clone(), mb["depth"].clone()),
        (Value::Null, json!(0))
    );
    assert_eq!(mb["status"], "approved");
    let mc = moderator_view(&d, c).await;
    assert_eq!(
        (mc["parent_id"].clone(), mc["depth"].clone()),
        (json!(b), json!(1))
    );
    let mp = moderator_view(&d, p).await;
    assert_eq!(
        (mp["parent_id"].clone(), mp["depth"].clone()),
        (Value::Null, json!(0))
    );
    assert_eq!(mp["status"], "pending");

    assert_eq!(
        shape(&d.app, &s).await,
        vec![(x, None, 0), (b, None, 0), (c, Some(b), 1), (y, None, 0)]
    );
}

#[tokio::test]
async fn replies_to_a_deleted_reply_move_up_to_its_parent() {
    let d = desk().await;
    let art = published(&d, "Harbour festival stalls").await;
    let s = slug(&art);
    let a = approved(&d, &s, &sample(0)).await;
    let b = approved(&d, &s, &sample_reply(a, 1)).await;
    let c = approved(&d, &s, &sample_reply(b, 2)).await;
    let e = approved(&d, &s, &sample_reply(c, 3)).await;
    let p = submit(&d.app, &s, &sample_reply(b, 4)).await;
    // A rejected middle comment hides its branch until it is deleted.
    set_status(&d, b, "rejected").await;
    assert_eq!(thread_ids(&d.app, &s).await, vec![a]);

    expect(
        delete_comment(&d, b).await,
        StatusCode::NO_CONTENT,
        "delete b",
    )
    .await;
    assert_eq!(
        shape(&d.app, &s).await,
        vec![(a, None, 0), (c, Some(a), 1), (e, Some(c), 2)]
    );
    let mp = moderator_view(&d, p).await;
    assert_eq!(mp["parent_id"], a);
    assert_eq!(mp["depth"], 1);
    assert_eq!(mp["status"], "pending");
}

#[tokio::test]
async fn stats_count_comments_by_status() {
    let d = desk().await;
    let art = published(&d, "Coastal path erosion").await;
    let s = slug(&art);
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(submit(&d.app, &s, &sample(n)).await);
    }
    moderate(&d, &ids[0..3], "approve").await;
    moderate(&d, &ids[3..4], "reject").await;
    moderate(&d, &ids[4..5], "spam").await;
    let st = stats(&d).await;
    assert_eq!(
        keys(&st),
        sorted(&["pending", "approved", "rejected", "spam"])
    );
    assert_eq!(
        st,
        json!({"pending": 2, "approved": 3, "rejected": 1, "spam": 1})
    );
}

// ---------------------------------------------------------------------------------------------
// Blocklist
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn moderators_add_list_and_remove_blocklist_entries() {
    let d = desk().await;
    let expires = at(Duration::days(30));
    let e1 = block(
        &d,
        json!({"kind": "email", "value": "troll@riverside.example",
               "note": "Abusive posts on the ferry story", "expires_at": expires}),
    )
    .await;
    assert!(e1["id"].is_i64());
    assert_eq!(e1["kind"], "email");
    assert_eq!(e1["value"], "troll@riverside.example");
    assert_eq!(e1["note"], "Abusive posts on the ferry story");
    assert_eq!(parse_time(&e1["expires_at"]), parse_time(&json!(expires)));
    assert_eq!(e1["created_by"], moderator_ref(&d));
    parse_time(&e1["created_at"]);

    let e2 = block(&d, json!({"kind": "ip", "value": "203.0.113.9"})).await;
    assert_eq!(e2["note"], Value::Null);
    assert_eq!(e2["expires_at"], Value::Null);
    let e3 = block(
        &d,
        json!({"kind": "email_domain", "value": "spam-farm.example"}),
    )
    .await;

    let res = d.app.get(BLOCKLIST, Some(&d.moderator)).await;
    let (page, _) = expect(res, StatusCode::OK, "GET blocklist").await;
    assert_eq!(ids_of(&page), vec![id(&e3), id(&e2), id(&e1)]);
    assert_eq!(items(&page)[2], e1);
    assert_eq!(page["page"]["next_cursor"], Value::Null);

    let path = format!("{BLOCKLIST}/{}", id(&e2));
    let res = send(&d.app, Method::DELETE, &path, Some(&d.moderator), None).await;
    expect(res, StatusCode::NO_CONTENT, "DELETE entry").await;
    let res = send(&d.app, Method::DELETE, &path, Some(&d.moderator), None).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = send(
        &d.app,
        Method::DELETE,
        &format!("{BLOCKLIST}/999999"),
        Some(&d.moderator),
        None,
    )
    .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    let res = d.app.get(BLOCKLIST, Some(&d.moderator)).await;
    let (page, _) = expect(res, StatusCode::OK, "GET blocklist").await;
    assert_eq!(ids_of(&page), vec![id(&e3), id(&e1)]);
}

#[tokio::test]
async fn blocklist_values_are_normalised() {
    let d = desk().await;
    for (kind, raw, want) in [
        (
            "email",
            " Troll.Account@Riverside.EXAMPLE ",
            "troll.account@riverside.example",
        ),
        ("cidr", "10.1.2.3/8", "10.0.0.0/8"),
        ("ip", "198.51.100.7", "198.51.100.7"),
        ("email_domain", "spam-farm.example", "spam-farm.example"),
    ] {
        let e = block(&d, json!({"kind": kind, "value": raw})).await;
        assert_eq!(e["kind"], kind);
        assert_eq!(e["value"], want, "{kind} {raw:?}");
    }
}

#[tokio::test]
async fn bad_blocklist_entries_are_422_naming_the_field() {
    let d = desk().await;
    for (body, field) in [
        (json!({"kind": "email", "value": "not-an-address"}), "value"),
        (
            json!({"kind": "email_domain", "value": "no spaces.example"}),
            "value",
        ),
        (json!({"kind": "ip", "value": "300.1.1.1"}), "value"),
        (json!({"kind": "ip", "value": "10.0.0.0/8"}), "value"),
        (json!({"kind": "cidr", "value": "10.0.0.0/33"}), "value"),
        (json!({"kind": "phone", "value": "555-0100"}), "kind"),
        (
            json!({"kind": "ip", "value": "10.0.0.1", "expires_at": "next tuesday"}),
            "expires_at",
        ),
    ] {
        let res = post_block(&d, &body).await;
        let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_names(&p, field, &body.to_string());
    }
    let res = d.app.get(BLOCKLIST, Some(&d.moderator)).await;
    let (page, _) = expect(res, StatusCode::OK, "GET blocklist").await;
    assert_eq!(items(&page).len(), 0);
}

#[tokio::test]
async fn the_same_blocklist_entry_twice_is_a_409() {
    let d = desk().await;
    block(
        &d,
        json!({"kind": "email", "value": "troll@riverside.example"}),
    )
    .await;
    block(&d, json!({"kind": "cidr", "value": "10.0.0.0/8"})).await;
    for body in [
        json!({"kind": "email", "value": "troll@riverside.example"}),
        json!({"kind": "email", "value": "TROLL@riverside.example"}),
        json!({"kind": "cidr", "value": "10.9.9.9/8"}),
    ] {
        let res = post_block(&d, &body).await;
        assert_problem(res, StatusCode::CONFLICT).await;
    }
    // The same text under another kind is another entry.
    block(
        &d,
        json!({"kind": "email_domain", "value": "riverside.example"}),
    )
    .await;
}

#[tokio::test]
async fn blocked_emails_and_domains_file_comments_as_spam() {
    let d = desk().await;
    let art = published(&d, "Shellfish beds reopen").await;
    let s = slug(&art);
    block(
        &d,
        json!({"kind": "email", "value": "troll@bridgewatch.example"}),
    )
    .await;
    block(
        &d,
        json!({"kind": "email_domain", "value": "spam-farm.example"}),
    )
    .await;

    for (n, email) in [
        "troll@bridgewatch.example",
        "TROLL@Bridgewatch.example",
        "seller@spam-farm.example",
        "seller@mail.spam-farm.example",
    ]
    .into_iter()
    .enumerate()
    {
        let c = submit(
            &d.app,
            &s,
            &form("Shellfish Fan", email, &format!("Oysters! ({n})")),
        )
        .await;
        assert_eq!(status_of(&d, c).await, "spam", "{email}");
    }
    for (n, email) in [
        "troll2@bridgewatch.example",
        "seller@notspam-farm.example",
        "seller@spam-farm.example.org",
    ]
    .into_iter()
    .enumerate()
    {
        let c = submit(
            &d.app,
            &s,
            &form("Shellfish Fan", email, &format!("Mussels! ({n})")),
        )
        .await;
        assert_eq!(status_of(&d, c).await, "pending", "{email}");
    }
}

#[tokio::test]
async fn a_blocked_ip_files_comments_as_spam() {
    let d = desk().await;
    let art = published(&d, "Storm damage on the promenade").await;
    let s = slug(&art);
    let before = submit(&d.app, &s, &sample(0)).await;
    block(&d, json!({"kind": "ip", "value": "127.0.0.1"})).await;
    let after = submit(&d.app, &s, &sample(1)).await;
    assert_eq!(status_of(&d, before).await, "pending");
    assert_eq!(status_of(&d, after).await, "spam");
}

#[tokio::test]
async fn a_blocked_network_files_comments_as_spam() {
    let d = desk().await;
    let art = published(&d, "Storm drains cleared").await;
    let s = slug(&art);
    let e = block(&d, json!({"kind": "cidr", "value": "127.1.2.3/8"})).await;
    assert_eq!(e["value"], "127.0.0.0/8");
    let c = submit(&d.app, &s, &sample(1)).await;
    assert_eq!(status_of(&d, c).await, "spam");
}

#[tokio::test]
async fn expired_or_removed_blocklist_entries_have_no_effect() {
    let d = desk().await;
    let art = published(&d, "Pier toll abolished").await;
    let s = slug(&art);
    block(
        &d,
        json!({"kind": "ip", "value": "127.0.0.1", "expires_at": at(-Duration::hours(1))}),
    )
    .await;
    block(
        &d,
        json!({"kind": "email", "value": "old.troll@riverside.example",
               "expires_at": at(-Duration::minutes(1))}),
    )
    .await;
    let removed = block(
        &d,
        json!({"kind": "email_domain", "value": "pardoned.example"}),
    )
    .await;
    let res = send(
        &d.app,
        Method::DELETE,
        &format!("{BLOCKLIST}/{}", id(&removed)),
        Some(&d.moderator),
        None,
    )
    .await;
    expect(res, StatusCode::NO_CONTENT, "DELETE entry").await;

    for (n, email) in ["old.troll@riverside.example", "fan@pardoned.example"]
        .into_iter()
        .enumerate()
    {
        let c = submit(
            &d.app,
            &s,
            &form("Pier Fan", email, &format!("Finally! ({n})")),
        )
        .await;
        assert_eq!(status_of(&d, c).await, "pending", "{email}");
    }

    // An entry that expires later is in force now.
    block(
        &d,
        json!({"kind": "cidr", "value": "127.0.0.0/8", "expires_at": at(Duration::hours(1))}),
    )
    .await;
    let c = submit(&d.app, &s, &sample(3)).await;
    assert_eq!(status_of(&d, c).await, "spam");
}

// ---------------------------------------------------------------------------------------------
// Auto-approval
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn with_auto_approve_a_known_commenter_is_approved_at_once() {
    let d = desk_with(|c| c.comment_auto_approve = true).await;
    let art = published(&d, "Sailing club regatta").await;
    let s = slug(&art);
    let regular = "regular@harbour.example";
    let first = submit(
        &d.app,
        &s,
        &form("Wen Li", regular, "Great turnout this year."),
    )
    .await;
    approve(&d, first).await;

    let answer = accepted(
        &d.app,
        &s,
        &form("Wen Li", regular, "Results are on the noticeboard."),
    )
    .await;
    // The answer does not say so: it would confirm that a typed address is a known one.
    assert_eq!(answer["status"], "pending", "{answer}");
    assert_eq!(status_of(&d, id(&answer)).await, "approved");
    assert_eq!(thread_ids(&d.app, &s).await, vec![first, id(&answer)]);

    // A stranger, and someone whose only comment was turned down, still wait.
    submit(
        &d.app,
        &s,
        &form("New Face", "new@harbour.example", "First time here."),
    )
    .await;
    let turned_down = submit(
        &d.app,
        &s,
        &form("Grump", "grump@harbour.example", "Boring."),
    )
    .await;
    set_status(&d, turned_down, "rejected").await;
    submit(
        &d.app,
        &s,
        &form("Grump", "grump@harbour.example", "Still boring."),
    )
    .await;

    // Spam signs win over a good record, and the answer gives nothing away.
    let mut bot = form("Wen Li", regular, "Buy boats cheap.");
    bot["website"] = json!("https://boats.example");
    let spam = submit(&d.app, &s, &bot).await;
    assert_eq!(status_of(&d, spam).await, "spam");
}

#[tokio::test]
async fn without_auto_approve_a_known_commenter_waits_too() {
    let d = desk().await;
    let art = published(&d, "Sailing club new pontoon").await;
    let s = slug(&art);
    let regular = "regular@harbour.example";
    let first = submit(&d.app, &s, &form("Wen Li", regular, "Lovely pontoon.")).await;
    approve(&d, first).await;
    let second = submit(
        &d.app,
        &s,
        &form("Wen Li", regular, "Is it open to visitors?"),
    )
    .await;
    assert_eq!(status_of(&d, second).await, "pending");
}

// ---------------------------------------------------------------------------------------------
// Privacy
// ---------------------------------------------------------------------------------------------

/// Asserts a public answer carries none of the commenter's private data; returns its body.
async fn assert_private_data_absent(res: Response, what: &str, secrets: &[&str]) -> String {
    for (name, value) in res.headers() {
        let v = value.to_str().unwrap_or("").to_lowercase();
        for s in secrets.iter().filter(|s| !s.contains("127.0.0.1")) {
            assert!(
                !v.contains(&s.to_lowercase()),
                "{what}: header {name} reveals {s:?}: {v}"
            );
        }
    }
    let text = res.text().await.unwrap_or_default();
    let lower = text.to_lowercase();
    for s in secrets {
        assert!(
            !lower.contains(&s.to_lowercase()),
            "{what}: the body reveals {s:?}: {text}"
        );
    }
    for key in ["\"author_email\"", "\"ip_address\"", "\"user_agent\""] {
        assert!(
            !text.contains(key),
            "{what}: the body has a {key} key: {text}"
        );
    }
    text
}

#[tokio::test]
async fn public_responses_never_reveal_private_commenter_data() {
    let d = desk().await;
    let art = published(&d, "Mayor opens the new footbridge").await;
    let s = slug(&art);
    let email = "quiet.neighbour.7731@hidden-mail.example";
    let agent = "SecretBrowser/9.9 (fingerprint-zq81x)";
    let secrets = [email, agent, "127.0.0.1", "hidden-mail"];
    let mut publics: Vec<(String, Response)> = Vec::new();

    let body = form(
        "Quiet Neighbour",
        email,
        "The footbridge is a *joy* to cross.",
    );
    let post_as = |body: Value| {
        d.app
            .request(Method::POST, &comments_of(&s))
            .header("User-Agent", agent)
            .json(&body)
            .send()
    };
    let res = post_as(body.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let text = assert_private_data_absent(res, "intake answer", &secrets).await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    let c = id(&answer);
    approve(&d, c).await;

    let res = post_as(reply(c, "Quiet Neighbour", email, "And well lit at night."))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let text = assert_private_data_absent(res, "reply answer", &secrets).await;
    approve(&d, id(&serde_json::from_str(&text).unwrap())).await;

    publics.push(("duplicate".into(), post_as(body.clone()).await.unwrap()));
    let mut bad = body.clone();
    bad["body"] = json!("");
    publics.push(("422".into(), post_as(bad).await.unwrap()));
    let mut spam = form("Quiet Neighbour", email, "Another thought on the bridge.");
    spam["website"] = json!("https://hidden-mail.example");
    publics.push(("spam answer".into(), post_as(spam).await.unwrap()));
    for path in [
        comments_of(&s),
        format!("{}?limit=1", comments_of(&s)),
        format!("{ARTICLES}/{s}"),
        ARTICLES.to_string(),
        format!("{ARTICLES}?q=footbridge"),
    ] {
        publics.push((path.clone(), d.app.get(&path, None).await));
    }
    for (what, res) in publics {
        assert_private_data_absent(res, &what, &secrets).await;
    }

    // Thread items carry no status either.
    let page = thread(&d.app, &s).await;
    assert_eq!(items(&page).len(), 2, "{page}");
    for item in items(&page) {
        assert_eq!(keys(item), sorted(&THREAD_ITEM_KEYS), "{item}");
        assert!(item.get("status").is_none());
    }
    // Moderators do see it all, so the secrets were really stored.
    let m = moderator_view(&d, c).await;
    assert_eq!(m["author_email"], email);
    assert_eq!(m["user_agent"], agent);
}

// ---------------------------------------------------------------------------------------------
// The real binary
// ---------------------------------------------------------------------------------------------

fn masthead(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_masthead"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "debug")
        .env("MASTHEAD_JWT_SECRET", JWT_SECRET);
    cmd
}

fn add_user(db_url: &str, username: &str, role: &str) {
    let out = masthead(db_url)
        .args(["user", "add", username, "--role", role])
        .env("MASTHEAD_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "user add {username}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

#[tokio::test]
async fn the_real_server_logs_requests_but_no_commenter_data() {
    let (db, url) = TestDb::create();
    let db_url = url.target.clone();
    let out = masthead(&db_url).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_user(&db_url, "mod", "moderator");
    add_user(&db_url, "ed", "editor");

    let port = free_port();
    let mut child = masthead(&db_url)
        .arg("serve")
        .env("MASTHEAD_BIND", format!("127.0.0.1:{port}"))
        // The commenters' address comes from the proxy header, so it differs from the
        // server's own 127.0.0.1 and a leak can be told apart.
        .env("MASTHEAD_TRUST_PROXY", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut up = false;
    for _ in 0..200 {
        if let Ok(res) = client.get(format!("{base}/healthz")).send().await {
            if res.status().is_success() {
                up = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !up {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the server never answered /healthz: {}",
            stderr.join().unwrap()
        );
    }

    let token = |name: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let res = client
                .post(format!("{base}/api/v1/auth/token"))
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            let (body, _) = expect(res, StatusCode::OK, "login").await;
            body["access_token"].as_str().unwrap().to_string()
        }
    };
    let editor = token("ed").await;
    let moderator = token("mod").await;

    let res = client
        .post(format!("{base}{ARTICLES}"))
        .bearer_auth(&editor)
        .json(
            &json!({"title": "Lock keeper retires after forty years", "status": "published",
                      "published_at": at(-Duration::hours(1)), "body_markdown": "A long career."}),
        )
        .send()
        .await
        .unwrap();
    let (article, _) = expect(res, StatusCode::CREATED, "create article").await;
    let path = format!("{base}{}", comments_of(&slug(&article)));

    let agent = "LogProbe/5.5 (device-kx93-unique)";
    let good = "lock.fan.2291@canal-mail.example";
    let bot = "bargain.bot.5512@spam-farm.example";
    let invalid = "not-quite-an-address.8842(at)canal-mail";
    let post = |body: Value| {
        client
            .post(&path)
            .header("User-Agent", agent)
            .header("X-Forwarded-For", "203.0.113.177, 10.0.0.1")
            .json(&body)
            .send()
    };
    let res = post(form("Canal Fan", good, "He always waved at the boats."))
        .await
        .unwrap();
    let (first, _) = expect(res, StatusCode::ACCEPTED, "valid comment").await;
    let res = post(form("Canal Fan", good, "He always waved at the boats."))
        .await
        .unwrap();
    let (repeat, _) = expect(res, StatusCode::ACCEPTED, "duplicate").await;
    let res = post(form("Canal Fan", invalid, "Thanks for the story."))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid e-mail"
    );
    let mut spam = form("Bargains", bot, "Cheap narrowboats, visit now.");
    spam["website"] = json!("https://spam-farm.example");
    let res = post(spam).await.unwrap();
    let (spam_answer, _) = expect(res, StatusCode::ACCEPTED, "spam comment").await;
    let res = post(form(
        "Lock Neighbour",
        "neighbour.7710@canal-mail.example",
        "Happy retirement!",
    ))
    .await
    .unwrap();
    let (third, _) = expect(res, StatusCode::ACCEPTED, "another comment").await;

    let res = client
        .patch(format!("{base}{}", comment_path(id(&first))))
        .bearer_auth(&moderator)
        .json(&json!({"status": "approved", "moderation_note": "Nice memory."}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK, "approve").await;
    let res = client
        .post(format!("{base}{COMMENTS}/moderate"))
        .bearer_auth(&moderator)
        .json(&json!({"ids": [id(&third)], "action": "reject"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK, "bulk reject").await;
    let res = client
        .get(format!("{base}{COMMENTS}?status=spam"))
        .bearer_auth(&moderator)
        .send()
        .await
        .unwrap();
    let (queue, _) = expect(res, StatusCode::OK, "spam queue").await;
    // Newest first: the bot, then the repeat (filed as spam).
    assert_eq!(ids_of(&queue), vec![id(&spam_answer), id(&repeat)]);
    let res = client
        .delete(format!("{base}{}", comment_path(id(&spam_answer))))
        .bearer_auth(&moderator)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NO_CONTENT, "delete spam").await;
    let res = client.get(&path).send().await.unwrap();
    let (thread, _) = expect(res, StatusCode::OK, "thread").await;
    assert_eq!(ids_of(&thread), vec![id(&first)]);

    let _ = child.kill();
    let _ = child.wait();
    let log = format!("{}\n{}", stderr.join().unwrap(), stdout.join().unwrap());
    let comment_path_in_log = comments_of(&slug(&article));
    // One line per request, e.g. `request method=POST path=/api/v1/… status=202 latency_ms=…`.
    for status in ["202", "422"] {
        let (path_field, status_field) = (
            format!("path={comment_path_in_log} "),
            format!("status={status} "),
        );
        assert!(
            log.lines()
                .any(|l| l.contains(&path_field) && l.contains(&status_field)),
            "no request line for {comment_path_in_log} with {status} in the log:\n{log}"
        );
    }
    let lower = log.to_lowercase();
    for secret in [
        good,
        bot,
        invalid,
        "neighbour.7710@canal-mail.example",
        "canal-mail",
        agent,
        "device-kx93-unique",
        // The commenters' address.
        "203.0.113.177",
        // Credentials: the users' password, their tokens, any password hash.
        PASSWORD,
        &editor,
        &moderator,
        "$argon2",
    ] {
        assert!(
            !lower.contains(&secret.to_lowercase()),
            "the log reveals {secret:?}:\n{log}"
        );
    }
    // Not even the token's signature part appears.
    let signature = moderator.rsplit('.').next().unwrap();
    assert!(
        !log.contains(signature),
        "the log reveals a token signature"
    );
    drop(db);
}
