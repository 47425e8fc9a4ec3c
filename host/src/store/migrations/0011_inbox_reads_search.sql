-- What each person has read of each conversation: the inbox's unread counts.
CREATE TABLE conversation_reads (
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    last_read_message_id INTEGER NOT NULL,
    PRIMARY KEY (person_id, conversation_id)
);

-- Search over message text (FTS5 with external content: the text stays in `messages`; the
-- index follows it through the triggers). Diacritics are folded ("kopi" finds "kopí").
CREATE VIRTUAL TABLE message_text USING fts5(text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER message_text_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN
    INSERT INTO message_text (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER message_text_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN
    INSERT INTO message_text (message_text, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER message_text_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO message_text (message_text, rowid, text) SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL;
    INSERT INTO message_text (rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL;
END;
-- Messages stored before this migration.
INSERT INTO message_text (message_text) VALUES ('rebuild');
