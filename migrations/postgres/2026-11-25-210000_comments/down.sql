DROP TABLE comment_blocklist;
DROP TABLE comment_moderation_log;
DROP TABLE comments;
