-- Nothing to do on SQLite: PostgreSQL's renders migration of the same name makes its render
-- triggers empty renders at commit, in article order, so that two writers cannot deadlock on
-- them. SQLite runs one writer at a time (BEGIN IMMEDIATE), so its triggers keep emptying
-- renders as each change happens.
SELECT 1;
