ALTER TABLE articles ALTER COLUMN search_document SET STORAGE EXTENDED;
ALTER TABLE article_renders ALTER COLUMN body SET STORAGE EXTERNAL;
DO $$
BEGIN
    EXECUTE 'ALTER TABLE article_renders ALTER COLUMN body SET COMPRESSION default';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END $$;
