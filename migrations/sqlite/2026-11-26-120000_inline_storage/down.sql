-- PostgreSQL keeps its search documents and article renders in the row from here on. SQLite
-- has nothing to change: its search document is the FTS5 table articles_fts, and a value
-- larger than a page always continues on overflow pages.
SELECT 1;
