-- Rebuilds articles with the large text columns (bodies, plain text) last. SQLite stores a row
-- as one record, and a column that comes after a 5-20 KB body can only be read by walking the
-- body's overflow pages: every look-up that needed status, published_at or comments_enabled
-- (series navigation, list pages, comment intake) read the whole body from disk. With the
-- bodies last, those columns sit on the table's leaf page.
--
-- SQLite's documented way to change a table's layout (https://sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): create, copy, drop, rename, with foreign keys
-- off, so that dropping the old table neither cascades to the rows that reference it nor
-- fails. `db::run_migrations` turns them off around the run and checks every foreign key
-- before it commits; the guard below refuses to run where they are on.
CREATE TEMP TABLE migration_guard (foreign_keys INTEGER CHECK (foreign_keys = 0));
INSERT INTO migration_guard SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE migration_guard;

CREATE TABLE articles_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    subtitle TEXT,
    excerpt TEXT NOT NULL,
    excerpt_is_custom BOOLEAN NOT NULL DEFAULT 0,
    cover_image_url TEXT,
    language TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'published', 'archived')),
    published_at TIMESTAMP,
    -- published_at when set, else created_at: the key every list is ordered and paged by.
    sort_at TIMESTAMP NOT NULL,
    author_id INTEGER NOT NULL REFERENCES users (id),
    reading_time_minutes INTEGER NOT NULL,
    word_count INTEGER NOT NULL,
    comments_enabled BOOLEAN NOT NULL DEFAULT 1,
    comment_count INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    plain_text TEXT NOT NULL
);
INSERT INTO articles_rebuilt (id, slug, title, subtitle, excerpt, excerpt_is_custom, cover_image_url, language, status, published_at, sort_at, author_id, reading_time_minutes, word_count, comments_enabled, comment_count, version, created_at, updated_at, body_markdown, body_html, plain_text)
    SELECT id, slug, title, subtitle, excerpt, excerpt_is_custom, cover_image_url, language, status, published_at, sort_at, author_id, reading_time_minutes, word_count, comments_enabled, comment_count, version, created_at, updated_at, body_markdown, body_html, plain_text FROM articles;
-- Ids are never reused: keep the AUTOINCREMENT high-water mark of the old table.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'articles_rebuilt', seq FROM sqlite_sequence WHERE name = 'articles'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'articles_rebuilt');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'articles'), 0))
    WHERE name = 'articles_rebuilt';
DROP TABLE articles;
ALTER TABLE articles_rebuilt RENAME TO articles;
CREATE INDEX articles_sort ON articles (sort_at, id);
CREATE INDEX articles_status_sort ON articles (status, sort_at, id);
CREATE INDEX articles_author_sort ON articles (author_id, sort_at, id);
