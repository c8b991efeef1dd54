DROP INDEX login_failures_failed_at;
DROP INDEX login_failures_address_key_failed_at;
ALTER TABLE login_failures DROP COLUMN address_key;
