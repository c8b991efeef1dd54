//! The two migration trees must describe the same tables and columns.

use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use masthead::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::{backend_is_postgres, TestDb};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn sqlite_columns() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    // As `db::run_migrations` does: a table rebuild needs foreign keys off.
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "PRAGMA foreign_keys = OFF")
        .unwrap();
    conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
           AND m.name != '__diesel_schema_migrations'
           AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%'
           AND m.name NOT LIKE '%_fts_%'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect()
}

#[test]
fn both_migration_trees_have_the_same_names() {
    let names = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn both_migration_trees_give_the_same_tables_and_columns() {
    let sqlite = sqlite_columns();
    assert!(sqlite.contains(&("users".into(), "password_hash".into())));
    if !backend_is_postgres() {
        // The PostgreSQL half runs in the PostgreSQL pass of the suite (.ci/run).
        return;
    }
    let (db, url) = TestDb::create();
    let mut conn = masthead::db::establish_pg(&url.target).unwrap();
    conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
    let pg: BTreeSet<(String, String)> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name != '__diesel_schema_migrations'
           -- SQLite keeps the search document in its FTS5 table (left out above).
           AND NOT (table_name = 'articles' AND column_name = 'search_document')",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    drop(conn);
    drop(db);
    assert_eq!(sqlite, pg);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut SqliteConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// The SQLite migration that rebuilds `articles` (bodies last) keeps every row, every row that
/// references an article (a dropped table must not cascade), and the id high-water mark.
#[test]
fn rebuilding_articles_on_sqlite_keeps_existing_rows() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upgrade.db");
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    conn.batch_execute("PRAGMA foreign_keys = OFF").unwrap();
    // Everything, then the later migrations, the stored renders and the rebuild undone: the
    // old layout, to upgrade from.
    conn.run_pending_migrations(SQLITE_MIGRATIONS).unwrap();
    revert(
        &mut conn,
        || SQLITE_MIGRATIONS,
        &[
            "20261207010000",
            "20261207000000",
            "20261205000000",
            "20261204010000",
            "20261204000000",
            "20261127000000",
            "20261126120000",
            "20261126090000",
            "20261126060000",
        ],
    );
    let t = "'2026-01-02 03:04:05'";
    conn.batch_execute(&format!(
        "PRAGMA foreign_keys = ON;
         INSERT INTO users (username, password_hash, role, display_name, created_at, updated_at)
             VALUES ('ed', 'x', 'editor', 'Ed', {t}, {t});
         INSERT INTO articles (slug, title, excerpt, body_markdown, body_html, plain_text, language,
             status, published_at, sort_at, author_id, reading_time_minutes, word_count,
             comment_count, created_at, updated_at)
             VALUES ('kept', 'Kept', 'An excerpt', '# Body', '<h1>Body</h1>', 'Body', 'en',
             'published', {t}, {t}, 1, 1, 1, 1, {t}, {t}),
             ('deleted-later', 'Gone', 'x', 'x', 'x', 'x', 'en', 'draft', NULL, {t}, 1, 1, 1, 0,
             {t}, {t});
         DELETE FROM articles WHERE slug = 'deleted-later';
         INSERT INTO article_tags (article_id, position, tag, tag_slug) VALUES (1, 0, 'Port', 'port');
         INSERT INTO comments (article_id, thread_path, depth, author_name, author_email,
             email_key, body_markdown, body_html, status, visible, duplicate_key, created_at)
             VALUES (1, '000000000001/', 0, 'Reader', 'r@example.org', 'r@example.org', 'Hi',
             '<p>Hi</p>', 'approved', 1, 'k', {t});
         INSERT INTO series (slug, title, created_at, updated_at) VALUES ('s', 'S', {t}, {t});
         INSERT INTO series_articles (series_id, article_id, position) VALUES (1, 1, 1);
         PRAGMA foreign_keys = OFF;"
    ))
    .unwrap();
    let mut db = masthead::db::DbConn::Sqlite(conn);
    assert_eq!(masthead::db::run_migrations(&mut db).unwrap(), 9);
    let masthead::db::DbConn::Sqlite(mut conn) = db else {
        unreachable!()
    };
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM articles WHERE slug = 'kept' AND body_html = '<h1>Body</h1>' AND status = 'published'"), 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM article_tags"),
        1
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM comments"), 1);
    // Each article has its (empty) render row, for the first reader to fill.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM article_renders WHERE article_id = 1 AND body IS NULL"
        ),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM series_articles"),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM pragma_foreign_key_check"
        ),
        0
    );
    // Foreign keys are back on, and the next article does not take the deleted one's id.
    assert_eq!(
        count(
            &mut conn,
            "SELECT foreign_keys AS n FROM pragma_foreign_keys"
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT seq AS n FROM sqlite_sequence WHERE name = 'articles'"
        ),
        2
    );
    // The bodies come last, after every small column.
    let last: Vec<Column> = diesel::sql_query(
        "SELECT 'articles' AS table_name, name AS column_name FROM pragma_table_info('articles')
         ORDER BY cid DESC LIMIT 3",
    )
    .load(&mut conn)
    .unwrap();
    let last: Vec<String> = last.into_iter().map(|c| c.column_name).collect();
    assert_eq!(last, ["plain_text", "body_html", "body_markdown"]);
}

/// Undoes the newest migrations of `migrations` (a tree, which each revert takes by value),
/// checking they are `versions`, newest first.
fn revert<DB: diesel::backend::Backend>(
    conn: &mut impl MigrationHarness<DB>,
    migrations: impl Fn() -> EmbeddedMigrations,
    versions: &[&str],
) {
    for version in versions {
        let undone = conn.revert_last_migration(migrations()).unwrap();
        assert_eq!(undone.to_string(), *version);
    }
}

/// A fresh PostgreSQL database with every migration run; `None` on the SQLite pass.
fn migrated_pg() -> Option<(TestDb, PgConnection)> {
    if !backend_is_postgres() {
        return None;
    }
    let (db, url) = TestDb::create();
    let mut conn = masthead::db::establish_pg(&url.target).unwrap();
    conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
    Some((db, conn))
}

/// An editor and one published article, 'ferry', whose body text is `plain_text`.
fn insert_ferry(conn: &mut PgConnection, plain_text: &str) {
    use diesel::connection::SimpleConnection;
    conn.batch_execute(&format!(
        "INSERT INTO users (username, password_hash, role, display_name, created_at, updated_at)
             VALUES ('ed', 'x', 'editor', 'Ed', now(), now());
         INSERT INTO articles (slug, title, excerpt, body_markdown, body_html, plain_text, language,
             status, published_at, sort_at, author_id, reading_time_minutes, word_count,
             comment_count, created_at, updated_at)
             VALUES ('ferry', 'Ferry timetable', 'x', 'x', '<p>x</p>', '{plain_text}', 'en',
             'published', now(), now(), 1, 1, 1, 0, now(), now());"
    ))
    .unwrap();
}

/// On PostgreSQL, keeping search documents and stored renders in the row applies to those
/// stored before the migration too (it rewrites them), and none is lost or stops being found.
#[test]
fn search_documents_and_renders_move_into_the_rows_on_postgres() {
    use diesel::connection::SimpleConnection;
    let Some((db, mut conn)) = migrated_pg() else {
        return;
    };
    revert(
        &mut conn,
        || POSTGRES_MIGRATIONS,
        &[
            "20261207010000",
            "20261207000000",
            "20261205000000",
            "20261204010000",
            "20261204000000",
            "20261127000000",
            "20261126120000",
        ],
    );
    // A text whose search document (about 3.6 KB: 40 words in 1,600 places, like a bench
    // article's) was kept out of line.
    let text: Vec<String> = (0..1600u32)
        .map(|i| format!("w{}", i.wrapping_mul(2_654_435_761) % 40))
        .collect();
    let text = text.join(" ");
    insert_ferry(&mut conn, &text);
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        s: String,
    }
    let text_of = |conn: &mut PgConnection, sql: &str| -> String {
        diesel::sql_query(sql).get_result::<Name>(conn).unwrap().s
    };
    // A stored render of about 12 KB, kept out of line as the renders migration set it.
    let render = format!("{{\"body\":\"{text} {text}\"}}");
    conn.batch_execute(&format!(
        "UPDATE article_renders SET etag = '\"e\"', body = '{render}'"
    ))
    .unwrap();
    let storage = "SELECT string_agg(attstorage::text, ' ' ORDER BY attname) AS s
        FROM pg_attribute
        WHERE (attrelid, attname) IN (('articles'::regclass, 'search_document'),
                                      ('article_renders'::regclass, 'body'))";
    // Bytes kept out of line, in a table's TOAST table.
    let out_of_line = |conn: &mut PgConnection, table: &str| -> i64 {
        let toast = text_of(
            conn,
            &format!(
                "SELECT reltoastrelid::regclass::text AS s FROM pg_class WHERE relname = '{table}'"
            ),
        );
        diesel::sql_query(format!(
            "SELECT coalesce(sum(length(chunk_data)), 0)::int8 AS n FROM {toast}"
        ))
        .get_result::<Count>(conn)
        .unwrap()
        .n
    };
    assert_eq!(text_of(&mut conn, storage), "e x");
    let document = text_of(
        &mut conn,
        "SELECT pg_column_size(search_document)::text AS s FROM articles",
    )
    .parse::<i64>()
    .unwrap();
    let before = out_of_line(&mut conn, "articles");
    assert!(document > 2048 && before >= document, "{document} {before}");
    assert!(out_of_line(&mut conn, "article_renders") >= 12_000);
    conn.run_pending_migrations(POSTGRES_MIGRATIONS).unwrap();
    assert_eq!(text_of(&mut conn, storage), "m m");
    // The search document is in the row now (what is left out of line is the compressed text).
    let after = out_of_line(&mut conn, "articles");
    assert!(after < document, "{document} {after}");
    // The render is compressed into its row (this server has LZ4), and reads back the same.
    assert_eq!(out_of_line(&mut conn, "article_renders"), 0);
    assert_eq!(
        text_of(&mut conn, "SELECT body AS s FROM article_renders"),
        render
    );
    let found = text_of(
        &mut conn,
        "SELECT slug AS s FROM articles
         WHERE search_document @@ plainto_tsquery('simple', 'timetable w0')",
    );
    assert_eq!(found, "ferry");
    drop(conn);
    drop(db);
}

/// On PostgreSQL, the session table in which write transactions note the renders they make
/// stale stays empty between transactions, however many a pooled connection runs: before,
/// each left its rows behind as dead tuples (autovacuum skips temporary tables), and every
/// later flush read them all.
#[test]
fn noting_stale_renders_leaves_nothing_behind_in_a_long_session_on_postgres() {
    use diesel::connection::SimpleConnection;
    let Some((db, mut conn)) = migrated_pg() else {
        return;
    };
    insert_ferry(&mut conn, "x");
    let number = |conn: &mut PgConnection, sql: &str| -> i64 {
        diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
    };
    // A session's write transactions, one after another; what each leaves in `table`.
    let left_behind = |conn: &mut PgConnection, table: &str| -> i64 {
        let generation = "SELECT generation AS n FROM article_renders";
        let before = number(conn, generation);
        for _ in 0..400 {
            conn.batch_execute("BEGIN; UPDATE articles SET word_count = word_count + 1; COMMIT;")
                .unwrap();
        }
        // Every commit still emptied the render.
        assert_eq!(number(conn, generation), before + 400);
        number(
            conn,
            &format!("SELECT pg_relation_size('pg_temp.{table}') AS n"),
        )
    };
    assert_eq!(left_behind(&mut conn, "article_renders_noted_now"), 0);
    // The table as 2026-11-27 made it (noted rows deleted by the flush) grew instead.
    revert(
        &mut conn,
        || POSTGRES_MIGRATIONS,
        &[
            "20261207010000",
            "20261207000000",
            "20261205000000",
            "20261204010000",
        ],
    );
    assert!(left_behind(&mut conn, "article_renders_noted") > 0);
    drop(conn);
    drop(db);
}

/// The bundled SQLite is built with the flags in `.cargo/config.toml`: without the query
/// planner stability guarantee, every statement with a bound `LIMIT` is prepared again on
/// each run (a cost a statement count cannot see).
#[test]
fn bundled_sqlite_has_the_build_flags() {
    let mut conn = SqliteConnection::establish(":memory:").unwrap();
    for option in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
        let sql = format!(
            "SELECT count(*) AS n FROM pragma_compile_options WHERE compile_options = '{option}'"
        );
        assert_eq!(count(&mut conn, &sql), 1, "SQLite built without {option}");
    }
}
