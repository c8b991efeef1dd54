DROP TABLE series_articles;
DROP TABLE series_slugs;
DROP TABLE series;
