-- Provider apps: one operator-level app per plugin (a Meta app, an X developer app) whose one
-- callback URL serves the accounts of every workspace. Settings are a JSON object with secret
-- values sealed; the verify token is the host's, for the provider's challenge (sealed too).
CREATE TABLE provider_apps (
    plugin       TEXT PRIMARY KEY,
    settings     TEXT NOT NULL,
    verify_token TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- App webhooks find a channel by its provider account.
CREATE INDEX channels_by_account ON channels (plugin, external_account_id);
