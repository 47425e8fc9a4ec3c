-- Bots as API tokens: a channel's bot is a webhook endpoint or an API token with the role `bot`
-- (made with the channels it is the bot of). A channel has one bot of either kind: `channel_id`
-- stays the key of `channel_bots`, whose row names the endpoint or the token, never both. When
-- the token is revoked its rows go by cascade, and `bot_removed` hands their conversations to
-- people in the same transaction, as for an endpoint deleted.

-- The role `bot` joins the others (SQLite cannot change a CHECK in place: the table is made again).
CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'supervisor', 'agent', 'bot')),
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL DEFAULT '',
    CHECK ((role = 'operator') = (workspace_id IS NULL))
);
INSERT INTO api_tokens_new (id, token_hash, role, workspace_id, created_at, label, prefix)
    SELECT id, token_hash, role, workspace_id, created_at, label, prefix FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;

-- A channel's bot: an endpoint or a token (made again: `endpoint_id` may be NULL now). The
-- trigger on endpoints names this table, so it goes first and comes back after.
DROP TRIGGER bot_disabled;
CREATE TABLE channel_bots_new (
    channel_id  TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    endpoint_id INTEGER REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    token_id    INTEGER REFERENCES api_tokens(id) ON DELETE CASCADE,
    CHECK ((endpoint_id IS NULL) <> (token_id IS NULL))
);
INSERT INTO channel_bots_new (channel_id, endpoint_id) SELECT channel_id, endpoint_id FROM channel_bots;
DROP TABLE channel_bots;
ALTER TABLE channel_bots_new RENAME TO channel_bots;
CREATE INDEX channel_bots_of_endpoint ON channel_bots (endpoint_id);
CREATE INDEX channel_bots_of_token ON channel_bots (token_id);

CREATE TRIGGER bot_disabled AFTER UPDATE OF enabled ON webhook_endpoints WHEN NOT NEW.enabled
BEGIN
    UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id IN (SELECT channel_id FROM channel_bots WHERE endpoint_id = NEW.id);
END;

-- A binding removed (the token revoked, the endpoint deleted or no longer the channel's bot).
CREATE TRIGGER bot_removed AFTER DELETE ON channel_bots
BEGIN
    UPDATE conversations SET status = 'open' WHERE status = 'bot' AND channel_id = OLD.channel_id;
END;
