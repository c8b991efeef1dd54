-- Two large values that every read of them fetched out of line (TOAST) are kept in the row.
--
-- Articles' search documents: at about 2.7 KB for a 5 KB article, each was stored out of line,
-- so ranking a search that matches most of the archive fetched every match's document through
-- the TOAST index: 550 ms for 100,000 matches, against 80-140 ms with the documents in the rows
-- (the bodies stay out of line as before).
ALTER TABLE articles ALTER COLUMN search_document SET STORAGE MAIN;

-- Stored article renders: a 12 KB render was six TOAST chunks found through the TOAST index
-- on every read of an article. Compressed with LZ4 it is about 2.6 KB and fits in the row,
-- and decompressing it costs less than those look-ups (uncached article GETs at 100,000
-- articles: 16.5k -> 20-23k per second). Where the server was built without LZ4 the render
-- stays as it was (out of line, uncompressed).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE article_renders ALTER COLUMN body SET COMPRESSION lz4';
    EXECUTE 'ALTER TABLE article_renders ALTER COLUMN body SET STORAGE MAIN';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END $$;

-- New storage settings only apply to rows written from now on: rewrite the existing ones.
-- (VACUUM FULL would do the same but cannot run inside the migration's transaction.)
CLUSTER articles USING articles_pkey;
CLUSTER article_renders USING article_renders_pkey;
