-- Activity figures (the workspace's Activity page, `GET /api/v1/activity`): who sent each reply,
-- each conversation's first reply by a person, and every resolution with how long the
-- conversation had been open. Written by triggers, so every path that sends or resolves (the
-- API, the pages, a bot's handover) counts, in the same transaction.
ALTER TABLE messages ADD COLUMN sent_by INTEGER REFERENCES people(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN opened_at INTEGER;
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER;
ALTER TABLE conversations ADD COLUMN first_response_by INTEGER REFERENCES people(id) ON DELETE SET NULL;

CREATE TABLE conversation_resolutions (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    person_id       INTEGER REFERENCES people(id) ON DELETE SET NULL,
    opened_at       INTEGER NOT NULL,
    resolved_at     INTEGER NOT NULL
);
CREATE INDEX conversation_resolutions_by_channel ON conversation_resolutions (channel_id, resolved_at);
-- A day's counts per channel read from the index alone; failures from a small partial index.
CREATE INDEX messages_by_channel_time ON messages (channel_id, created_at, direction);
CREATE INDEX messages_failed_by_channel ON messages (channel_id, created_at) WHERE status = 'failed';
CREATE INDEX conversations_by_first_response ON conversations (channel_id, first_response_at);

CREATE TRIGGER first_response AFTER INSERT ON messages
WHEN NEW.sent_by IS NOT NULL
BEGIN
    UPDATE conversations SET first_response_at = NEW.created_at, first_response_by = NEW.sent_by
    WHERE id = NEW.conversation_id AND first_response_at IS NULL;
END;

CREATE TRIGGER conversation_resolved AFTER UPDATE OF status ON conversations
WHEN NEW.status = 'resolved' AND OLD.status <> 'resolved'
BEGIN
    INSERT INTO conversation_resolutions (conversation_id, channel_id, person_id, opened_at, resolved_at)
    VALUES (NEW.id, NEW.channel_id, NEW.assignee_id, COALESCE(NEW.opened_at, NEW.created_at), CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;

CREATE TRIGGER conversation_reopened AFTER UPDATE OF status ON conversations
WHEN OLD.status = 'resolved' AND NEW.status <> 'resolved'
BEGIN
    UPDATE conversations SET opened_at = CAST(unixepoch('subsec') * 1000 AS INTEGER) WHERE id = NEW.id;
END;
