DROP TABLE login_failures;
DROP TABLE settings;
DROP TABLE users;
