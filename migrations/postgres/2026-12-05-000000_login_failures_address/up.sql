-- The client a failed login came from, so one client can be limited across usernames. Kept as
-- a hash of its rate-limit key (an IPv4 address or an IPv6 /64), never the address itself, and
-- only for the 15-minute window. NULL when the address was unknown, and for rows from before.
ALTER TABLE login_failures ADD COLUMN address_key TEXT;
CREATE INDEX login_failures_address_key_failed_at ON login_failures (address_key, failed_at);
-- Expired failures are deleted by time, at every login attempt.
CREATE INDEX login_failures_failed_at ON login_failures (failed_at);
