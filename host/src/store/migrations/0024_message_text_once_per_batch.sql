-- The full-text index is written once per group commit, not once per message: FTS5 writes what
-- it holds to a new index segment at every savepoint, and the writer gives each write of a batch
-- its own, so indexing in the insert's trigger made a segment per message (and merge work after).
-- A message's text now waits here, and the writer indexes what waits at its batch's end, in the
-- same transaction (`store::writer::index_waiting_text`): what a commit stores is searchable
-- from that commit on, as before.
CREATE TABLE message_text_waiting (message_id INTEGER PRIMARY KEY);

DROP TRIGGER message_text_insert;
DROP TRIGGER message_text_delete;
DROP TRIGGER message_text_update;

CREATE TRIGGER message_text_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
    INSERT OR IGNORE INTO message_text_waiting (message_id) VALUES (new.id);
END;
-- Only a text the index holds is taken out of it: a waiting one never went in.
CREATE TRIGGER message_text_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
    INSERT INTO message_text (message_text, rowid, text) SELECT 'delete', old.id, old.text
        WHERE NOT EXISTS (SELECT 1 FROM message_text_waiting WHERE message_id = old.id);
    DELETE FROM message_text_waiting WHERE message_id = old.id;
END;
CREATE TRIGGER message_text_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO message_text (message_text, rowid, text) SELECT 'delete', old.id, old.text
        WHERE old.text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message_text_waiting WHERE message_id = old.id);
    DELETE FROM message_text_waiting WHERE message_id = old.id;
    INSERT INTO message_text_waiting (message_id) SELECT new.id WHERE new.text IS NOT NULL;
END;
