-- The table in which a session notes the renders its transaction makes stale (2026-11-27) is
-- emptied by each commit itself (ON COMMIT DELETE ROWS, an in-place truncation) instead of a
-- DELETE in the flush. Deleted rows stayed in that table as dead tuples, since autovacuum
-- never visits temporary tables, so it grew with every write transaction of a session (about
-- 28 bytes each) and every flush read all of it: a pooled connection's writes slowed down the
-- longer it lived (seeding 100,000 articles, one session: 28 minutes instead of about 2).
--
-- The table has a new name, so that a session of an instance started before this migration
-- (its old table made without ON COMMIT DELETE ROWS) makes a new one rather than noting
-- into a table that commits would not empty.
CREATE OR REPLACE FUNCTION article_renders_stale(ids BIGINT[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    IF to_regclass('pg_temp.article_renders_noted_now') IS NULL THEN
        CREATE TEMPORARY TABLE article_renders_noted_now (article_id BIGINT NOT NULL)
            ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.article_renders_noted_now (article_id) SELECT unnest(ids);
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
    SELECT array_agg(DISTINCT article_id) INTO ids FROM pg_temp.article_renders_noted_now;
    PERFORM 1 FROM article_renders WHERE article_id = ANY (ids) ORDER BY article_id FOR UPDATE;
    UPDATE article_renders
    SET generation = generation + 1, etag = NULL, valid_until = NULL, body = NULL
    WHERE article_id = ANY (ids);
    RETURN NULL;
END
$$;
