-- PostgreSQL keeps large values out of line (TOAST): the order of columns does not make
-- reading the small ones cost more. Nothing to change here (see the SQLite twin).
SELECT 1;
