-- Articles with their tags, old slugs (which redirect) and revisions, and a full-text index.
CREATE TABLE articles (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    subtitle TEXT,
    excerpt TEXT NOT NULL,
    excerpt_is_custom BOOLEAN NOT NULL DEFAULT FALSE,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    plain_text TEXT NOT NULL,
    cover_image_url TEXT,
    language TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'scheduled', 'published', 'archived')),
    published_at TIMESTAMP,
    -- published_at when set, else created_at: the key every list is ordered and paged by.
    sort_at TIMESTAMP NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    reading_time_minutes INTEGER NOT NULL,
    word_count INTEGER NOT NULL,
    comments_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    comment_count INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX articles_sort ON articles (sort_at, id);
CREATE INDEX articles_status_sort ON articles (status, sort_at, id);
CREATE INDEX articles_author_sort ON articles (author_id, sort_at, id);

CREATE TABLE article_tags (
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tag TEXT NOT NULL,
    tag_slug TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE INDEX article_tags_tag ON article_tags (tag, article_id);
CREATE INDEX article_tags_tag_slug ON article_tags (tag_slug, article_id);

CREATE TABLE article_slugs (
    slug TEXT PRIMARY KEY NOT NULL,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX article_slugs_article ON article_slugs (article_id);

CREATE TABLE article_revisions (
    id BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    rev INTEGER NOT NULL,
    title TEXT NOT NULL,
    subtitle TEXT,
    excerpt TEXT NOT NULL,
    excerpt_is_custom BOOLEAN NOT NULL,
    body_markdown TEXT NOT NULL,
    cover_image_url TEXT,
    tags TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    slug TEXT NOT NULL,
    published_at TIMESTAMP,
    editor_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (article_id, rev)
);

-- Full-text search over title (weight A), subtitle (B) and body text (C). Queries must use this
-- exact expression for the index to apply.
CREATE INDEX articles_search ON articles USING GIN ((
    setweight(to_tsvector('simple', title), 'A')
    || setweight(to_tsvector('simple', coalesce(subtitle, '')), 'B')
    || setweight(to_tsvector('simple', left(plain_text, 200000)), 'C')
));
