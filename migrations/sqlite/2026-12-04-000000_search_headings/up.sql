-- PostgreSQL's index of search headings; SQLite ranks with FTS5's bm25 and needs none.
SELECT 1;
