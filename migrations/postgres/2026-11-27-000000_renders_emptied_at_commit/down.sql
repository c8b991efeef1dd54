DROP TRIGGER article_renders_flush_author ON users;
DROP TRIGGER article_renders_flush_series ON series;
DROP TRIGGER article_renders_flush_member ON series_articles;
DROP TRIGGER article_renders_flush_tag ON article_tags;
DROP TRIGGER article_renders_flush_article ON articles;
DROP FUNCTION article_renders_flush();
CREATE OR REPLACE FUNCTION article_renders_stale(ids BIGINT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE article_renders SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = ANY (ids);
$$;
