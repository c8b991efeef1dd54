-- The comment rate limit counts the comments one client posted within its window. It counted
-- stored comments with the same address, so an IPv6 client could rotate through the addresses
-- of its own /64 network. Now each comment taken in is noted here under the client's rate key
-- (an IPv4 address or an IPv6 /64), hashed, and kept only for the window: not data, not
-- exported.
CREATE TABLE comment_intake (
    id BIGSERIAL PRIMARY KEY,
    client_key TEXT NOT NULL,
    taken_at TIMESTAMP NOT NULL
);
CREATE INDEX comment_intake_client_key_taken_at ON comment_intake (client_key, taken_at);
CREATE INDEX comment_intake_taken_at ON comment_intake (taken_at);
