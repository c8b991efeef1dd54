DROP TABLE articles_fts;
DROP TABLE article_revisions;
DROP TABLE article_slugs;
DROP TABLE article_tags;
DROP TABLE articles;
