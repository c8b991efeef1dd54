-- On PostgreSQL ts_rank scores each article on its own document, with no statistics of other
-- rows, so drafts never changed a public article's rank: nothing to change (see the SQLite
-- migration of the same name).
SELECT 1;
