-- Provider logins in progress ("Connect with Facebook"): started by an admin, completed once by
-- the provider's callback, consumed by connecting an account. Sealed columns hold app secrets
-- and the accounts' tokens; a flow is deleted once it expires.
CREATE TABLE oauth_flows (
    -- the one-time value the provider hands back with the callback
    state                TEXT PRIMARY KEY,
    plugin               TEXT NOT NULL,
    -- the channel to reconnect, or NULL for a new channel
    channel_id           TEXT REFERENCES channels(id) ON DELETE CASCADE,
    name                 TEXT,
    -- sealed JSON object: the settings entered before the login
    settings             TEXT NOT NULL,
    -- sealed JSON array of [key, value]: what the plugin asked to keep until the callback
    properties           TEXT NOT NULL,
    redirect_url         TEXT NOT NULL,
    -- waiting, finishing, ready, failed, connecting, connected
    status               TEXT NOT NULL,
    error                TEXT,
    -- sealed JSON array of {id, name, settings}: the accounts the login gives access to
    accounts             TEXT,
    connected_channel_id TEXT,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX oauth_flows_by_expiry ON oauth_flows (expires_at);

-- Channels whose provider refused their credentials (a revoked token): they need reconnecting.
-- A successful connect (PATCH, or a provider login for the channel) deletes the row.
CREATE TABLE channel_reconnect (
    channel_id TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    reason     TEXT NOT NULL,
    since      INTEGER NOT NULL
);
