-- A provider login is finished only by the browser that started it (`api::oauth`): the start's
-- answer gives that browser a key, whose SHA-256 the flow keeps; or by a browser signed in as
-- the person who started it (NULL: started with an API token; then an admin of its workspace,
-- or the operator). A reconnect keeps its channel's version when it started, so that an edit
-- made while the admin was at the provider's page is not undone by the settings read before it.
ALTER TABLE oauth_flows ADD COLUMN browser_key_sha256 TEXT;
ALTER TABLE oauth_flows ADD COLUMN started_by INTEGER REFERENCES people(id) ON DELETE CASCADE;
ALTER TABLE oauth_flows ADD COLUMN channel_updated_at INTEGER;
