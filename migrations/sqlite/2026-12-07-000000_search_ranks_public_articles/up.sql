-- Search ranking reads public articles only. FTS5's bm25 scores a match with statistics of the
-- whole table it is in (how many rows, how long they are on average, how many hold each word),
-- so a draft in articles_fts changed the scores of public articles: a reader could tell from a
-- search that a draft with that word had been saved. Articles that are neither published nor
-- scheduled (drafts, archived) move to a table of their own, which only staff searches read.
CREATE VIRTUAL TABLE articles_fts_staff USING fts5(
    title, subtitle, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts_staff (rowid, title, subtitle, body)
    SELECT rowid, title, subtitle, body FROM articles_fts
    WHERE rowid IN (SELECT id FROM articles WHERE status NOT IN ('published', 'scheduled'));
DELETE FROM articles_fts
    WHERE rowid IN (SELECT id FROM articles WHERE status NOT IN ('published', 'scheduled'));
