-- Workspaces: one business each. Everything of a business hangs off its channels (contacts,
-- conversations, messages, template switches, state) or names its workspace (tokens, logins
-- in progress). A data dir from before moves, without loss, into workspace 1.
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    -- active; suspended: nobody of it signs in, nothing is sent, webhooks are still stored
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO workspaces (id, name, created_at, updated_at)
VALUES (1, 'Default', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- SQLite cannot add a column with a foreign key and a default while keys are enforced: the
-- host deletes a workspace's rows itself, in one transaction (store::workspaces).
ALTER TABLE channels ADD COLUMN workspace_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX channels_by_workspace ON channels (workspace_id);
ALTER TABLE oauth_flows ADD COLUMN workspace_id INTEGER NOT NULL DEFAULT 1;

-- Tokens: the role `operator` (the whole installation; no workspace) joins the three.
CREATE TABLE api_tokens_new (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'supervisor', 'agent')),
    workspace_id INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    CHECK ((role = 'operator') = (workspace_id IS NULL))
);
INSERT INTO api_tokens_new (id, token_hash, role, workspace_id, created_at)
    SELECT id, token_hash, role, 1, created_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
