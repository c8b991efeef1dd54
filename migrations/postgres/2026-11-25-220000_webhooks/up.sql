-- Webhooks and their outbox: each event writes one delivery row per subscribed hook in the
-- transaction of the change itself; a background worker claims due rows, posts them, and
-- records the outcome.
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    -- JSON array of event names.
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- Moderators' hooks get commenters' private fields in comment events.
    include_private BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- Shared by the deliveries of one event to several hooks.
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    -- The exact body that is signed and sent.
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- A worker's lease: other workers leave the row alone until it passes.
    claimed_until TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    last_response TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, id);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
