-- Series: ordered story collections. Positions are 1..n within a series, rewritten as a whole
-- by the application on every change, so a unique (series, position) never sees a gap or a
-- clash mid-update.
CREATE TABLE series (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE series_slugs (
    slug TEXT PRIMARY KEY NOT NULL,
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX series_slugs_series ON series_slugs (series_id);

CREATE TABLE series_articles (
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 1),
    PRIMARY KEY (series_id, article_id),
    UNIQUE (series_id, position)
);
CREATE INDEX series_articles_article ON series_articles (article_id, series_id);
