INSERT INTO articles_fts (rowid, title, subtitle, body)
    SELECT rowid, title, subtitle, body FROM articles_fts_staff;
DROP TABLE articles_fts_staff;
