-- The concurrent outbox delivers each conversation's messages in order: a message is due only
-- when it is the oldest of its conversation still in the outbox.
ALTER TABLE outbox ADD COLUMN conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE;
UPDATE outbox SET conversation_id = (SELECT conversation_id FROM messages WHERE messages.id = outbox.message_id);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, message_id);
