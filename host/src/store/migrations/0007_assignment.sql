-- Conversations are assigned to a person of their workspace (or to nobody); `status` is
-- `open` or `resolved` (a customer's new message opens it again).
ALTER TABLE conversations ADD COLUMN assignee_id INTEGER REFERENCES people(id) ON DELETE SET NULL;
CREATE INDEX conversations_by_assignee ON conversations (assignee_id);
