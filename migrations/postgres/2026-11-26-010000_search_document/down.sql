DROP INDEX articles_search;
ALTER TABLE articles DROP COLUMN search_document;
CREATE INDEX articles_search ON articles USING GIN ((
    setweight(to_tsvector('simple', title), 'A')
    || setweight(to_tsvector('simple', coalesce(subtitle, '')), 'B')
    || setweight(to_tsvector('simple', left(plain_text, 200000)), 'C')
));
