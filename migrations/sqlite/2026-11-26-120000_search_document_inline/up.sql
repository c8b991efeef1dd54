-- On SQLite the search document is the FTS5 table articles_fts: this migration (where
-- PostgreSQL keeps its stored search document) has nothing to change here.
SELECT 1;
