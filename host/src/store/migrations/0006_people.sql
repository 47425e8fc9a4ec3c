-- People who sign in with a username (an email address) and a password, and their sessions.
-- Passwords are argon2id hashes (PHC strings); invitation and session tokens are stored only
-- as SHA-256 digests, so a copy of the database signs nobody in.
CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    -- NULL for the operator (the installation's, not a workspace's)
    workspace_id  INTEGER REFERENCES workspaces(id) ON DELETE CASCADE,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('operator', 'admin', 'supervisor', 'agent')),
    -- NULL until the invitation is accepted
    password_hash TEXT,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((role = 'operator') = (workspace_id IS NULL))
);

-- One-time links to set a password (an invitation, or a reset).
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    -- CSRF: the token cookie-authenticated writes must echo in `X-CSRF-Token`
    csrf_token   TEXT NOT NULL
);
CREATE INDEX sessions_by_person ON sessions (person_id);

-- Failed sign-ins per account and per client address, for lockout.
CREATE TABLE sign_in_failures (
    key        TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    first_at   INTEGER NOT NULL
);

-- API tokens get a label and a visible prefix, so an admin can tell them apart and revoke one.
ALTER TABLE api_tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN prefix TEXT NOT NULL DEFAULT '';
