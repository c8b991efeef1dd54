-- Nothing to do on SQLite: PostgreSQL's migration of the same name changes the session table
-- its render triggers note stale renders in; SQLite has none.
SELECT 1;
