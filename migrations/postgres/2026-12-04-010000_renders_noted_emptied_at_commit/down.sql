-- The functions as 2026-11-27-000000 made them.
CREATE OR REPLACE FUNCTION article_renders_stale(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    IF to_regclass('pg_temp.article_renders_noted') IS NULL THEN
        CREATE TEMPORARY TABLE article_renders_noted (article_id BIGINT NOT NULL);
    END IF;
    INSERT INTO pg_temp.article_renders_noted (article_id) SELECT unnest(ids);
    PERFORM set_config('masthead.renders_noted', 'yes', true);
END
$$;

CREATE OR REPLACE FUNCTION article_renders_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
BEGIN
    IF coalesce(current_setting('masthead.renders_noted', true), '') = '' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('masthead.renders_noted', '', true);
    WITH noted AS (DELETE FROM pg_temp.article_renders_noted RETURNING article_id)
    SELECT array_agg(DISTINCT article_id) INTO ids FROM noted;
    PERFORM 1 FROM article_renders WHERE article_id = ANY (ids) ORDER BY article_id FOR UPDATE;
    UPDATE article_renders
    SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = ANY (ids);
    RETURN NULL;
END
$$;
