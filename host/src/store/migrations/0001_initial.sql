CREATE TABLE channels (
    id                  TEXT PRIMARY KEY,
    plugin              TEXT NOT NULL,
    name                TEXT NOT NULL,
    -- connecting: connect() is running; active: connected
    status              TEXT NOT NULL,
    -- JSON object key -> value; secret values are sealed ("sealed:v1:...")
    settings            TEXT NOT NULL,
    webhook_secret      TEXT NOT NULL,
    display_name        TEXT,
    external_account_id TEXT,
    -- JSON array of {key, label, value} from connect
    setup               TEXT NOT NULL DEFAULT '[]',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE channel_state (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (channel_id, key)
);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    channel_id  TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    name        TEXT,
    handle      TEXT,
    updated_at  INTEGER NOT NULL,
    UNIQUE (channel_id, external_id)
);

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    channel_id       TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id      TEXT NOT NULL,
    contact_id       INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    name             TEXT,
    status           TEXT NOT NULL DEFAULT 'open',
    -- provider time (ms) of the customer's last message: the messaging window counts from it
    last_inbound_at  INTEGER,
    last_activity_at INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (channel_id, external_id)
);
CREATE INDEX conversations_by_activity ON conversations (last_activity_at DESC);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    channel_id          TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    provider_message_id TEXT,
    contact_id          INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    text                TEXT,
    -- JSON: attachments (inbound), media or template (outbound)
    content             TEXT NOT NULL DEFAULT '{}',
    -- JSON array of [key, value] provider facts (reply tokens, References)
    properties          TEXT NOT NULL DEFAULT '[]',
    reply_to            TEXT,
    -- inbound: received; outbound: queued, sent, delivered, read, failed
    status              TEXT NOT NULL,
    error               TEXT,
    provider_timestamp  INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_provider_id ON messages (channel_id, direction, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

CREATE TABLE outbox (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    created_at INTEGER NOT NULL
);
