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
    article_id BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL DEFAULT 0,
    etag TEXT,
    valid_until TIMESTAMP,
    body TEXT
);
-- Out of line but not compressed: the point of the table is a read with no work left to do.
ALTER TABLE article_renders ALTER COLUMN body SET STORAGE EXTERNAL;
INSERT INTO article_renders (article_id) SELECT id FROM articles;

CREATE FUNCTION article_renders_stale(ids BIGINT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = ANY (ids);
$$;

CREATE FUNCTION article_renders_series_stale(series BIGINT[]) RETURNS void LANGUAGE sql AS $$
    SELECT article_renders_stale(ARRAY(SELECT article_id FROM series_articles
                                       WHERE series_id = ANY (series)));
$$;

CREATE FUNCTION article_renders_on_article() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO article_renders (article_id) VALUES (NEW.id);
        RETURN NULL;
    END IF;
    -- One statement, so that row locks are taken in one order (two writers each locking their
    -- own article's render first, then the other's, would deadlock).
    -- What a neighbour shows of an article: slug and title, and whether it is public.
    IF OLD.slug IS DISTINCT FROM NEW.slug OR OLD.title IS DISTINCT FROM NEW.title
       OR OLD.status IS DISTINCT FROM NEW.status
       OR OLD.published_at IS DISTINCT FROM NEW.published_at THEN
        PERFORM article_renders_stale(ARRAY[NEW.id] || ARRAY(
            SELECT m.article_id FROM series_articles s
            JOIN series_articles m ON m.series_id = s.series_id
            WHERE s.article_id = NEW.id));
    ELSE
        PERFORM article_renders_stale(ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER article_renders_article AFTER INSERT OR UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION article_renders_on_article();

CREATE FUNCTION article_renders_on_tag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM article_renders_stale(ARRAY[NEW.article_id]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM article_renders_stale(ARRAY[OLD.article_id, NEW.article_id]);
    ELSE
        PERFORM article_renders_stale(ARRAY[OLD.article_id]);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER article_renders_tag AFTER INSERT OR UPDATE OR DELETE ON article_tags
    FOR EACH ROW EXECUTE FUNCTION article_renders_on_tag();

CREATE FUNCTION article_renders_on_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM article_renders_series_stale(ARRAY[NEW.series_id]);
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM article_renders_stale(ARRAY[OLD.article_id] || ARRAY(
            SELECT article_id FROM series_articles
            WHERE series_id IN (OLD.series_id, NEW.series_id)));
    ELSE
        PERFORM article_renders_stale(ARRAY[OLD.article_id] || ARRAY(
            SELECT article_id FROM series_articles WHERE series_id = OLD.series_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER article_renders_member AFTER INSERT OR UPDATE OR DELETE ON series_articles
    FOR EACH ROW EXECUTE FUNCTION article_renders_on_member();

CREATE FUNCTION article_renders_on_series() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM article_renders_series_stale(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;
CREATE TRIGGER article_renders_series AFTER UPDATE ON series
    FOR EACH ROW EXECUTE FUNCTION article_renders_on_series();

CREATE FUNCTION article_renders_on_author() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM article_renders_stale(ARRAY(SELECT id FROM articles WHERE author_id = NEW.id));
    RETURN NULL;
END
$$;
CREATE TRIGGER article_renders_author AFTER UPDATE OF display_name ON users
    FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION article_renders_on_author();
