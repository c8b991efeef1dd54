-- The A and B parts of the search document (title and subtitle), indexed: a search for one
-- word fills its page from the articles with that word in a heading when there are enough of
-- them, since ts_rank ranks those above every article with the word only in its body (see
-- `PG_HEADINGS` in src/db/queries/articles.rs). The expression is the first two terms of
-- `search_document`'s.
CREATE INDEX articles_search_heading ON articles USING GIN (
    (setweight(to_tsvector('simple', title), 'A')
     || setweight(to_tsvector('simple', coalesce(subtitle, '')), 'B'))
);
