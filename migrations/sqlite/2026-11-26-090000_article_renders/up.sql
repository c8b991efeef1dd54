-- Each article's public representation, stored: the JSON readers get and its ETag, so that a
-- read of one article is one look-up instead of rendering the article, its tags, its author
-- and its series navigation again. A reader's request that finds no render (or a stale one)
-- renders the article and stores the result for the next reader.
--
-- The triggers below keep it honest: every change to what a render shows (the article, its
-- tags, its author's name, a series it belongs to or a neighbour in one) empties the renders
-- it touches and bumps their `generation` in the same transaction. A reader stores its render
-- only if the generation it read before rendering is still current, so a render made from data
-- that changed meanwhile is never kept. `valid_until` is the next moment the render changes
-- by itself: a scheduled neighbour in a series going public.
CREATE TABLE article_renders (
    article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL DEFAULT 0,
    etag TEXT,
    valid_until TIMESTAMP,
    body TEXT
);
INSERT INTO article_renders (article_id) SELECT id FROM articles;

CREATE TRIGGER article_renders_insert AFTER INSERT ON articles BEGIN
    INSERT INTO article_renders (article_id) VALUES (NEW.id);
END;

CREATE TRIGGER article_renders_update AFTER UPDATE ON articles BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = NEW.id;
END;

-- What a neighbour shows of an article: slug and title, and whether it is public.
CREATE TRIGGER article_renders_update_neighbours AFTER UPDATE OF slug, title, status, published_at ON articles
WHEN OLD.slug IS NOT NEW.slug OR OLD.title IS NOT NEW.title OR OLD.status IS NOT NEW.status
    OR OLD.published_at IS NOT NEW.published_at
BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id IN (SELECT m.article_id FROM series_articles s
                         JOIN series_articles m ON m.series_id = s.series_id
                         WHERE s.article_id = NEW.id);
END;

CREATE TRIGGER article_renders_tag_insert AFTER INSERT ON article_tags BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = NEW.article_id;
END;

CREATE TRIGGER article_renders_tag_update AFTER UPDATE ON article_tags BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id IN (OLD.article_id, NEW.article_id);
END;

CREATE TRIGGER article_renders_tag_delete AFTER DELETE ON article_tags BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = OLD.article_id;
END;

CREATE TRIGGER article_renders_member_insert AFTER INSERT ON series_articles BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id IN (SELECT article_id FROM series_articles WHERE series_id = NEW.series_id);
END;

CREATE TRIGGER article_renders_member_update AFTER UPDATE ON series_articles BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = OLD.article_id
       OR article_id IN (SELECT article_id FROM series_articles
                         WHERE series_id IN (OLD.series_id, NEW.series_id));
END;

CREATE TRIGGER article_renders_member_delete AFTER DELETE ON series_articles BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = OLD.article_id
       OR article_id IN (SELECT article_id FROM series_articles WHERE series_id = OLD.series_id);
END;

CREATE TRIGGER article_renders_series_update AFTER UPDATE ON series BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id IN (SELECT article_id FROM series_articles WHERE series_id = NEW.id);
END;

CREATE TRIGGER article_renders_author_update AFTER UPDATE OF display_name ON users
WHEN OLD.display_name IS NOT NEW.display_name
BEGIN
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id IN (SELECT id FROM articles WHERE author_id = NEW.id);
END;
