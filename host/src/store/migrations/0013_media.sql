-- Attachments' files. One row per file: an inbound attachment with bytes (image, video, audio,
-- document, sticker), fetched by a durable job after its webhook was stored; or a file an
-- agent uploaded (no message until it is sent). The bytes are content-addressed
-- (`media::files`); `media_blobs` lists the stored ones, so a file no row names any more
-- (its channel or workspace deleted) is found and deleted.
CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- NULL: an upload not sent yet
    channel_id      TEXT REFERENCES channels(id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    -- which of the message's attachments
    position        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'failed')),
    sha256          TEXT,
    size            INTEGER,
    -- sniffed from the bytes; the provider's word only when the bytes say nothing
    mime_type       TEXT,
    filename        TEXT,
    -- why a download failed for good, or why it is being retried
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX media_due ON media (next_attempt_at) WHERE state = 'pending';
CREATE INDEX media_of_message ON media (message_id, position);
CREATE INDEX media_by_hash ON media (sha256);

CREATE TABLE media_blobs (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
