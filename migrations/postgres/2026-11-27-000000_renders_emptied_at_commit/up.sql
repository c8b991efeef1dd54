-- Stored renders are emptied at commit, all of a transaction's at once, locked in article order.
--
-- Before, each change locked the renders it emptied as it happened, and two transactions could
-- wait for each other: one that changes two articles in turn (moderating comments on both
-- recounts both) held the first's render when it asked for the second's row, while an editor's
-- title change held the second's row and asked for the first's render, its neighbour in a
-- series. PostgreSQL broke that deadlock after a second by failing one of them. Rewriting a
-- series (renders locked in position order) against a title change in it (in id order) could
-- do the same.
--
-- Now the triggers only note which renders a change empties, in a temporary table of the
-- session (rows noted by a transaction that rolls back go with it), and a deferred trigger empties
-- them at commit in one pass, after every other lock the transaction takes and in article order,
-- so render rows cannot close a cycle of waits. A render is still emptied in the same
-- transaction as the change that makes it stale, so a reader's render made from older data is
-- still never kept (see 2026-11-26-090000). A transaction-local setting says whether anything
-- was noted, so that the deferred events after the first (one per changed row) cost a look at
-- it and no more.
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

CREATE FUNCTION article_renders_flush() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER article_renders_flush_article AFTER UPDATE ON articles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION article_renders_flush();
CREATE CONSTRAINT TRIGGER article_renders_flush_tag AFTER INSERT OR UPDATE OR DELETE ON article_tags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION article_renders_flush();
CREATE CONSTRAINT TRIGGER article_renders_flush_member
    AFTER INSERT OR UPDATE OR DELETE ON series_articles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION article_renders_flush();
CREATE CONSTRAINT TRIGGER article_renders_flush_series AFTER UPDATE ON series
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION article_renders_flush();
CREATE CONSTRAINT TRIGGER article_renders_flush_author AFTER UPDATE OF display_name ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION article_renders_flush();
