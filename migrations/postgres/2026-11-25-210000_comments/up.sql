-- Reader comments, their moderation log and the moderators' blocklist.
CREATE TABLE comments (
    id BIGSERIAL PRIMARY KEY,
    article_id BIGINT NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    -- Deleting a comment moves its replies up to its parent first (application code).
    parent_id BIGINT REFERENCES comments (id),
    -- The ids from the thread's root down to this comment, each zero-padded and followed by
    -- '/': ordering by it gives thread order, and a prefix selects a subtree.
    thread_path TEXT NOT NULL,
    depth INTEGER NOT NULL,
    author_name TEXT NOT NULL,
    author_email TEXT NOT NULL,
    -- author_email lowercased, to recognise a returning commenter.
    email_key TEXT NOT NULL,
    author_url TEXT,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'spam')),
    -- Approved, and so is every ancestor: what the public thread shows. Kept by the
    -- application whenever a status or the tree changes.
    visible BOOLEAN NOT NULL DEFAULT FALSE,
    ip_address TEXT,
    user_agent TEXT,
    -- Hash of the e-mail and the normalised body: the same person posting the same text twice.
    duplicate_key TEXT NOT NULL,
    moderated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    moderated_at TIMESTAMP,
    moderation_note TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (article_id, duplicate_key)
);
CREATE INDEX comments_thread ON comments (article_id, visible, thread_path);
CREATE INDEX comments_queue ON comments (status, id);
CREATE INDEX comments_article_queue ON comments (article_id, id);
CREATE INDEX comments_client ON comments (ip_address, created_at);
CREATE INDEX comments_email ON comments (email_key, status);
CREATE INDEX comments_parent ON comments (parent_id);

-- Kept when the comment is deleted: an audit trail, not a foreign key.
CREATE TABLE comment_moderation_log (
    id BIGSERIAL PRIMARY KEY,
    comment_id BIGINT NOT NULL,
    moderator_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX comment_moderation_log_comment ON comment_moderation_log (comment_id, id);

CREATE TABLE comment_blocklist (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'email_domain', 'ip', 'cidr')),
    value TEXT NOT NULL,
    note TEXT,
    expires_at TIMESTAMP,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, value)
);
