-- On SQLite the search document is the FTS5 table articles_fts, which already stores it: this
-- migration (PostgreSQL's stored search document) has nothing to change here.
SELECT 1;
