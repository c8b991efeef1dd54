DROP INDEX articles_search_heading;
