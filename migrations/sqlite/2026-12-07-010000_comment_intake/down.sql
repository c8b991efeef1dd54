DROP TABLE comment_intake;
